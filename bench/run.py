"""`make bench` / `make bench-scale`: the vault under load on PostgreSQL, against a bare-stack baseline.

Runs gunicorn with the repository's gunicorn.conf.py (workers from VAULT_WORKERS, else the config's
default), wrk (Debian's package, installed when missing) with the Lua scripts in bench/lua, on
127.0.0.1 only, with a warm-up and fixed-duration runs; every loop and run is bounded. Writes one
table to bench/results.md (bench/results-scale.md with --scale).

    .venv/bin/python bench/run.py [--duration 10] [--warmup 3] [--profile] [--scale]

The database (default postgres://postgres@127.0.0.1:5432/vault_bench, BENCH_DATABASE_URL) is dropped
and created by the run, and dropped again at the end unless --keep-db.
"""

import argparse
import base64
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.card_numbers import luhn_complete

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua"
PY = sys.executable
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/vault_bench"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Never throttles the bench, but keeps the per-request counter write of a production limiter.
HIGH_RATE_LIMIT = "1000000000"
RUN_SEQ = iter(range(1, 10**6))


def log(message: str) -> None:
    sys.stdout.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stdout.flush()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- tools and database ---------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk from Debian's package; CI machines start clean, so install it when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing Debian's package")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=apt_env, check=False).returncode != 0:  # noqa: S603
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=apt_env, check=True)  # noqa: S603
        subprocess.run(install, env=apt_env, check=True)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed (apt-get install wrk)")
    return found


def check_local(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        sys.exit(f"the bench only runs against a local database (127.0.0.1), not {host!r}")


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        sys.exit(f"unexpected database name {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


# --- environment and processes ---------------------------------------------------------------


def read_dotenv() -> dict[str, str]:
    values: dict[str, str] = {}
    path = ROOT / ".env"
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith("#"):
                values[name.strip()] = value.strip().strip("'\"")
    return values


def vault_env(database_url: str, **extra: str | None) -> dict[str, str]:
    """The production configuration, with the bench's database, quiet access log and no throttling."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # The checkout's development secrets, passed in the environment: production settings refuse to
    # read a development .env (VAULT_ENV_FILE= reads none).
    env.update({name: value for name, value in read_dotenv().items() if name not in env and name != "VAULT_ENV"})
    env.update(
        {
            "VAULT_ENV_FILE": "",
            # Plain HTTP on loopback, as if behind the TLS front: no redirect to HTTPS.
            "VAULT_BEHIND_TLS_PROXY": "true",
            "DATABASE_URL": database_url,
            "VAULT_ENV": "production",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "VAULT_ACCESS_LOG_LEVEL": "WARNING",
            "VAULT_RATE_LIMIT_PER_MINUTE": HIGH_RATE_LIMIT,
            "VAULT_PROXY_RATE_LIMIT_PER_MINUTE": HIGH_RATE_LIMIT,
            # The processor simulator listens on loopback, which the proxy refuses unless told.
            "VAULT_PROXY_ALLOW_ADDRESSES": "127.0.0.1/32",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 3600) -> str:
    result = subprocess.run(  # noqa: S603
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def manage_json(env: dict[str, str], *args: str) -> dict:
    return json.loads(manage(env, *args, "--json").strip().splitlines()[-1])


SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def softhsm_env(workdir: Path) -> dict[str, str] | None:
    """A SoftHSM2 token in *workdir* holding a root key made by `manage.py create_root_key`: the settings
    that point the vault at it (VAULT_KEY_PROVIDER not included). None when SoftHSM2 is missing."""
    util = shutil.which("softhsm2-util")
    module = next((path for path in SOFTHSM_MODULES if os.path.exists(path)), None)
    if util is None or module is None:
        log("SoftHSM2 is not installed (Debian package softhsm2): the pkcs11 rows are skipped")
        return None
    tokens = workdir / "softhsm" / "tokens"
    tokens.mkdir(parents=True)
    config = workdir / "softhsm" / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    pin = secrets.token_hex(8)
    env = {"SOFTHSM2_CONF": str(config)}
    subprocess.run(  # noqa: S603
        [util, "--init-token", "--free", "--label", "vault-bench", "--pin", pin, "--so-pin", secrets.token_hex(8)],
        check=True, capture_output=True, env={**os.environ, **env},
    )  # fmt: skip
    return {
        **env,
        "VAULT_PKCS11_MODULE": module,
        "VAULT_PKCS11_TOKEN_LABEL": "vault-bench",
        "VAULT_PKCS11_KEY_LABEL": "vault-bench-root-1",
        "VAULT_PKCS11_PIN": pin,
    }


def gunicorn_config(env: dict[str, str]) -> dict:
    """What gunicorn.conf.py computes under *env*: workers, threads, worker class."""
    code = (
        "import json, runpy; c = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({k: c[k] for k in ('workers', 'threads', 'worker_class', 'keepalive', 'max_requests')}))"
    )
    out = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(out.stdout)


class Process:
    """A child process in its own process group, stopped by its own id only."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_http(self, url: str, timeout: float = 90, ok=(200,)) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(
                    f"{self.name} exited during start-up; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}"
                )
            try:
                if requests.get(url, timeout=2).status_code in ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"{self.name} did not answer {url} within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def start_gunicorn(name: str, env: dict[str, str], logdir: Path, app: str | None = None) -> tuple[Process, str]:
    port = free_port()
    env = {**env, "VAULT_BIND": f"127.0.0.1:{port}"}
    args = [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", *([app] if app else [])]
    server = Process(name, args, env, logdir)
    base = f"http://127.0.0.1:{port}"
    server.wait_http(f"{base}/health/ready" if app is None else f"{base}/health")
    return server, base


# --- wrk --------------------------------------------------------------------------------------


class Wrk:
    def __init__(self, binary: str, duration: int, warmup: int, threads: int, workdir: Path) -> None:
        self.binary, self.duration, self.warmup, self.threads, self.workdir = binary, duration, warmup, threads, workdir

    def run(self, base: str, script: str, connections: int, duration: int, env: dict[str, str]) -> dict:
        threads = min(self.threads, connections)
        run_env = {
            **os.environ,
            "BENCH_LUA_DIR": str(LUA),
            "BENCH_THREADS": str(threads),
            "BENCH_RUN_SEQ": str(next(RUN_SEQ)),
            **env,
        }
        args = [
            self.binary, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
            "-s", str(LUA / script), base,
        ]  # fmt: skip
        out = subprocess.run(  # noqa: S603
            args, env=run_env, capture_output=True, text=True, timeout=duration + 60, check=False
        )
        match = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.MULTILINE)
        if out.returncode != 0 or not match:
            sys.exit(f"wrk failed ({script}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        result = json.loads(match.group(1))
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["errors"] = sum(
            result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        )
        return result

    def scenario(self, base: str, script: str, env: dict[str, str], connections=(4, 16), warm=True) -> dict:
        """Warm up, then one fixed-duration run per connection count."""
        if warm and self.warmup > 0:
            self.run(base, script, max(connections), self.warmup, env)
        results = {}
        for count in connections:
            background = busy_cores(1.0)
            results[count] = self.run(base, script, count, self.duration, env)
            results[count]["background"] = background
            r = results[count]
            kinds = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
            detail = ", ".join(f"{kind} {r[kind]}" for kind in kinds if r[kind]) if r["errors"] else ""
            log(
                f"  {script} c={count}: {r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms, "
                f"p99 {r['p99_us'] / 1000:.1f} ms, errors {r['errors']}" + (f" ({detail})" if detail else "")
            )
        return results


def write_ids(path: Path, ids: list[str]) -> Path:
    path.write_text("\n".join(ids) + "\n")
    return path


def busy_cores(seconds: float = 3.0) -> float:
    """How many cores were busy (from /proc/stat) over *seconds*: other work sharing the machine."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields[:8]) - idle, sum(fields[:8])

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(1, total1 - total0)


def machine(database_url: str) -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE).group(1))
    with psycopg.connect(database_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": pg,
        "shared_buffers": shared_buffers,
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0],  # noqa: S607
    }


# --- set-up -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, options) -> None:
        self.options = options
        self.db = options.database_url
        self.workdir = Path(tempfile.mkdtemp(prefix="vault-bench-"))
        self.wrk = Wrk(ensure_wrk(), options.duration, options.warmup, options.wrk_threads, self.workdir)
        self.processes: list[Process] = []
        self.sim_key = "sim-bench-" + secrets.token_hex(16)
        self.sim_port = free_port()
        self.base_env = vault_env(
            self.db,
            REDIS_URL=options.redis_url or None,
            VAULT_NT_URL=f"http://127.0.0.1:{self.sim_port}",
            VAULT_NT_API_KEY=self.sim_key,
        )
        self.notes: list[str] = []
        self.workers: dict[Process, Process] = {}

    def start(self, name: str, env: dict[str, str], app: str | None = None) -> tuple[Process, str]:
        server, base = start_gunicorn(name, env, self.workdir, app)
        self.processes.append(server)
        if app is None:
            # As deployed: the worker beside the vault gives the audit rows their place in the chain.
            worker = Process(f"{name}-worker", [PY, "manage.py", "run_worker"], env, self.workdir)
            self.processes.append(worker)
            self.workers[server] = worker
        return server, base

    def stop(self, process: Process) -> None:
        process.stop()
        if process in self.processes:
            self.processes.remove(process)
        if (worker := self.workers.pop(process, None)) is not None:
            self.stop(worker)

    def stop_all(self) -> None:
        for process in list(reversed(self.processes)):
            self.stop(process)

    def prepare_database(self) -> None:
        log(f"recreating {urlsplit(self.db).path.lstrip('/')} and migrating (vault and baseline)")
        recreate_database(self.db)
        manage(self.base_env, "migrate", "--noinput")
        manage({**self.base_env, "DJANGO_SETTINGS_MODULE": "bench.baseline.settings"}, "migrate", "--noinput")

    def seed(self, count: int, merchant_id: str, customer_id: str | None = None, jobs: int = 1, env=None) -> float:
        """Seed *count* cards with the seed command in *jobs* parallel processes; return cards per second."""
        env = env or self.base_env
        started = time.monotonic()
        shares = [count // jobs + (1 if index < count % jobs else 0) for index in range(jobs)]
        procs = []
        for share in shares:
            if not share:
                continue
            args = [PY, "manage.py", "seed_payment_methods", str(share), "--merchant-id", merchant_id]
            args += ["--customer-id", customer_id] if customer_id else []
            args += ["--batch-size", "1000", "--no-progress", "--force"]  # VAULT_ENV=production, a scratch database
            procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # noqa: S603
        for proc in procs:
            out, err = proc.communicate(timeout=3600)
            if proc.returncode != 0:
                sys.exit(f"seed_payment_methods failed:\n{out.decode()[-1000:]}\n{err.decode()[-3000:]}")
        return count / (time.monotonic() - started)


# --- the main run -----------------------------------------------------------------------------


CORE = [
    # (key, label, kind, compared with)
    ("customer_create", "customer create", "create", "insert"),
    ("pm_create", "payment-method create", "create", "insert"),
    ("pm_create_nt", "payment-method create + network token (simulator)", "create", "insert"),
    ("pm_retrieve", "payment-method retrieve (masked)", "read", "select"),
    ("pm_reveal", "payment-method retrieve with reveal", "read", "select"),
    ("pm_update", "payment-method update (nick_name)", "write", "insert"),
    ("pm_delete", "payment-method delete", "write", "insert"),
    ("pm_list", "list a customer's 10 payment methods", "read", "select"),
]


def api(base: str, key: str, profile: str, method: str, path: str, body: dict | None = None) -> dict:
    response = requests.request(
        method, base + path, json=body, headers={"api-key": key, "X-Profile-Id": profile}, timeout=30
    )
    if response.status_code != 200:
        sys.exit(f"set-up request {method} {path} failed: {response.status_code} {response.text[:300]}")
    return response.json()


def card(number: str) -> dict:
    return {
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {
            "card": {"card_number": number, "card_exp_month": "12", "card_exp_year": "2035", "card_holder_name": "B"}
        },
        "storage_type": "persistent",
    }


def main_run(options) -> None:
    bench = Bench(options)
    results: dict[str, dict] = {}
    variants: dict[str, dict] = {}
    extra: dict = {"pairs": {}}
    started = time.monotonic()
    try:
        options.background = [busy_cores()]
        log(f"other work on the machine: {options.background[0]:.2f} cores busy before the run")
        bench.prepare_database()
        env = bench.base_env
        log("bootstrapping merchants and keys (manage.py create_merchant / create_api_key --json)")
        writer = manage_json(
            env, "create_merchant", "Bench", "--scopes",
            "customers:read", "customers:write", "payment_methods:read", "payment_methods:write",
        )  # fmt: skip
        reveal = manage_json(
            env, "create_api_key", writer["merchant_id"], "--scopes", "payment_methods:read", "payment_methods:reveal",
            "--single-control",
        )  # fmt: skip
        nt = manage_json(
            env, "create_merchant", "Bench NT", "--network-tokenization", "--scopes",
            "customers:read", "customers:write", "payment_methods:read", "payment_methods:write",
        )  # fmt: skip
        simulator = Process(
            "token-service",
            [PY, "manage.py", "run_token_service", "--port", str(bench.sim_port), "--api-key", bench.sim_key,
             "--state", str(bench.workdir / "token_service.sqlite3")],
            env, bench.workdir,
        )  # fmt: skip
        bench.processes.append(simulator)
        simulator.wait_http(f"http://127.0.0.1:{bench.sim_port}/v1/tokens/none", ok=(401, 404))
        config = gunicorn_config(env)
        baseline_phase(bench, env, results, "start")
        vault, base = bench.start("vault", env)
        key, profile = writer["api_key"], writer["profile_id"]
        headers = {"BENCH_API_KEY": key, "BENCH_PROFILE_ID": profile}

        def customer(k: str = key, p: str = profile) -> str:
            return api(base, k, p, "POST", "/customers", {"name": "Bench Customer", "email": "b@example.com"})["id"]

        create_customer_id, read_customer_id, list_customer_id = customer(), customer(), customer()
        nt_customer_id = customer(nt["api_key"], nt["profile_id"])
        for serial in range(10):
            api(base, key, profile, "POST", "/payment_methods", {
                "customer_id": list_customer_id, **card(luhn_complete(f"4999{serial:011d}"))
            })  # fmt: skip
        log("seeding 2,000 cards to read and update (manage.py seed_payment_methods)")
        bench.seed(2000, writer["merchant_id"], read_customer_id)
        read_ids = [r[0] for r in query(bench.db, "SELECT id FROM tokens_paymentmethod WHERE customer_id = %s",
                                        (read_customer_id,))]  # fmt: skip
        read_file = write_ids(bench.workdir / "read_ids.txt", read_ids)

        run = bench.wrk.scenario
        log("scenarios on the vault (REDIS_URL set, limiter on with a limit it never reaches)")
        results["customer_create"] = run(base, "create_customer.lua", headers)
        results["pm_create"] = run(
            base, "create_payment_method.lua", {**headers, "BENCH_CUSTOMER_ID": create_customer_id}
        )
        results["pm_create_nt"] = run(
            base, "create_payment_method_nt.lua",
            {"BENCH_API_KEY": nt["api_key"], "BENCH_PROFILE_ID": nt["profile_id"], "BENCH_CUSTOMER_ID": nt_customer_id},
        )  # fmt: skip
        tokens = query(
            bench.db,
            "SELECT count(*), count(network_token_ref) FROM tokens_paymentmethod WHERE customer_id = %s",
            (nt_customer_id,),
        )[0]
        extra["nt_tokens"] = {"cards": tokens[0], "with_token": tokens[1]}
        results["pm_retrieve"] = run(base, "retrieve.lua", {**headers, "BENCH_IDS_FILE": str(read_file)})
        results["pm_reveal"] = run(
            base, "reveal.lua",
            {"BENCH_API_KEY": reveal["api_key"], "BENCH_PROFILE_ID": profile, "BENCH_IDS_FILE": str(read_file)},
        )  # fmt: skip
        results["pm_update"] = run(base, "update.lua", {**headers, "BENCH_IDS_FILE": str(read_file)})
        results["pm_list"] = run(base, "list.lua", {**headers, "BENCH_CUSTOMER_ID": list_customer_id})
        results["pm_delete"] = delete_scenario(bench, base, headers, writer["merchant_id"], results["pm_update"])
        extra["proxy"] = proxy_phase(bench, env, base, writer["merchant_id"], profile, read_file)

        pair_scenarios = {
            "pm_create": ("create_payment_method.lua", {**headers, "BENCH_CUSTOMER_ID": create_customer_id}),
            "pm_retrieve": ("retrieve.lua", {**headers, "BENCH_IDS_FILE": str(read_file)}),
        }
        if not options.no_variants:
            log("the limiter's cost: on and off in turn")
            vault, base, extra["pairs"]["limiter"] = paired_runs(
                bench, vault,
                (("off", {**env, "VAULT_RATE_LIMIT_PER_MINUTE": "0"}, pair_scenarios), ("on", env, pair_scenarios)),
            )  # fmt: skip
            for name, overrides in (
                ("rate-limit counters in PostgreSQL (no REDIS_URL)", {"REDIS_URL": None}),
                # The worker class and count: which gives the best p99 for the same throughput.
                ("gthread, 2 workers x 4 threads (VAULT_WORKERS=2, VAULT_THREADS=4)",
                 {"VAULT_WORKERS": "2", "VAULT_THREADS": "4"}),
                ("gthread, 3 workers x 2 threads", {"VAULT_WORKERS": "3", "VAULT_THREADS": "2"}),
                ("sync, 3 workers (VAULT_WORKERS=3)", {"VAULT_WORKERS": "3"}),
                ("sync, 9 workers", {"VAULT_WORKERS": "9"}),
            ):  # fmt: skip
                bench.stop(vault)
                log(f"variant: {name}")
                variant_env = {**env, **{k: v for k, v in overrides.items() if v is not None}}
                for k in [k for k, v in overrides.items() if v is None]:
                    variant_env.pop(k, None)
                vault, base = bench.start("vault", variant_env)
                variants[name] = {
                    "pm_retrieve": run(base, "retrieve.lua", {**headers, "BENCH_IDS_FILE": str(read_file)}),
                    "pm_create": run(
                        base, "create_payment_method.lua", {**headers, "BENCH_CUSTOMER_ID": create_customer_id}
                    ),
                }

        if not options.no_providers and (hsm := softhsm_env(bench.workdir)):
            # Two vaults side by side: one with the keyring's root key (VAULT_KEY_PROVIDER=local), one
            # with the root key inside a SoftHSM2 token (pkcs11), each serving a merchant made alike for
            # it (2,000 cards seeded, a fresh customer to create cards for), whose key its root wraps.
            manage({**env, **hsm}, "create_root_key")
            bench.hsm_env = hsm
            provider_sides, extra["provider_roots"] = [], {}
            for provider in ("local", "pkcs11"):
                side_env = {**env, **hsm, "VAULT_KEY_PROVIDER": provider}
                made = manage_json(
                    side_env, "create_merchant", f"Bench {provider}", "--scopes",
                    "customers:read", "customers:write", "payment_methods:read", "payment_methods:write",
                )  # fmt: skip
                side_headers = {"BENCH_API_KEY": made["api_key"], "BENCH_PROFILE_ID": made["profile_id"]}
                bench.seed(2000, made["merchant_id"], env=side_env)  # its first card makes its key
                ids_file = write_ids(bench.workdir / f"{provider}_ids.txt", [r[0] for r in query(
                    bench.db, "SELECT id FROM tokens_paymentmethod WHERE merchant_id = %s", (made["merchant_id"],)
                )])  # fmt: skip
                side_customer = customer(made["api_key"], made["profile_id"])
                extra["provider_roots"][provider] = query(
                    bench.db, "SELECT root_provider, root_version FROM tokens_merchantkey "
                    "WHERE merchant_id = %s AND state = 'active'", (made["merchant_id"],),
                )[0]  # fmt: skip
                provider_sides.append((provider, side_env, {
                    "pm_create": ("create_payment_method.lua", {**side_headers, "BENCH_CUSTOMER_ID": side_customer}),
                    "pm_retrieve": ("retrieve.lua", {**side_headers, "BENCH_IDS_FILE": str(ids_file)}),
                }))  # fmt: skip
            log(f"key providers side by side: merchant keys wrapped by {extra['provider_roots']}")
            vault, base, extra["pairs"]["providers"] = paired_runs(bench, vault, provider_sides)

        if options.profile:
            extra["profile"] = profile_paths(bench, vault, base, headers, read_file, create_customer_id)

        extra["audit_chain"] = audit_chain_state(bench, env)
        bench.stop(vault)
        baseline_phase(bench, env, results, "end")
        bench.stop(simulator)
        options.background.append(busy_cores())

        log("counting queries per request (django.test.utils.CaptureQueriesContext)")
        extra["queries"] = count_queries(bench, key, profile, reveal["api_key"], read_ids[0], list_customer_id,
                                         create_customer_id)  # fmt: skip
        if not options.skip_rotation:
            extra["rotation"] = rotation(bench, writer["merchant_id"], options.rotation_records)
        extra["elapsed"] = time.monotonic() - started
        text = report(options, config, results, variants, extra)
        Path(options.output).write_text(text)
        chart_path = Path(options.output).with_suffix(".png")
        draw_chart(chart_path, results, extra)
        sys.stdout.write(text)
        log(f"written to {options.output} and {chart_path} in {extra['elapsed']:.0f} s")
    finally:
        bench.stop_all()
        if not options.keep_db:
            drop_database(bench.db)
        shutil.rmtree(bench.workdir, ignore_errors=True)


PAIRED_SLICES = 20  # turns per side and scenario
SLICE_SECONDS = 2


def paired_runs(bench: Bench, vault, sides) -> tuple:
    """Two vaults side by side, A and B (each side: name, environment, {scenario: (script, env)}),
    both started and warmed up, then each scenario in short runs at 16 connections taking turns
    (A B, B A, A B, ...): a drift of the shared machine over the minutes falls on both sides alike,
    which one run of each, minutes apart, cannot promise; the side not under load sits idle. Stops
    *vault* and A; returns B, still running, its base URL and, per side and scenario, the req/s of
    every turn."""
    bench.stop(vault)
    started = []
    for name, side_env, scenarios in sides:
        side_vault, side_base = bench.start(f"vault-{name}", side_env)
        started.append((name, side_vault, side_base, scenarios))
    for _, _, side_base, scenarios in started:
        for script, script_env in scenarios.values():
            bench.wrk.run(side_base, script, 16, bench.wrk.warmup, script_env)
    rps = {name: {key: [] for key in scenarios} for name, _, _, scenarios in started}
    for turn in range(PAIRED_SLICES):
        for name, _, side_base, scenarios in started if turn % 2 == 0 else started[::-1]:
            for key, (script, script_env) in scenarios.items():
                rps[name][key].append(bench.wrk.run(side_base, script, 16, SLICE_SECONDS, script_env)["rps"])
    for name, _, _, scenarios in started:
        log("  " + "; ".join(f"{name} {key}: {sum(rps[name][key]) / PAIRED_SLICES:.0f} req/s" for key in scenarios))
    (_, first_vault, _, _), (_, last_vault, last_base, _) = started
    bench.stop(first_vault)
    return last_vault, last_base, rps


def paired_ratio(pair: dict, key: str) -> tuple[float, list[float]]:
    """The second side's throughput over the first's, all turns pooled, and turn by turn."""
    a, b = pair.values()
    return sum(b[key]) / sum(a[key]), [y / x for x, y in zip(a[key], b[key], strict=True)]


def audit_chain_state(bench: Bench, env: dict[str, str]) -> dict:
    """After the load: how long the worker took to chain the last audit rows, and whether the chain of
    everything the run wrote verifies."""
    started = time.monotonic()
    while (waiting := query(bench.db, "SELECT count(*) FROM audit_auditevent WHERE seq IS NULL")[0][0]) and (
        time.monotonic() - started < 30
    ):
        time.sleep(0.2)
    caught_up = time.monotonic() - started
    rows = query(bench.db, "SELECT count(*) FROM audit_auditevent")[0][0]
    verdict = manage(env, "verify_audit").strip().splitlines()  # exits the bench if the chain is broken
    log(f"audit trail: {rows} rows, {waiting} still waiting {caught_up:.1f} s after the load; {verdict[0]}")
    return {"rows": rows, "waiting": waiting, "caught_up": caught_up, "verify": verdict[0]}


def baseline_phase(bench: Bench, env: dict[str, str], results: dict, when: str) -> None:
    """The bare stack, served like the vault: run at the start and at the end, to bracket the vault."""
    log(f"baseline ({when}): bare Django + DRF, same gunicorn config, same database")
    baseline_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.baseline.settings"}
    baseline, base = bench.start("baseline", baseline_env, app="bench.baseline.wsgi:application")
    results[f"baseline_insert_{when}"] = bench.wrk.scenario(base, "baseline_insert.lua", {})
    row_ids = [r[0] for r in query(bench.db, "SELECT id FROM bench_baseline_row ORDER BY random() LIMIT 2000")]
    ids_file = write_ids(bench.workdir / "rows.txt", row_ids)
    results[f"baseline_select_{when}"] = bench.wrk.scenario(
        base, "baseline_select.lua", {"BENCH_IDS_FILE": str(ids_file)}
    )
    bench.stop(baseline)


def wait_tcp(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def proxy_phase(bench: Bench, env: dict[str, str], base: str, merchant_id: str, profile: str, read_file: Path) -> dict:
    """The processor simulator over TLS (a trustme certificate), called directly and through /proxy."""
    import trustme

    log("proxy: the processor simulator, called directly and through the vault's /proxy")
    ca = trustme.CA()
    pem, ca_file = bench.workdir / "processor.pem", bench.workdir / "processor-ca.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    processor = Process(
        "processor",
        [PY, "scripts/processor_simulator.py", "--port", str(port), "--cert", str(pem), "--key", str(pem)],
        env, bench.workdir,
    )  # fmt: skip
    bench.processes.append(processor)
    wait_tcp(port)
    url = f"https://127.0.0.1:{port}"
    manage(env, "allow_destination", merchant_id, url, "--single-control", "--ca-bundle", str(ca_file), "--json")
    key = manage_json(env, "create_api_key", merchant_id, "--scopes", "payment_methods:proxy")["api_key"]
    direct = bench.wrk.scenario(url, "processor_direct.lua", {"BENCH_CARD_NUMBER": luhn_complete("4999" + "7" * 11)})
    proxied = bench.wrk.scenario(
        base,
        "proxy.lua",
        {
            "BENCH_API_KEY": key,
            "BENCH_PROFILE_ID": profile,
            "BENCH_IDS_FILE": str(read_file),
            "BENCH_PROCESSOR_URL": url,
        },
    )
    bench.stop(processor)
    return {"direct": direct, "proxy": proxied}


def delete_scenario(bench: Bench, base: str, headers: dict, merchant_id: str, update: dict) -> dict:
    """Each request deletes another pre-created card: seed enough for the warm-up and both runs
    (from the update rate, which does the same work), and hand each run only ids not yet used."""
    wrk = bench.wrk
    rate = max(r["rps"] for r in update.values())
    needed = int(rate * 1.5 * (wrk.warmup + 2 * wrk.duration)) + 2000
    needed = min(needed, 200_000)
    customer_id = api(
        base, headers["BENCH_API_KEY"], headers["BENCH_PROFILE_ID"], "POST", "/customers",
        {"name": "Bench Customer", "email": "b@example.com"},
    )["id"]  # fmt: skip
    log(f"seeding {needed} cards to delete")
    bench.seed(needed, merchant_id, customer_id, jobs=2)
    pool = [r[0] for r in query(bench.db, "SELECT id FROM tokens_paymentmethod WHERE customer_id = %s ORDER BY id",
                                (customer_id,))]  # fmt: skip
    position = 0
    results = {}
    for connections, duration in ((16, wrk.warmup), (4, wrk.duration), (16, wrk.duration)):
        ids_file = write_ids(bench.workdir / "delete_ids.txt", pool[position:])
        background = busy_cores(1.0) if duration == wrk.duration else 0.0
        result = wrk.run(base, "delete.lua", connections, duration, {**headers, "BENCH_IDS_FILE": str(ids_file)})
        # Requests in flight when wrk stopped were sent but not counted: skip one per connection.
        position += result["requests"] + connections
        if duration == wrk.duration:
            results[connections] = {**result, "background": background}
            log(
                f"  delete.lua c={connections}: {result['rps']:.0f} req/s, p50 {result['p50_us'] / 1000:.1f} ms, "
                f"p99 {result['p99_us'] / 1000:.1f} ms, errors {result['errors']}, "
                f"out of ids: {result['threads_out_of_ids']}"
            )
    return results


def count_queries(bench: Bench, key, profile, reveal_key, pm_id, list_customer_id, customer_id) -> dict:
    env = {
        **bench.base_env,
        # After the key-provider rows the merchant keys are wrapped in the HSM: keep reaching it.
        **getattr(bench, "hsm_env", {}),
        "VAULT_KEY_PROVIDER": "local",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "BENCH_API_KEY": key,
        "BENCH_PROFILE_ID": profile,
        "BENCH_REVEAL_KEY": reveal_key,
        "BENCH_PM_ID": pm_id,
        "BENCH_LIST_CUSTOMER_ID": list_customer_id,
        "BENCH_CUSTOMER_ID": customer_id,
        "VAULT_NT_URL": "",
    }
    out = subprocess.run(  # noqa: S603
        [PY, str(ROOT / "bench" / "queries.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    match = re.search(r"^QUERIES_JSON (\{.*\})$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or not match:
        log(f"query count failed: {out.stderr[-2000:]}")
        return {}
    return json.loads(match.group(1))


def rotation(bench: Bench, merchant_id: str, records: int) -> dict:
    """With up to *records* cards stored: time a root rotation (a new KEK in the keyring: merchant keys
    re-wrapped, cards untouched), then a rotation of the merchant's key (its cards re-wrapped)."""
    keyring = bench.base_env.get("VAULT_KEYRING") or read_dotenv().get("VAULT_KEYRING", "")
    versions = [int(entry.split(":", 1)[0]) for entry in keyring.split(",") if entry.strip()]
    if not versions:
        log("rotation skipped: no VAULT_KEYRING in the environment or .env")
        return {}
    base_env = {**bench.base_env, **getattr(bench, "hsm_env", {}), "VAULT_KEY_PROVIDER": "local"}
    existing = query(bench.db, "SELECT count(*) FROM tokens_paymentmethod WHERE sealed_card <> ''")[0][0]
    to_seed = max(0, records - existing)
    log(f"rotation: seeding {to_seed} cards (with the {existing} already stored: {existing + to_seed})")
    seed_rate = bench.seed(to_seed, merchant_id, jobs=2, env=base_env) if to_seed else 0.0
    query(bench.db, "VACUUM ANALYZE tokens_paymentmethod")
    stored = query(bench.db, "SELECT count(*) FROM tokens_paymentmethod WHERE sealed_card <> ''")[0][0]
    merchant_keys = query(bench.db, "SELECT count(*) FROM tokens_merchantkey WHERE state <> 'destroyed'")[0][0]
    new = base64.b64encode(secrets.token_bytes(32)).decode()
    new_version = str(max(versions) + 1)
    env = {**base_env, "VAULT_KEYRING": f"{keyring},{new_version}:{new}", "VAULT_ACTIVE_KEK": new_version}
    log(f"rotation: manage.py rotate_keys --root (KEK {new_version} added; {stored} cards stored)")
    started = time.monotonic()
    out = manage(env, "rotate_keys", "--root", "--no-progress", "--force")
    root_seconds = time.monotonic() - started
    match = re.search(r"re-wrapped (\d+) merchant key\(s\) under root key \S+ in ([0-9.]+) s", out)
    root_keys, root_inner = (int(match.group(1)), float(match.group(2))) if match else (0, 0.0)
    log(f"rotation: root: {root_keys} merchant key(s) in {root_seconds:.1f} s ({root_inner:.2f} s inside the command)")
    log(f"rotation: manage.py rotate_keys --merchant {merchant_id} --new-merchant-key")
    started = time.monotonic()
    out = manage(env, "rotate_keys", "--merchant", merchant_id, "--new-merchant-key", "--no-progress", "--force")
    elapsed = time.monotonic() - started
    match = re.search(r"re-wrapped (\d+) record", out)
    done = int(match.group(1)) if match else 0
    log(f"rotation: merchant key: {done} records in {elapsed:.1f} s = {done / elapsed:.0f} records/s")
    return {
        "records": done, "seconds": elapsed, "rate": done / elapsed, "seed_rate": seed_rate, "batch_size": 500,
        "stored": stored, "merchant_keys": merchant_keys, "root_keys": root_keys, "root_seconds": root_seconds,
        "root_inner": root_inner,
    }  # fmt: skip


# --- profiling --------------------------------------------------------------------------------


def profile_paths(bench: Bench, vault: Process, base: str, headers: dict, read_file: Path, customer_id: str) -> dict:
    """py-spy (when installed) on every gunicorn worker while wrk loads create, then retrieve."""
    py_spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(py_spy).exists():
        log("profile skipped: py-spy is not installed (pip install py-spy into the venv for the session)")
        return {}
    profiles = {}
    for name, script, env in (
        ("create", "create_payment_method.lua", {**headers, "BENCH_CUSTOMER_ID": customer_id}),
        ("retrieve", "retrieve.lua", {**headers, "BENCH_IDS_FILE": str(read_file)}),
    ):
        raw = bench.workdir / f"profile-{name}.txt"
        seconds = bench.wrk.duration
        spy = subprocess.Popen(  # noqa: S603
            [py_spy, "record", "--pid", str(vault.proc.pid), "--subprocesses", "--rate", "250", "--format", "raw",
             "--duration", str(seconds), "--output", str(raw), "--nonblocking", "--idle"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1)
        bench.wrk.run(base, script, 16, seconds + 1, env)
        spy.wait(timeout=120)
        profiles[name] = summarise_profile(raw)
        log(f"profile {name}: {profiles[name]['samples']} samples")
    return profiles


PROFILE_CATEGORIES = [
    # (label, file paths of its frames); a sample goes to the innermost layer found in its stack.
    ("PostgreSQL: psycopg, incl. waiting for the server", ("psycopg/",)),
    ("Redis client, incl. waiting (rate-limit counter)", ("redis/",)),
    ("encryption and fingerprints (tokens/crypto.py, cryptography)", ("tokens/crypto.py", "cryptography/")),
    ("Django ORM: query building, model instances", ("django/db/models/",)),
    ("DRF serializers and fields", ("rest_framework/serializers.py", "rest_framework/fields.py")),
    ("JSON parsing and rendering", ("json/", "core/strict_json.py", "api/parsers.py", "rest_framework/renderers.py")),
    ("logging", ("(logging/", "pythonjsonlogger/")),
    ("gunicorn socket I/O and HTTP parsing", ("gunicorn/",)),
]


def _category(frames: list[str]) -> str:
    """The innermost recognised layer of a stack, searched from the leaf up to Django's handler."""
    for frame in reversed(frames):
        if "django/core/handlers/" in frame:
            return "other (Django request handling, middleware, views, vault code)"
        for label, needles in PROFILE_CATEGORIES:
            if any(needle in frame for needle in needles):
                return label
    return "gunicorn socket I/O and HTTP parsing"


def _short(frame: str) -> str:
    return re.sub(r" \((?:/[^)]*/(?:site-packages|lib/python3\.\d+)/|" + re.escape(str(ROOT)) + "/)", " (", frame)


def summarise_profile(raw: Path) -> dict:
    """From py-spy's collapsed stacks (worker processes, inside a request only): top frames by own time,
    project frames by inclusive time, and where the time goes by category."""
    own: Counter = Counter()
    inclusive: Counter = Counter()
    categories: Counter = Counter()
    total = 0
    if not raw.exists():
        return {"samples": 0}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or "handle_request" not in stack:
            continue  # idle workers and the arbiter
        frames = [_short(frame) for frame in stack.split(";")]
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
        categories[_category(frames)] += samples
    project = ("(vault_project/", "(merchants/", "(tokens/", "(audit/", "(customers/", "(idempotency/", "(console/")
    return {
        "samples": total,
        "own": [(frame, n / total) for frame, n in own.most_common(15)] if total else [],
        "inclusive": [(f, n / total) for f, n in inclusive.most_common() if any(p in f for p in project)][:25]
        if total
        else [],
        "categories": [(label, n / total) for label, n in categories.most_common()] if total else [],
    }


# --- the scale run ----------------------------------------------------------------------------


def scale_run(options) -> None:
    bench = Bench(options)
    sizes = [int(size) for size in options.scale_sizes.split(",")]
    started = time.monotonic()
    rows = []
    try:
        options.background = [busy_cores()]
        log(f"other work on the machine: {options.background[0]:.2f} cores busy before the run")
        bench.prepare_database()
        env = bench.base_env
        writer = manage_json(env, "create_merchant", "Bench scale")
        headers = {"BENCH_API_KEY": writer["api_key"], "BENCH_PROFILE_ID": writer["profile_id"]}
        config = gunicorn_config(env)
        stored = 0
        seed_seconds = 0.0
        for target in sizes:
            budget_left = options.seed_budget - seed_seconds
            chunk_size = 100_000
            while stored < target and budget_left > 0:
                chunk = min(chunk_size, target - stored)
                t0 = time.monotonic()
                rate = bench.seed(chunk, writer["merchant_id"], jobs=options.seed_jobs)
                seed_seconds += time.monotonic() - t0
                budget_left = options.seed_budget - seed_seconds
                stored += chunk
                log(f"stored {stored} cards ({rate:.0f}/s this chunk, {stored / seed_seconds:.0f}/s overall)")
            if stored < target:
                log(f"seeding budget ({options.seed_budget} s) spent at {stored} cards; measuring there")
            query(bench.db, "VACUUM ANALYZE tokens_paymentmethod")
            # Write out what the seeding left dirty: the measurement must not pay for the seed's writes.
            query(bench.db, "CHECKPOINT")
            size = query(bench.db, "SELECT pg_total_relation_size('tokens_paymentmethod')")[0][0]
            ids = [r[0] for r in query(bench.db, "SELECT id FROM tokens_paymentmethod ORDER BY random() LIMIT 20000")]
            vault, base = bench.start("vault", env)
            result = bench.wrk.scenario(
                base, "retrieve.lua", {**headers, "BENCH_IDS_FILE": str(write_ids(bench.workdir / "ids.txt", ids))}
            )
            # New cards into the table as it stands: the fingerprint lookup and every index grow with it.
            customer_id = api(
                base, writer["api_key"], writer["profile_id"], "POST", "/customers",
                {"name": "Bench Customer", "email": "b@example.com"},
            )["id"]  # fmt: skip
            created = bench.wrk.scenario(
                base, "create_payment_method.lua", {**headers, "BENCH_CUSTOMER_ID": customer_id}
            )
            bench.stop(vault)
            rows.append({"target": target, "stored": stored, "table_bytes": size, "result": result, "create": created})
            if stored < target:
                break
        options.background.append(busy_cores())
        text = scale_report(options, config, rows, seed_seconds, time.monotonic() - started)
        Path(options.output).write_text(text)
        sys.stdout.write(text)
    finally:
        bench.stop_all()
        if not options.keep_db:
            drop_database(bench.db)
        shutil.rmtree(bench.workdir, ignore_errors=True)


# --- reports ----------------------------------------------------------------------------------


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def header(options, config: dict, title: str) -> list[str]:
    m = machine(options.database_url)
    workers_source = "VAULT_WORKERS" if os.environ.get("VAULT_WORKERS") else "default: 2 x cores + 1"
    return [
        f"# {title}",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by "
        f"`{' '.join(['bench/run.py', *sys.argv[1:]])}`.",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory']} memory, Linux {m['kernel']}; "
        f"server, database and load generator share it.",
        f"- Server: gunicorn with gunicorn.conf.py, {config['workers']} workers ({workers_source}), "
        f"worker class `{config['worker_class']}`, {config['threads']} thread(s), keep-alive {config['keepalive']} s, "
        f"max_requests {config['max_requests']}; Python {m['python']}; `VAULT_ENV=production`, `DJANGO_DEBUG=false`, "
        "`VAULT_ACCESS_LOG_LEVEL=WARNING`.",
        "- Other work on the machine (from /proc/stat over 3 s, nothing of the bench running): "
        + ", ".join(f"{value:.2f}" for value in getattr(options, "background", []))
        + f" of {m['cores']} cores busy (before the run, after it). The figures below are only as good as that.",
        f"- Database: PostgreSQL {m['postgres']} on 127.0.0.1 (shared_buffers {m['shared_buffers']}), "
        "`DATABASE_CONN_MAX_AGE` 60 (persistent connections).",
        f"- Load: {m['wrk']}, {options.wrk_threads} thread, `--latency`; {options.warmup} s warm-up at 16 "
        f"connections, then {options.duration} s at 4 and {options.duration} s at 16 connections per scenario.",
        "",
    ]


def proxy_report(runs: dict) -> list[str]:
    direct = max(r["rps"] for r in runs["direct"].values())
    lines = [
        "",
        "## The proxy",
        "",
        "The processor simulator (`scripts/processor_simulator.py`, HTTPS under a trustme certificate, one "
        "Python process) called directly with the card in the body, then through the vault's `POST /proxy` "
        "with a stored card substituted in: the vault decrypts the card, resolves and checks the destination, "
        "opens a verified TLS connection, writes the audit row and masks the answer.",
        "",
        "| path | req/s @4 | p50 @4 (ms) | p99 @4 (ms) | req/s @16 | p99 @16 (ms) | saturation "
        "| ratio to direct | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("direct", "processor, directly"), ("proxy", "processor, through /proxy")):
        r4, r16 = runs[name][4], runs[name][16]
        best = max(r4["rps"], r16["rps"])
        cells = [label, f"{r4['rps']:.0f}", ms(r4["p50_us"]), ms(r4["p99_us"]), f"{r16['rps']:.0f}", ms(r16["p99_us"]),
                 f"{best:.0f}", f"{best / direct:.2f}", str(r4["errors"] + r16["errors"])]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def draw_chart(path: Path, results: dict, extra: dict) -> None:
    from bench import chart

    insert, select = _baselines(results)
    rows = []
    for key, label, _kind, against in CORE:
        best = max(r["rps"] for r in results[key].values())
        rows.append((label, results[key], best / (insert if against == "insert" else select), against))
    if extra.get("proxy"):
        direct = max(r["rps"] for r in extra["proxy"]["direct"].values())
        proxied = extra["proxy"]["proxy"]
        rows.append(("proxy to the processor (÷ calling it directly)", proxied,
                     max(r["rps"] for r in proxied.values()) / direct, "direct"))  # fmt: skip
    chart.draw(path, rows, f"make bench, {datetime.date.today().isoformat()}: the vault against the bare stack")


def _baselines(results: dict) -> tuple[float, float]:
    def saturation(key: str) -> float:
        return max(r["rps"] for r in results[key].values())

    insert = (saturation("baseline_insert_start") + saturation("baseline_insert_end")) / 2
    select = (saturation("baseline_select_start") + saturation("baseline_select_end")) / 2
    return insert, select


def report(options, config: dict, results: dict, variants: dict, extra: dict) -> str:
    insert, select = _baselines(results)
    lines = header(options, config, "Benchmark results")
    lines += [
        "Main table: rate limiter on (a limit the bench never reaches) with its counters in Redis "
        "(`REDIS_URL=redis://127.0.0.1:6379/14`). req/s at saturation = the higher of the two runs. "
        "Ratio: create-like and write scenarios to the baseline insert, read-like ones to the baseline select; "
        "the baseline ran before and after the vault, and the ratio uses the mean of the two. "
        "Other work: cores busy with work outside the bench in the second before each run (from /proc/stat).",
        "",
        "| scenario | req/s @4 | p50 @4 (ms) | p99 @4 (ms) | req/s @16 | p50 @16 (ms) | p99 @16 (ms) "
        "| req/s saturation | ratio to baseline | errors | other work @4/@16 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("baseline_insert_start", "**baseline** insert, before the vault", "base", ""),
        ("baseline_select_start", "**baseline** select by primary key, before the vault", "base", ""),
        *CORE,
        ("baseline_insert_end", "**baseline** insert, after the vault", "base", ""),
        ("baseline_select_end", "**baseline** select by primary key, after the vault", "base", ""),
    ]
    for key, label, _kind, against in rows:
        r4, r16 = results[key][4], results[key][16]
        best = max(r4["rps"], r16["rps"])
        ratio = "—" if not against else f"{best / (insert if against == 'insert' else select):.2f} x {against}"
        errors = r4["errors"] + r16["errors"]
        lines.append(
            f"| {label} | {r4['rps']:.0f} | {ms(r4['p50_us'])} | {ms(r4['p99_us'])} | {r16['rps']:.0f} | "
            f"{ms(r16['p50_us'])} | {ms(r16['p99_us'])} | {best:.0f} | {ratio} | {errors} | "
            f"{r4.get('background', 0):.2f} / {r16.get('background', 0):.2f} |"
        )
    lines += ["", "## Targets", ""]

    def ratio_target(key: str, label: str, floor: float, against: str) -> tuple[str, str, bool]:
        ratio = max(r["rps"] for r in results[key].values()) / (insert if against == "insert" else select)
        return (f"{label} ≥ {floor:.2f} x baseline {against}", f"{ratio:.2f}", ratio >= floor)

    targets = [
        ratio_target("pm_create", "payment-method create", 0.80, "insert"),
        ratio_target("pm_create_nt", "create with a network token", 0.65, "insert"),
        ratio_target("pm_retrieve", "retrieve", 0.90, "select"),
        ratio_target("pm_reveal", "reveal", 0.70, "select"),
        ratio_target("pm_list", "list of 10", 0.70, "select"),
        ratio_target("pm_update", "update", 0.80, "insert"),
        ratio_target("pm_delete", "delete", 0.80, "insert"),
        ("create p99 at 4 connections ≤ 25 ms", f"{ms(results['pm_create'][4]['p99_us'])} ms",
         results["pm_create"][4]["p99_us"] <= 25_000),
        ("retrieve p99 at 4 connections ≤ 15 ms", f"{ms(results['pm_retrieve'][4]['p99_us'])} ms",
         results["pm_retrieve"][4]["p99_us"] <= 15_000),
    ]  # fmt: skip
    if extra.get("rotation"):
        rot = extra["rotation"]
        targets.append(("rotate_keys ≥ 5,000 records/s", f"{rot['rate']:.0f} records/s", rot["rate"] >= 5000))
        targets.append((f"root rotation with {rot['stored']:,} cards stored: seconds", f"{rot['root_seconds']:.1f} s",
                        rot["root_seconds"] < 10))  # fmt: skip
    pairs = extra.get("pairs", {})
    for pair, label, measured in (
        ("limiter", "the limiter (Redis) costs ≤ 5%: on / off", "{} with the limiter"),
        ("providers", "pkcs11 within 5% of local: pkcs11 / local", "{} with pkcs11"),
    ):
        if pair in pairs:
            for key, scenario in (("pm_create", "create"), ("pm_retrieve", "retrieve")):
                ratio, _ = paired_ratio(pairs[pair], key)
                targets.append((f"{measured.format(scenario)}: {label}", f"{ratio:.3f}", ratio >= 0.95))
    lines += ["| target | measured | met |", "|---|---:|---|"]
    lines += [f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in targets]
    if variants:
        lines += [
            "",
            "## Rate-limit counter and server variants (same run, vault restarted for each)",
            "",
            f"The main table's server: {config['worker_class']}, {config['workers']} workers, "
            f"{config['threads']} thread(s) each; the baseline always runs on that one.",
            "",
        ]
        lines += [
            "| configuration | scenario | req/s @4 | p99 @4 (ms) | req/s @16 | p99 @16 (ms) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        main = {"pm_retrieve": results["pm_retrieve"], "pm_create": results["pm_create"]}
        for name, runs in [("main table (counters in Redis)", main), *variants.items()]:
            for key, label in (("pm_retrieve", "retrieve"), ("pm_create", "create")):
                r4, r16 = runs[key][4], runs[key][16]
                cells = [name, label, f"{r4['rps']:.0f}", ms(r4["p99_us"]), f"{r16['rps']:.0f}", ms(r16["p99_us"])]
                lines.append("| " + " | ".join(cells) + " |")
    if pairs:
        lines += [
            "",
            "## The limiter's cost and the key providers (same run, side by side)",
            "",
            "Two vaults run side by side, A and B, both warmed up; then each scenario runs "
            f"{PAIRED_SLICES} times {SLICE_SECONDS} s at 16 connections on each, the two taking turns "
            "(A B, B A, A B, ...), so that a drift of the shared machine falls on both alike; the side "
            "not under load is idle. The ratio pools the turns (requests served by B over those served by "
            "A); the turns' own ratios show the spread. Limiter: `off` is VAULT_RATE_LIMIT_PER_MINUTE=0, "
            "`on` the main table's configuration, same merchant. Key providers: `local` is a vault with "
            "the root key in VAULT_KEYRING, `pkcs11` one with the root key inside a SoftHSM2 token "
            "(`manage.py create_root_key`, not extractable); each serves a merchant made alike for it "
            "(2,000 cards seeded, a fresh customer for the creates) whose merchant key its root wraps"
            + (
                f" (active keys wrapped by: local side {extra['provider_roots']['local'][0]}:"
                f"{extra['provider_roots']['local'][1]}, pkcs11 side {extra['provider_roots']['pkcs11'][0]}:"
                f"{extra['provider_roots']['pkcs11'][1]})"
                if extra.get("provider_roots")
                else ""
            )
            + ". Each worker asks the provider once per merchant and VAULT_MERCHANT_KEY_CACHE_SECONDS.",
            "",
            "| comparison | scenario | req/s by turn, A | req/s by turn, B | B / A pooled | B / A by turn |",
            "|---|---|---|---|---:|---|",
        ]
        for pair, runs in pairs.items():
            (first, a), (second, b) = runs.items()
            for key, label in (("pm_create", "create"), ("pm_retrieve", "retrieve")):
                ratio, by_round = paired_ratio(runs, key)
                cells = [f"{pair}: A {first}, B {second}", label, ", ".join(f"{v:.0f}" for v in a[key]),
                         ", ".join(f"{v:.0f}" for v in b[key]), f"{ratio:.3f}",
                         ", ".join(f"{v:.3f}" for v in by_round)]  # fmt: skip
                lines.append("| " + " | ".join(cells) + " |")
    if extra.get("proxy"):
        lines += proxy_report(extra["proxy"])
    if extra.get("audit_chain"):
        trail = extra["audit_chain"]
        lines += [
            "",
            f"Audit trail: the run wrote {trail['rows']:,} audit rows; `run_worker` (beside the vault, as deployed) "
            f"had given all but {trail['waiting']} their place in the chain {trail['caught_up']:.1f} s after the "
            f"last scenario ended, and `verify_audit` then said: {trail['verify']}.",
        ]
    if extra.get("nt_tokens"):
        nt = extra["nt_tokens"]
        lines += [
            "",
            f"Network tokenization: {nt['with_token']} of {nt['cards']} cards created in that scenario got a token "
            "from the simulator (a separate `manage.py run_token_service` process on 127.0.0.1).",
        ]
    if extra.get("rotation"):
        rot = extra["rotation"]
        lines += [
            "",
            "## Key rotation",
            "",
            f"Root rotation with **{rot['stored']:,} cards stored** ({rot['merchant_keys']} merchant keys): a KEK "
            f"version added to VAULT_KEYRING, then `manage.py rotate_keys --root`: {rot['root_keys']} merchant "
            f"key(s) re-wrapped in **{rot['root_seconds']:.1f} s** wall, process start included "
            f"({rot['root_inner']:.2f} s of work); no card touched.",
            "",
            f"Merchant-key rotation: `manage.py rotate_keys --merchant … --new-merchant-key` (batch size "
            f"{rot['batch_size']}, the default): {rot['records']:,} records re-wrapped in {rot['seconds']:.1f} s "
            f"(wall, process start included) = **{rot['rate']:.0f} records/s**. The records were seeded with "
            "`seed_payment_methods`"
            + (f" ({rot['seed_rate']:.0f} cards/s, two processes)." if rot["seed_rate"] else "."),
        ]
    if extra.get("queries"):
        lines += [
            "",
            "## Queries per request",
            "",
            "Counted with `CaptureQueriesContext` through Django's test client on the same database "
            "(after one warm-up request per scenario).",
            "",
            "| scenario | counters in Redis | counters in PostgreSQL | limiter off |",
            "|---|---:|---:|---:|",
        ]
        q = extra["queries"]
        for scenario in q["redis"]:
            lines.append(f"| {scenario} | {q['redis'][scenario]['count']} | {q['database'][scenario]['count']} | "
                         f"{q['off'][scenario]['count']} |")  # fmt: skip
        lines += ["", "Statements of a masked retrieve (counters in PostgreSQL):", "", "```"]
        lines += [statement[:160] for statement in q["database"]["retrieve"]["sql"]]
        lines += ["```", "", "Statements of a create (counters in Redis):", "", "```"]
        lines += [statement[:160] for statement in q["redis"]["create"]["sql"]]
        lines += ["```"]
    if extra.get("profile"):
        lines += ["", "## Profile (py-spy on every worker, 16 connections)", ""]
        for name, prof in extra["profile"].items():
            if not prof.get("samples"):
                continue
            lines += [f"### {name}: {prof['samples']} samples inside requests (wall clock, `--idle`)", ""]
            lines += ["| where the time goes | share |", "|---|---:|"]
            lines += [f"| {label} | {share:.1%} |" for label, share in prof["categories"]]
            lines += ["", "Top frames by own time:", "", "```"]
            lines += [f"{share:6.1%}  {frame}" for frame, share in prof["own"]]
            lines += ["```", "", "Vault frames by inclusive time:", "", "```"]
            lines += [f"{share:6.1%}  {frame}" for frame, share in prof["inclusive"]]
            lines += ["```", ""]
    lines += ["", f"Whole run: {extra['elapsed']:.0f} s.", ""]
    return "\n".join(lines)


def scale_report(options, config: dict, rows: list[dict], seed_seconds: float, elapsed: float) -> str:
    lines = header(options, config, "Scale: retrieve by random id and create as the table grows")
    stored = rows[-1]["stored"] if rows else 0
    rate = stored / seed_seconds if seed_seconds else 0
    lines += [
        f"Cards seeded with `manage.py seed_payment_methods` ({options.seed_jobs} processes, batches of 1,000, "
        f"real sealing and fingerprints): {stored} in {seed_seconds:.0f} s = **{rate:.0f} cards/s**"
        + (
            f"; 1,000,000 would take about {1_000_000 / rate / 60:.0f} min at that rate (extrapolated)."
            if rate and stored < 1_000_000
            else "."
        ),
        "Retrieve: ids are a random sample of 20,000 of all stored cards; each request picks one at random. "
        "Create: a new card per request for one customer, into the table as it stands (each size's run adds a few "
        "thousand). `VACUUM ANALYZE` and `CHECKPOINT` before each size.",
        "",
        "| scenario | stored cards | table + indexes | req/s @4 | p50 @4 (ms) | p99 @4 (ms) | req/s @16 | p50 @16 (ms) "
        "| p99 @16 (ms) | other work @4/@16 (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, key in (("retrieve", "result"), ("create", "create")):
        for row in rows:
            r4, r16 = row[key][4], row[key][16]
            lines.append(
                f"| {name} | {row['stored']:,} | {row['table_bytes'] / 2**20:.0f} MiB | {r4['rps']:.0f} | "
                f"{ms(r4['p50_us'])} | {ms(r4['p99_us'])} | {r16['rps']:.0f} | {ms(r16['p50_us'])} | "
                f"{ms(r16['p99_us'])} | {r4.get('background', 0):.2f} / {r16.get('background', 0):.2f} |"
            )
    if len(rows) >= 2:
        lines.append("")
        for name, key in (("Retrieve", "result"), ("Create", "create")):
            first = max(r["rps"] for r in rows[0][key].values())
            last = max(r["rps"] for r in rows[-1][key].values())
            verdict = "met" if last / first >= 0.90 else "**not met**"
            lines.append(
                f"{name} at {rows[-1]['stored']:,} cards = {last / first:.2f} x {name.lower()} at "
                f"{rows[0]['stored']:,} (target: within 10 %, i.e. ≥ 0.90: {verdict})."
            )
    lines += ["", f"Whole run: {elapsed:.0f} s.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                        help="rate-limit counters for the main table ('' for the database)")  # fmt: skip
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "3")))
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--no-variants", action="store_true", help="skip the limiter's runs and the server variants")
    parser.add_argument("--no-providers", action="store_true", help="skip the local/pkcs11 key-provider runs")
    parser.add_argument("--skip-rotation", action="store_true")
    parser.add_argument("--rotation-records", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="py-spy on create and retrieve (needs py-spy)")
    parser.add_argument("--scale", action="store_true", help="retrieve and create at growing table sizes instead")
    parser.add_argument("--scale-sizes", default="10000,1000000")
    parser.add_argument("--seed-budget", type=int, default=900, help="seconds of seeding at most (--scale)")
    parser.add_argument("--seed-jobs", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--output", default=None)
    options = parser.parse_args()
    check_local(options.database_url)
    if options.redis_url:
        check_local(options.redis_url)
    if not 1 <= options.duration <= 120 or not 0 <= options.warmup <= 60:
        sys.exit("--duration must be 1-120 s and --warmup 0-60 s")
    options.output = options.output or str(ROOT / "bench" / ("results-scale.md" if options.scale else "results.md"))
    if options.scale:
        scale_run(options)
    else:
        main_run(options)


if __name__ == "__main__":
    main()
