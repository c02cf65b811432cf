"""Settings for the card vault, read from the environment (and a local `.env` when present).

The module fails closed: there is no default secret, DEBUG is off unless asked for, and a missing
or weak secret stops start-up with ImproperlyConfigured. See the README's configuration reference.
"""

import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.client_address import parse_networks, parse_trusted_proxies
from vault_project.config import (
    check_api_prefixes,
    check_cell_id,
    check_env_file,
    check_key_provider,
    check_secret,
    newest_version,
    parse_keyring,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A development .env beside manage.py (`make env`), or the file VAULT_ENV_FILE names ("" reads none).
# Variables already in the process environment win over the file.
VAULT_ENV_FILE = os.environ.get("VAULT_ENV_FILE", str(BASE_DIR / ".env"))
if VAULT_ENV_FILE:
    check_env_file(VAULT_ENV_FILE, os.environ.get("VAULT_ENV"))
    environ.Env.read_env(VAULT_ENV_FILE)

VAULT_ENV = env.str("VAULT_ENV", default="production")
if VAULT_ENV not in ("development", "production"):
    raise ImproperlyConfigured("VAULT_ENV must be 'development' or 'production'.")
DEVELOPMENT = VAULT_ENV == "development"

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG and not DEVELOPMENT:
    raise ImproperlyConfigured("DJANGO_DEBUG may only be switched on with VAULT_ENV=development.")

SECRET_KEY = check_secret("DJANGO_SECRET_KEY", env.str("DJANGO_SECRET_KEY", default=""))
VAULT_API_KEY_PEPPER = check_secret("VAULT_API_KEY_PEPPER", env.str("VAULT_API_KEY_PEPPER", default=""))
# Who holds the root key that wraps each merchant's key: `local` (VAULT_KEYRING, in this process),
# `pkcs11` (an HSM) or `aws-kms`. See docs/KEY_MANAGEMENT.md.
VAULT_KEY_PROVIDER = env.str("VAULT_KEY_PROVIDER", default="local")
if VAULT_KEY_PROVIDER not in ("local", "pkcs11", "aws-kms"):
    raise ImproperlyConfigured("VAULT_KEY_PROVIDER must be 'local', 'pkcs11' or 'aws-kms'.")
# Versioned local keys: the `local` provider's root keys, and the keys that wrapped card data keys
# before merchant keys existed (those values keep opening until `rotate_keys` moves them). Needed
# with another provider only while such values, or merchant keys wrapped by `local`, remain.
VAULT_KEYRING = (
    parse_keyring("VAULT_KEYRING", env.str("VAULT_KEYRING", default=""))
    if VAULT_KEY_PROVIDER == "local" or env.str("VAULT_KEYRING", default="")
    else {}
)
VAULT_ACTIVE_KEK = env.str("VAULT_ACTIVE_KEK", default=newest_version(VAULT_KEYRING) if VAULT_KEYRING else "")
# Start even though stored cards use a KEK version missing from VAULT_KEYRING (those cards answer 503).
VAULT_ALLOW_MISSING_KEKS = env.bool("VAULT_ALLOW_MISSING_KEKS", default=False)
if VAULT_KEYRING and VAULT_ACTIVE_KEK not in VAULT_KEYRING:
    raise ImproperlyConfigured("VAULT_ACTIVE_KEK must name a version present in VAULT_KEYRING.")
# PKCS#11: the module (a .so), the token and the root key's label; the user PIN from the
# environment or, better, a file readable by the vault's user only.
VAULT_PKCS11_MODULE = env.str("VAULT_PKCS11_MODULE", default="")
VAULT_PKCS11_TOKEN_LABEL = env.str("VAULT_PKCS11_TOKEN_LABEL", default="")
VAULT_PKCS11_KEY_LABEL = env.str("VAULT_PKCS11_KEY_LABEL", default="")
VAULT_PKCS11_PIN = env.str("VAULT_PKCS11_PIN", default="")
VAULT_PKCS11_PIN_FILE = env.str("VAULT_PKCS11_PIN_FILE", default="")
# AWS KMS: a symmetric key id, ARN or alias; region and endpoint fall back to boto3's own settings.
VAULT_KMS_KEY_ID = env.str("VAULT_KMS_KEY_ID", default="")
VAULT_KMS_REGION = env.str("VAULT_KMS_REGION", default="") or env.str("AWS_REGION", default="")
VAULT_KMS_ENDPOINT_URL = env.str("VAULT_KMS_ENDPOINT_URL", default="")
VAULT_KMS_TIMEOUT_SECONDS = env.float("VAULT_KMS_TIMEOUT_SECONDS", default=3.0)
check_key_provider(
    VAULT_KEY_PROVIDER,
    pkcs11=(
        VAULT_PKCS11_MODULE,
        VAULT_PKCS11_TOKEN_LABEL,
        VAULT_PKCS11_KEY_LABEL,
        VAULT_PKCS11_PIN or VAULT_PKCS11_PIN_FILE,
    ),
    kms_key_id=VAULT_KMS_KEY_ID,
)
# How long an unwrapped merchant key stays in a process's memory: fewer calls to the key provider,
# and, while it is down, how long the merchants already served keep being served. 0: not kept.
VAULT_MERCHANT_KEY_CACHE_SECONDS = env.int("VAULT_MERCHANT_KEY_CACHE_SECONDS", default=300)
if not 0 <= VAULT_MERCHANT_KEY_CACHE_SECONDS <= 3600:
    raise ImproperlyConfigured("VAULT_MERCHANT_KEY_CACHE_SECONDS must be between 0 and 3600.")
# Keys for card fingerprints (HMAC-SHA256), by version, kept apart from the KEKs; the newest is used.
VAULT_FINGERPRINT_KEYS = parse_keyring("VAULT_FINGERPRINT_KEYS", env.str("VAULT_FINGERPRINT_KEYS", default=""))
if set(VAULT_FINGERPRINT_KEYS.values()) & set(VAULT_KEYRING.values()):
    raise ImproperlyConfigured("VAULT_FINGERPRINT_KEYS must not reuse key material from VAULT_KEYRING.")
# Keys for the audit trail's chain of MACs (HMAC-SHA256), by version; the newest signs new rows, the
# older ones verify the rows they signed. Kept apart from every other key.
VAULT_AUDIT_KEYS = parse_keyring("VAULT_AUDIT_KEYS", env.str("VAULT_AUDIT_KEYS", default=""))
if set(VAULT_AUDIT_KEYS.values()) & (set(VAULT_FINGERPRINT_KEYS.values()) | set(VAULT_KEYRING.values())):
    raise ImproperlyConfigured("VAULT_AUDIT_KEYS must not reuse key material from another keyring.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEVELOPMENT else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host names the vault is served under.")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "merchants",
    "audit",
    "customers",
    "tokens",
    "proxy",
    "idempotency",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    # Health probes: answered whatever Host they carry, and logged only when they fail.
    "api.health.ProbeMiddleware",
    "core.middleware.BodyLimitMiddleware",
    "core.logging.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "vault_project.urls"
WSGI_APPLICATION = "vault_project.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "console" / "templates"],  # before Django admin's own templates
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
            ],
        },
    },
]

# SQLite is the embedded default; DATABASE_URL=postgres://… selects PostgreSQL.
_DATABASE_URL = env.str("DATABASE_URL", default="")
if not _DATABASE_URL and not DEVELOPMENT:
    raise ImproperlyConfigured("VAULT_ENV=production needs DATABASE_URL=postgres://… (it is not set).")
DATABASES = {"default": environ.Env.db_url_config(_DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if "ENGINE" not in DATABASES["default"]:
    raise ImproperlyConfigured("DATABASE_URL must start with postgres:// (or sqlite:// for development).")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock up front, so concurrent writers wait instead of failing.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    )
    # Tests use a file, not Django's shared in-memory database, so that concurrent writers wait for
    # each other as they do in a deployment instead of failing at once on a shared-cache table lock.
    # One file per process, so that two test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"vault-test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if not DEVELOPMENT and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "VAULT_ENV=production needs DATABASE_URL=postgres://…: SQLite is the development default, one file "
        "on one host, and not what a vault's cards should live in."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Admin console (the restricted Django admin) ---------------------------------------------
VAULT_ADMIN_PATH = env.str("VAULT_ADMIN_PATH", default="admin/")
if not VAULT_ADMIN_PATH.endswith("/") or VAULT_ADMIN_PATH.startswith("/"):
    raise ImproperlyConfigured("VAULT_ADMIN_PATH must be a relative path ending in '/', such as 'admin/'.")
INSTALLED_APPS += [
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_otp",
    "console.apps.AuthenticatorsConfig",  # django_otp.plugins.otp_totp, with a readable name
    "axes",
    "console",
]
# After the request id and body limit (which stay first), and after whitenoise/common.
MIDDLEWARE += [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # DRF's views are csrf_exempt (they take no session authentication); the admin needs CSRF.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "console.middleware.ConsoleReferrerPolicyMiddleware",
    # Last: turns a lock-out noticed during authentication into the lock-out page.
    "axes.middleware.AxesMiddleware",
]
TEMPLATES[0]["OPTIONS"]["context_processors"] += [
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
]
# A CSRF failure outside the console answers in the API's JSON envelope, never Django's HTML page.
CSRF_FAILURE_VIEW = "console.views.csrf_failure"
# Axes first: it refuses a locked-out username before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# PCI DSS 8.3.4: lock a user id after at most 10 failed attempts, for at least 30 minutes.
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
# Locking by username is what PCI DSS asks for; counting by address too would let one noisy client
# (or a proxy that hides client addresses) lock every administrator out at once.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# A correct password is only half a sign-in: wrong codes keep counting across password re-entries,
# and the count is reset only once the second factor is verified too (console/views.py).
AXES_RESET_ON_SUCCESS = False
# Masked in axes' logs and in the form data it keeps of a failed attempt (passwords always are).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "csrfmiddlewaretoken"]
AXES_LOCKOUT_TEMPLATE = "console/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "core.client_address.axes_client_address"
# PCI DSS 8.2.8: a console session ends after 15 idle minutes; every request restarts the clock.
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# The console's cookies are sent to the console only, never with API requests.
SESSION_COOKIE_PATH = f"/{VAULT_ADMIN_PATH}"
CSRF_COOKIE_PATH = f"/{VAULT_ADMIN_PATH}"
CSRF_COOKIE_HTTPONLY = True
LOGIN_URL = f"/{VAULT_ADMIN_PATH}login/"
# PCI DSS 8.3.6: passwords of at least 12 characters, not common, not like the user's name.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The name authenticator apps show beside the six-digit code.
OTP_TOTP_ISSUER = "Card Vault"
# --- end admin console -----------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Dates and times to the second with their zone (vault_project/formats/en/formats.py).
FORMAT_MODULE_PATH = ["vault_project.formats"]
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Serve the bundled docs assets straight from the installed packages: no collectstatic step, no CDN.
WHITENOISE_USE_FINDERS = True

# --- Security headers and cookies -------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEVELOPMENT
CSRF_COOKIE_SECURE = not DEVELOPMENT
VAULT_BEHIND_TLS_PROXY = env.bool("VAULT_BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if VAULT_BEHIND_TLS_PROXY else None
if VAULT_BEHIND_TLS_PROXY:
    # The TLS proxy redirects plain HTTP and sends HSTS itself (deploy/nginx/): not twice.
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008"]
elif not DEVELOPMENT:
    # Production without a TLS proxy in front: Django redirects to HTTPS and sends HSTS. Health probes
    # (a load balancer's, over plain HTTP to the instance) are answered where they ask.
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^health(/ready)?$"]
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading binds the whole domain to HTTPS in browsers for good: the operator's call, not ours.
    SECURE_HSTS_PRELOAD = env.bool("VAULT_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS += ["security.W021"]
# Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed: the client's address is the
# rightmost hop that is not one of them (core/client_address.py). Empty: the peer's address, always.
VAULT_TRUSTED_PROXIES = env.list("VAULT_TRUSTED_PROXIES", default=[])
parse_trusted_proxies(VAULT_TRUSTED_PROXIES)

# Prometheus scrapes /metrics with `Authorization: Bearer <this>`; empty: no /metrics route (404).
VAULT_METRICS_TOKEN = env.str("VAULT_METRICS_TOKEN", default="")
if VAULT_METRICS_TOKEN:
    check_secret("VAULT_METRICS_TOKEN", VAULT_METRICS_TOKEN)

# --- Vault knobs ------------------------------------------------------------------------------
VAULT_CELL_ID = check_cell_id(env.str("VAULT_CELL_ID", default="01"))
VAULT_API_PREFIXES = check_api_prefixes(env.list("VAULT_API_PREFIXES", default=["v1", "v2"]))
VAULT_MAX_BODY_BYTES = env.int("VAULT_MAX_BODY_BYTES", default=16 * 1024)
VAULT_MAX_JSON_DEPTH = env.int("VAULT_MAX_JSON_DEPTH", default=32)
VAULT_LIST_MAX_LIMIT = 100
# Network tokenization: the token service (a token-requestor gateway, or the bundled simulator).
VAULT_NT_URL = env.str("VAULT_NT_URL", default="")
VAULT_NT_API_KEY = env.str("VAULT_NT_API_KEY", default="")
if VAULT_NT_URL and not VAULT_NT_API_KEY:
    raise ImproperlyConfigured("VAULT_NT_URL needs VAULT_NT_API_KEY, the bearer key for the token service.")
# A create never waits longer than this for a token; reads retry idempotent calls this many times.
VAULT_NT_TIMEOUT = env.float("VAULT_NT_TIMEOUT", default=3.0)
VAULT_NT_RETRIES = env.int("VAULT_NT_RETRIES", default=2)
VAULT_NT_WEBHOOK_SECRET = env.str("VAULT_NT_WEBHOOK_SECRET", default="")
# How long the ids of received lifecycle events are kept to recognise a replay (purge_expired removes older).
VAULT_NT_EVENT_RETENTION_DAYS = env.int("VAULT_NT_EVENT_RETENTION_DAYS", default=30)
if VAULT_NT_WEBHOOK_SECRET:
    check_secret("VAULT_NT_WEBHOOK_SECRET", VAULT_NT_WEBHOOK_SECRET)
# The proxy (proxy/): forwards a merchant's request to an allowlisted destination with card data
# substituted in. Addresses it may reach although they are not public (CIDR ranges; the tests list
# 127.0.0.1): everything loopback, private, link-local, multicast or metadata is refused otherwise.
VAULT_PROXY_ALLOW_ADDRESSES = env.list("VAULT_PROXY_ALLOW_ADDRESSES", default=[])
parse_networks("VAULT_PROXY_ALLOW_ADDRESSES", VAULT_PROXY_ALLOW_ADDRESSES)
# Nameservers the proxy asks (`address` or `address:port`); empty: the system's resolver.
VAULT_PROXY_NAMESERVERS = env.list("VAULT_PROXY_NAMESERVERS", default=[])
VAULT_PROXY_CONNECT_TIMEOUT = env.float("VAULT_PROXY_CONNECT_TIMEOUT", default=5.0)
VAULT_PROXY_READ_TIMEOUT = env.float("VAULT_PROXY_READ_TIMEOUT", default=20.0)
# However the destination trickles its answer, the call ends after this long.
VAULT_PROXY_TOTAL_TIMEOUT = env.float("VAULT_PROXY_TOTAL_TIMEOUT", default=25.0)
VAULT_PROXY_MAX_REQUEST_BYTES = env.int("VAULT_PROXY_MAX_REQUEST_BYTES", default=64 * 1024)
VAULT_PROXY_MAX_RESPONSE_BYTES = env.int("VAULT_PROXY_MAX_RESPONSE_BYTES", default=1024 * 1024)
# Proxy calls per minute per API key, counted apart from the key's other requests; 0 switches it off.
VAULT_PROXY_RATE_LIMIT_PER_MINUTE = env.int("VAULT_PROXY_RATE_LIMIT_PER_MINUTE", default=600)
# How long an Idempotency-Key's answer is kept, and how long a retry waits for a first request in flight.
VAULT_IDEMPOTENCY_TTL = env.int("VAULT_IDEMPOTENCY_TTL", default=24 * 3600)
VAULT_IDEMPOTENCY_WAIT_SECONDS = env.float("VAULT_IDEMPOTENCY_WAIT_SECONDS", default=5.0)
# A request still "in flight" after this long died with its server; its key is taken over.
VAULT_IDEMPOTENCY_STALE_SECONDS = env.int("VAULT_IDEMPOTENCY_STALE_SECONDS", default=60)
# Requests per minute per API key, unless the merchant has its own limit; 0 switches limiting off.
VAULT_RATE_LIMIT_PER_MINUTE = env.int("VAULT_RATE_LIMIT_PER_MINUTE", default=6000)
# The most counts a process takes from the shared store at once for one key (it takes limit/1000,
# at least 1); 1 asks the store on every request.
VAULT_RATE_LIMIT_LEASE = env.int("VAULT_RATE_LIMIT_LEASE", default=32)
if VAULT_RATE_LIMIT_LEASE < 1:
    raise ImproperlyConfigured("VAULT_RATE_LIMIT_LEASE must be 1 or more.")
# Redis for rate-limit counters shared by every server process; without it, the database.
REDIS_URL = env.str("REDIS_URL", default="")
# What the rate limiter does when Redis cannot be reached: `allow` lets requests through uncounted
# (a limiter outage must not stop card vaulting), `deny` answers 503 and makes readiness fail.
VAULT_RATE_LIMIT_ON_STORE_ERROR = env.str("VAULT_RATE_LIMIT_ON_STORE_ERROR", default="allow")
if VAULT_RATE_LIMIT_ON_STORE_ERROR not in ("allow", "deny"):
    raise ImproperlyConfigured("VAULT_RATE_LIMIT_ON_STORE_ERROR must be `allow` or `deny`.")
# How long a `storage_type: volatile` payment method lives, in seconds.
VAULT_VOLATILE_TTL = env.int("VAULT_VOLATILE_TTL", default=15 * 60)
# How long a CVC sent on create or update is kept for the proxy, in seconds: at most 15 minutes.
VAULT_CVC_TTL = env.int("VAULT_CVC_TTL", default=15 * 60)
if not 0 < VAULT_CVC_TTL <= 15 * 60:
    raise ImproperlyConfigured("VAULT_CVC_TTL must be between 1 and 900 seconds (15 minutes).")
# How long a process may trust a key it verified (revocation elsewhere takes effect within this).
VAULT_API_KEY_CACHE_SECONDS = env.float("VAULT_API_KEY_CACHE_SECONDS", default=5.0)
# A key's last_used_at is written at most this often, to keep reads from becoming writes.
VAULT_KEY_LAST_USED_INTERVAL_SECONDS = 60
# Django's own guard for the same limit, in case something reads the body before our middleware.
DATA_UPLOAD_MAX_MEMORY_SIZE = VAULT_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.JSONOnlyNegotiation",
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "api.schema.VaultAutoSchema",
    "EXCEPTION_HANDLER": "api.exception_handler.handle_exception",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Card Vault API",
    "DESCRIPTION": (
        "Server-to-server card tokenization, wire-compatible with the Hyperswitch Vault API. "
        "Every vault route needs an API key (`Authorization: api-key=<key>` or `api-key: <key>`) "
        "and an `X-Profile-Id` header."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CountryAlpha2": "api.fields.COUNTRY_CODES",
        "CardSubtype": "api.payment_methods.serializers.CARD_SUBTYPES",
    },
}

# JSON lines in production (for log pipelines), plain text in development; both redacted.
VAULT_LOG_FORMAT = env.str("VAULT_LOG_FORMAT", default="plain" if DEVELOPMENT else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "core.logging.RedactingFilter"},
        "request_id": {"()": "core.request_context.RequestIdFilter"},
        "disallowed_host": {"()": "core.logging.DisallowedHostFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.VaultJsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if VAULT_LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("VAULT_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's request logger prints request details on 4xx/5xx; our handler logs what is needed.
        "django.request": {"level": "ERROR", "propagate": True},
        # Any client can send a Host the vault does not serve: a warning without a traceback, at most
        # once a minute per host, instead of an ERROR with a stack on every probe.
        "django.security.DisallowedHost": {"filters": ["disallowed_host"], "propagate": True},
        # The development server's access log, through the redacting handler like everything else.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "vault.access": {"level": env.str("VAULT_ACCESS_LOG_LEVEL", default="INFO")},
        # The KMS client logs whole request bodies at DEBUG, a merchant key in clear among them: never
        # below WARNING, whatever VAULT_LOG_LEVEL says.
        "botocore": {"level": "WARNING"},
        # django-axes announces itself at INFO in every process, every management command included.
        "axes.apps": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
