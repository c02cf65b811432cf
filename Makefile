# The two commands a newcomer needs: `make run` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint format install env migrate

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

# Production server: gunicorn with gunicorn.conf.py; configure through the environment (README).
serve: install
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/gunicorn -c gunicorn.conf.py

test: install env
	$(PY) -m pytest $(PYTEST_ARGS)

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
.PHONY: bench bench-scale
bench: install env
	$(PY) bench/run.py $(BENCH_ARGS)

bench-scale: install env
	$(PY) bench/run.py --scale $(BENCH_ARGS)
