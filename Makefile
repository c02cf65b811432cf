# The two commands a newcomer needs: `make run` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve serve-tls test lint format install env migrate screenshots install-prod migrate-prod

$(VENV)/.installed: requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	@touch $@

install: $(VENV)/.installed

.env:
	$(PYTHON) -m vault_project.devenv .env

env: .env
	@$(PYTHON) -m vault_project.devenv .env

migrate: install env
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py demo_merchant
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

# Production: the runtime lock only (no test or lint tools), in its own virtualenv.
PROD_VENV ?= .venv-prod
$(PROD_VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(PROD_VENV)
	$(PROD_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@touch $@

install-prod: $(PROD_VENV)/.installed

# Production server: gunicorn with gunicorn.conf.py, configured through the environment (README,
# "Running in production"). It does not migrate: run `make migrate-prod` first, as its own step.
serve: install-prod
	@VAULT_ENV=production $(PROD_VENV)/bin/gunicorn -c gunicorn.conf.py

# Production behind the TLS front in the box (deploy/nginx/, README "TLS front"): nginx on
# VAULT_TLS_LISTEN with VAULT_TLS_CERT/VAULT_TLS_KEY, gunicorn on VAULT_BIND behind it.
serve-tls: install-prod
	@VAULT_ENV=production VAULT_BEHIND_TLS_PROXY=true VAULT_TRUSTED_PROXIES=$${VAULT_TRUSTED_PROXIES:-127.0.0.1} \
		$(PROD_VENV)/bin/python scripts/nginx_front.py run $${VAULT_TLS_RUN_DIR:-/tmp/card-vault-tls}

migrate-prod: install-prod
	VAULT_ENV=production $(PROD_VENV)/bin/python manage.py migrate --noinput

test: install env
	$(PY) -m pytest $(PYTEST_ARGS)

# The console's pages at 1400 px, as docs/screenshots/ shows them: drawn by the browser tests.
screenshots: install env
	$(PY) -m pytest -q tests/console/test_admin_browser.py
	mkdir -p docs/screenshots
	cp test-artifacts/screenshots/*.png docs/screenshots/

# ruff (style and banned APIs), import-linter (the floors, see README "Architecture"), mypy (typed modules).
lint: install env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) scripts/lint_boundaries.py
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks (not part of `make test` or CI): gunicorn + PostgreSQL at 127.0.0.1:5432 + wrk. See README.
.PHONY: bench bench-scale bench-audit
bench: install env
	$(PY) bench/run.py $(BENCH_ARGS)

bench-scale: install env
	$(PY) bench/run.py --scale $(BENCH_ARGS)

# verify_audit over a million chained audit rows (a scratch database at 127.0.0.1:5432).
bench-audit: install env
	$(PY) bench/audit_chain.py $(BENCH_ARGS)
