"""Settings for the card vault, read from the environment (and a local `.env` when present).

The module fails closed: there is no default secret, DEBUG is off unless asked for, and a missing
or weak secret stops start-up with ImproperlyConfigured. See the README's configuration reference.
"""

import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from vault_project.config import check_api_prefixes, check_cell_id, check_secret, newest_version, parse_keyring

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the process environment win over the file.
environ.Env.read_env(BASE_DIR / ".env")

VAULT_ENV = env.str("VAULT_ENV", default="production")
if VAULT_ENV not in ("development", "production"):
    raise ImproperlyConfigured("VAULT_ENV must be 'development' or 'production'.")
DEVELOPMENT = VAULT_ENV == "development"

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG and not DEVELOPMENT:
    raise ImproperlyConfigured("DJANGO_DEBUG may only be switched on with VAULT_ENV=development.")

SECRET_KEY = check_secret("DJANGO_SECRET_KEY", env.str("DJANGO_SECRET_KEY", default=""))
VAULT_API_KEY_PEPPER = check_secret("VAULT_API_KEY_PEPPER", env.str("VAULT_API_KEY_PEPPER", default=""))
# Key-encryption keys (KEKs) that wrap each card's data key, by version; the newest encrypts.
VAULT_KEYRING = parse_keyring("VAULT_KEYRING", env.str("VAULT_KEYRING", default=""))
VAULT_ACTIVE_KEK = env.str("VAULT_ACTIVE_KEK", default=newest_version(VAULT_KEYRING))
# Start even though stored cards use a KEK version missing from VAULT_KEYRING (those cards answer 503).
VAULT_ALLOW_MISSING_KEKS = env.bool("VAULT_ALLOW_MISSING_KEKS", default=False)
if VAULT_ACTIVE_KEK not in VAULT_KEYRING:
    raise ImproperlyConfigured("VAULT_ACTIVE_KEK must name a version present in VAULT_KEYRING.")
# Keys for card fingerprints (HMAC-SHA256), by version, kept apart from the KEKs; the newest is used.
VAULT_FINGERPRINT_KEYS = parse_keyring("VAULT_FINGERPRINT_KEYS", env.str("VAULT_FINGERPRINT_KEYS", default=""))
if set(VAULT_FINGERPRINT_KEYS.values()) & set(VAULT_KEYRING.values()):
    raise ImproperlyConfigured("VAULT_FINGERPRINT_KEYS must not reuse key material from VAULT_KEYRING.")

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
    "idempotency",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
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
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
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
    "django_otp.plugins.otp_totp",
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
AXES_RESET_ON_SUCCESS = True
# Masked in axes' logs and in the form data it keeps of a failed attempt (passwords always are).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "csrfmiddlewaretoken"]
AXES_LOCKOUT_TEMPLATE = "console/locked_out.html"
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
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("VAULT_BEHIND_TLS_PROXY", default=False) else None
)

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
# How long an Idempotency-Key's answer is kept, and how long a retry waits for a first request in flight.
VAULT_IDEMPOTENCY_TTL = env.int("VAULT_IDEMPOTENCY_TTL", default=24 * 3600)
VAULT_IDEMPOTENCY_WAIT_SECONDS = env.float("VAULT_IDEMPOTENCY_WAIT_SECONDS", default=5.0)
# A request still "in flight" after this long died with its server; its key is taken over.
VAULT_IDEMPOTENCY_STALE_SECONDS = env.int("VAULT_IDEMPOTENCY_STALE_SECONDS", default=60)
# Requests per minute per API key, unless the merchant has its own limit; 0 switches limiting off.
VAULT_RATE_LIMIT_PER_MINUTE = env.int("VAULT_RATE_LIMIT_PER_MINUTE", default=6000)
# Redis for rate-limit counters shared by every server process; without it, the database.
REDIS_URL = env.str("REDIS_URL", default="")
# What the rate limiter does when Redis cannot be reached: `allow` lets requests through uncounted
# (a limiter outage must not stop card vaulting), `deny` answers 503 and makes readiness fail.
VAULT_RATE_LIMIT_ON_STORE_ERROR = env.str("VAULT_RATE_LIMIT_ON_STORE_ERROR", default="allow")
if VAULT_RATE_LIMIT_ON_STORE_ERROR not in ("allow", "deny"):
    raise ImproperlyConfigured("VAULT_RATE_LIMIT_ON_STORE_ERROR must be `allow` or `deny`.")
# How long a `storage_type: volatile` payment method lives, in seconds.
VAULT_VOLATILE_TTL = env.int("VAULT_VOLATILE_TTL", default=15 * 60)
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
    "filters": {"redact": {"()": "core.logging.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.VaultJsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if VAULT_LOG_FORMAT == "json" else "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("VAULT_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's request logger prints request details on 4xx/5xx; our handler logs what is needed.
        "django.request": {"level": "ERROR", "propagate": True},
        # The development server's access log, through the redacting handler like everything else.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "vault.access": {"level": env.str("VAULT_ACCESS_LOG_LEVEL", default="INFO")},
    },
}
