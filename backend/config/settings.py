"""Settings, all from the environment (see README for the table).

A ``.env`` file at the repository root is read first; real environment
variables win over it.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
import redis
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from config import embedded, rates
from config.metrics_dir import metrics_dir_ensure

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BASE_DIR.parent
load_dotenv(REPO_ROOT / ".env")
# Before anything imports prometheus_client: the directory this host's processes share (config/metrics_dir.py).
METRICS_DIR = metrics_dir_ensure()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {value!r}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A rate like 100/s, or off; checked here so a bad value stops the process at start."""
    value = os.environ.get(name, "").strip() or default
    rates.parse_rate(value, name)
    return value


DEBUG = env_bool("DEBUG", False)
DEMO_MODE = env_bool("DEMO_MODE", False)


def _secret_key() -> tuple[str, bool]:
    """The configured SECRET_KEY, or a generated one kept under .data/.

    Returns the key and whether it was generated. A generated key is good
    enough for management commands and local runs; the web process refuses to
    serve with one unless DEBUG is on (see config/wsgi.py).
    """
    configured = os.environ.get("SECRET_KEY", "").strip()
    if configured:
        return configured, False
    path = embedded.DATA_DIR / "secret_key"
    try:
        return path.read_text().strip(), True
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        embedded.DATA_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    except FileExistsError:
        return path.read_text().strip(), True
    except OSError:
        pass  # read-only filesystem: a per-process key is still safe, just not shared
    return key, True


SECRET_KEY, SECRET_KEY_GENERATED = _secret_key()


def _bank_account_encryption_keys() -> tuple[list[str], bool]:
    """The Fernet keys that encrypt bank account numbers at rest, and whether they were generated.

    ``BANK_ACCOUNT_ENCRYPTION_KEY`` is one key, or several separated by commas
    (the first encrypts, every one decrypts: how a key is rotated). Unset, a
    key is generated into .data/bank_account_key (mode 0600) and kept there,
    so local runs and tests read back what they wrote; the API and the worker
    refuse to start with it when DEBUG is off (config/wsgi.py,
    payouts/apps.py): lose that file and the numbers are gone.
    """
    configured = [k.strip() for k in os.environ.get("BANK_ACCOUNT_ENCRYPTION_KEY", "").split(",") if k.strip()]
    if configured:
        for key in configured:
            try:
                Fernet(key.encode())
            except (ValueError, TypeError) as exc:
                raise ImproperlyConfigured(
                    "BANK_ACCOUNT_ENCRYPTION_KEY must be one or more Fernet keys (32 url-safe base64-encoded bytes),"
                    " comma separated"
                ) from exc
        return configured, False
    path = embedded.DATA_DIR / "bank_account_key"
    try:
        return [path.read_text().strip()], True
    except FileNotFoundError:
        pass
    key = Fernet.generate_key().decode()
    try:
        embedded.DATA_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    except FileExistsError:
        return [path.read_text().strip()], True
    except OSError:
        pass  # read-only filesystem: this process's own key (DEBUG only: production sets one)
    return [key], True


BANK_ACCOUNT_ENCRYPTION_KEYS, BANK_ACCOUNT_ENCRYPTION_KEY_GENERATED = _bank_account_encryption_keys()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] + (["*"] if DEBUG else []))

API_PORT = env_int("API_PORT", 8000)
WEB_PORT = env_int("WEB_PORT", 5173)
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", [f"http://localhost:{WEB_PORT}", f"http://127.0.0.1:{WEB_PORT}"]
)
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key", "x-request-id", "x-csrftoken"]
# The dashboard signs in with a session cookie: its origins may send credentials,
# and its unsafe requests carry X-CSRFToken (the token /auth/login and /auth/session return).
CORS_ALLOW_CREDENTIALS = True
CSRF_TRUSTED_ORIGINS = list(CORS_ALLOWED_ORIGINS)
CORS_EXPOSE_HEADERS = ["idempotent-replayed", "retry-after", "ratelimit-policy", "ratelimit", "x-request-id"]
CORS_URLS_REGEX = r"^/api/.*$"

INSTALLED_APPS = [
    # The operators' console (CONTRACT §10): Django's admin on a site that asks for a TOTP code
    # when DEBUG is off (ops.admin_site), its pages and actions in ops.admin.
    "ops.apps.OperatorsAdminConfig",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "huey.contrib.djhuey",
    "ledger",
    "merchants",
    "bank",
    "payouts",
    "webhooks",
    "ops",
    "api",
]

MIDDLEWARE = [
    "api.middleware.HttpMetricsMiddleware",
    "api.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "api.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # DRF's views are csrf-exempt here; api.auth.SessionAuthentication enforces
    # the token on unsafe requests that a session authenticates.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a TOTP check (the admin's second factor).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The built dashboard, served from the API's own origin (see config.frontend).
_frontend_dist = os.environ.get("FRONTEND_DIST", "").strip()
FRONTEND_DIST = Path(_frontend_dist) if _frontend_dist else REPO_ROOT / "frontend" / "dist"
# Last, so the security, request-id and X-Frame-Options headers reach the UI too. It also serves
# the admin's own CSS and scripts under STATIC_URL, straight from the installed apps (no collectstatic).
MIDDLEWARE.append("config.frontend.DashboardMiddleware")
WHITENOISE_USE_FINDERS = True
WHITENOISE_ROOT = FRONTEND_DIST
WHITENOISE_INDEX_FILE = True
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/assets/"  # Vite puts content hashes in these names
WHITENOISE_MAX_AGE = 0  # index.html is revalidated (ETag), so a deploy shows its new bundle at once
WHITENOISE_ALLOW_ALL_ORIGINS = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The command being run (manage.py's first argument; "" under gunicorn).
COMMAND = os.path.basename(sys.argv[1]) if len(sys.argv) > 1 and os.path.basename(sys.argv[0]) == "manage.py" else ""
# Commands that change the schema or the roles run as the tables' owner
# (DATABASE_OWNER_URL). Everything else, the API and the workers included,
# runs as DATABASE_URL's role, which owns nothing and is not a superuser: it
# cannot disable a trigger, truncate a table or set session_replication_role.
OWNER_COMMANDS = {"migrate", "migrate_locked", "app_role", "makemigrations", "sqlmigrate", "dbshell"}
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "").strip()
USE_OWNER_ROLE = COMMAND in OWNER_COMMANDS and bool(DATABASE_OWNER_URL)
_database_url = (DATABASE_OWNER_URL if USE_OWNER_ROLE else os.environ.get("DATABASE_URL")) or embedded.postgres_url()

# Timeouts, so a stuck lock, a runaway statement or a client cut off by the
# network mid-transaction cannot hold a merchant's lock for long: hitting one
# rolls the transaction back and answers 503 database_timeout (never a 500).
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5000)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30000)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 5000)
# TCP keepalives and a user timeout on both ends: a partitioned connection is
# noticed within about DB_TCP_TIMEOUT_SECONDS, by the server (which then ends
# the session and frees its locks) and by the client (which then errors out).
DB_TCP_TIMEOUT_SECONDS = env_int("DB_TCP_TIMEOUT_SECONDS", 10)
for _name in ("DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS", "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 (off) or a positive number of milliseconds")
if DB_TCP_TIMEOUT_SECONDS < 3:
    raise ImproperlyConfigured("DB_TCP_TIMEOUT_SECONDS must be at least 3")


def _database_options() -> dict:
    probe = max(1, DB_TCP_TIMEOUT_SECONDS // 5)
    server = {
        "tcp_keepalives_idle": probe,
        "tcp_keepalives_interval": probe,
        "tcp_keepalives_count": 3,
        "tcp_user_timeout": DB_TCP_TIMEOUT_SECONDS * 1000,
    }
    if not USE_OWNER_ROLE:  # migrations may rightly wait and run long
        server |= {
            "lock_timeout": DB_LOCK_TIMEOUT_MS,
            "statement_timeout": DB_STATEMENT_TIMEOUT_MS,
            "idle_in_transaction_session_timeout": DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
        }
    return {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": probe,
        "keepalives_interval": probe,
        "keepalives_count": 3,
        "tcp_user_timeout": DB_TCP_TIMEOUT_SECONDS * 1000,
        "options": " ".join(f"-c {name}={value}" for name, value in server.items()),
    }


DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {}).update(_database_options())
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or embedded.redis_url()

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
LANGUAGE_CODE = "en"
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# A payout request is a few hundred bytes; anything much larger is refused
# before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 16 * 1024)

# --- security headers; see README "Deployment" for check --deploy ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Health probes from the platform, the image's HEALTHCHECK and a Prometheus scraping the
# container on its private network speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health(/live|/ready)?/?$", r"^api/v1/metrics/?$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)  # a commitment for the whole domain: opt in
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

# --- users and sessions (CONTRACT §7) ---
AUTH_USER_MODEL = "merchants.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
# Sign-in throttle: more than LOGIN_MAX_FAILURES failed sign-ins for one email, or from one
# client address, within LOGIN_FAILURE_WINDOW_SECONDS, and further attempts get 429.
LOGIN_MAX_FAILURES = 10
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.ApiKeyAuthentication", "api.auth.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.IsMerchant"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JsonParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "DATETIME_FORMAT": "iso-8601",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Payout engine API",
    "DESCRIPTION": "Balances, ledger and payouts for merchants. Money is integer paise.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["config.schema_hooks.drop_trailing_slash_aliases"],
    "ENUM_NAME_OVERRIDES": {
        "PayoutStatus": ["pending", "processing", "completed", "failed"],
        "DependencyState": ["ok", "unavailable"],
        "WorkerState": ["ok", "stale"],
        "Ok": ["ok"],
        "WebhookEndpointStatus": ["enabled", "disabled"],
        "EventType": ["payout.created", "payout.processing", "payout.completed", "payout.failed", "payment.credited"],
        "KindEnum": ["payment", "payout", "reversal"],  # the ledger's kinds, named as before security events
        "Role": ["owner", "developer", "viewer"],
        "SecurityEventKind": [
            "login_succeeded",
            "login_failed",
            "api_key_created",
            "api_key_revoked",
            "bank_account_added",
            "bank_account_verified",
            "bank_account_rejected",
            "bank_account_deactivated",
            "payment_credited",
        ],
    },
}

# --- the operators' console (/admin/, CONTRACT §10) ---
# Staff sign in with a password and, when DEBUG is off, a TOTP code from a device that
# `manage.py totp_enroll --email E` registers (ops.admin_site). The issuer names the account
# in the authenticator app.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "").strip() or "Payout engine"
# The QR codes and keys of the TOTP devices are not shown in the admin (enrolment prints the URI once).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- payouts ---
PAYOUT_PROCESSING_TIMEOUT_SECONDS = env_int("PAYOUT_PROCESSING_TIMEOUT_SECONDS", 30)
PAYOUT_RETRY_BACKOFF_SECONDS = env_int("PAYOUT_RETRY_BACKOFF_SECONDS", 5)
PAYOUT_MAX_ATTEMPTS = env_int("PAYOUT_MAX_ATTEMPTS", 3)
IDEMPOTENCY_KEY_TTL_SECONDS = env_int("IDEMPOTENCY_KEY_TTL_SECONDS", 86400)
BANK_SIMULATOR_OUTCOME = os.environ.get("BANK_SIMULATOR_OUTCOME", "random").strip().lower() or "random"
BANK_SIMULATOR_SEED = os.environ.get("BANK_SIMULATOR_SEED") or None
# How long a request takes to reach the simulated bank (a slow network); the
# sender still gives up after BANK_REQUEST_TIMEOUT_SECONDS.
BANK_SIMULATOR_ACCEPT_DELAY_SECONDS = env_float("BANK_SIMULATOR_ACCEPT_DELAY_SECONDS", 0.0)
BANK_REQUEST_TIMEOUT_SECONDS = env_float("BANK_REQUEST_TIMEOUT_SECONDS", 10.0)
if BANK_SIMULATOR_ACCEPT_DELAY_SECONDS < 0 or not 0 < BANK_REQUEST_TIMEOUT_SECONDS <= 60:
    raise ImproperlyConfigured(
        "BANK_SIMULATOR_ACCEPT_DELAY_SECONDS must be >= 0 and BANK_REQUEST_TIMEOUT_SECONDS between 0 and 60"
    )
# How overdue a payout's next step must be before the sweep re-enqueues it.
PAYOUT_SWEEP_GRACE_SECONDS = env_int("PAYOUT_SWEEP_GRACE_SECONDS", 20)

# --- webhooks (CONTRACT §8) ---
# Endpoint URLs must be https and resolve to public addresses, unless these say otherwise
# (both true under `make run` and in the tests, for receivers on localhost).
WEBHOOKS_ALLOW_HTTP = env_bool("WEBHOOKS_ALLOW_HTTP", False)
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
# Seconds between a failed attempt and the next (each with +-20% jitter); after the last, the delivery
# has failed. The default spans about 30 hours, the first retry within 10 seconds.
_schedule = env_list("WEBHOOK_RETRY_SCHEDULE", ["5", "20", "80", "320", "1280", "5120", "20480", "81920"])
WEBHOOK_RETRY_SCHEDULE = [int(part) for part in _schedule if part.isascii() and part.isdigit()]
if not WEBHOOK_RETRY_SCHEDULE or len(WEBHOOK_RETRY_SCHEDULE) != len(_schedule):
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE must be one or more whole seconds, comma separated")
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
if not 0 < WEBHOOK_TIMEOUT_SECONDS <= 10:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT_SECONDS must be more than 0 and at most 10")
# Threads in each consumer that send webhooks (beside Huey's workers, which they never take).
WEBHOOK_SENDERS = env_int("WEBHOOK_SENDERS", 8)
if WEBHOOK_SENDERS < 1:
    raise ImproperlyConfigured("WEBHOOK_SENDERS must be 1 or more")
# Attempts in flight at once to one endpoint: a slow receiver holds at most this many senders.
WEBHOOK_ENDPOINT_CONCURRENCY = env_int("WEBHOOK_ENDPOINT_CONCURRENCY", 2)
# An endpoint whose every attempt has failed for this long is disabled (3 days).
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", 3 * 86400)

# Rate limits (api.throttling): N/s, N/m, N/h, N/<k>s or off.
# Bearer token for GET /api/v1/metrics; unset, the endpoint answers 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()
# Bearer token of the collections system for POST /api/v1/internal/payments; unset, it answers 404.
INTERNAL_API_TOKEN = os.environ.get("INTERNAL_API_TOKEN", "").strip()
if INTERNAL_API_TOKEN and len(INTERNAL_API_TOKEN) < 32:
    raise ImproperlyConfigured("INTERNAL_API_TOKEN must be at least 32 characters (it moves money in)")
# run_huey serves its host's metric files at http://0.0.0.0:<port>/metrics (same token); 0: off.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)
PAYOUT_RATE_LIMIT = env_rate("PAYOUT_RATE_LIMIT", "100/s")
READ_RATE_LIMIT = env_rate("READ_RATE_LIMIT", "1000/m")
AUTH_FAILURE_RATE_LIMIT = env_rate("AUTH_FAILURE_RATE_LIMIT", "20/m")
# Reverse proxies in front of the API whose X-Forwarded-For is believed (0: use REMOTE_ADDR).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be 0 or more, got {os.environ['TRUSTED_PROXIES']!r}")

if BANK_SIMULATOR_OUTCOME not in {"random", "success", "failure", "hang"}:
    raise ImproperlyConfigured("BANK_SIMULATOR_OUTCOME must be random, success, failure or hang")
if PAYOUT_MAX_ATTEMPTS < 1 or PAYOUT_PROCESSING_TIMEOUT_SECONDS < 1 or PAYOUT_RETRY_BACKOFF_SECONDS < 0:
    raise ImproperlyConfigured("payout timeouts and attempts must be positive")

REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.3)
if not 0 < REDIS_TIMEOUT_SECONDS <= 5:
    raise ImproperlyConfigured("REDIS_TIMEOUT_SECONDS must be more than 0 and at most 5")

# --- the worker ---
# `immediate` is set explicitly: tasks always go through Redis, whatever DEBUG says.
HUEY = {
    "huey_class": "huey.RedisHuey",
    "name": os.environ.get("HUEY_NAME", "payouts"),
    # Short timeouts in the API: with Redis unreachable, POST /payouts still
    # answers within a second (the payout is durable in PostgreSQL, and the
    # sweep enqueues it later). The consumer's blocking reads need longer.
    "connection_pool": redis.ConnectionPool.from_url(
        REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=5 if COMMAND == "run_huey" else REDIS_TIMEOUT_SECONDS,
        # TCP keepalives notice a dead peer; a Unix socket takes no such option.
        **({} if REDIS_URL.startswith("unix:") else {"socket_keepalive": True}),
        health_check_interval=30,
        # No CLIENT SETINFO handshake: one round trip less per new connection,
        # and one timeout less to wait for when Redis stops answering.
        driver_info=None,
    ),
    "immediate": False,
    "utc": True,
    "results": False,
    "consumer": {
        "workers": env_int("HUEY_WORKERS", 8),
        "worker_type": "thread",
        "scheduler_interval": 1,
        "periodic": True,
        "check_worker_health": True,
        "health_check_interval": 5,
    },
}

# LOG_FORMAT=json (start.sh, the Docker image): one JSON object per line, with
# the request id (config/logs.py). Anything else: readable lines for a terminal.
LOG_FORMAT = "json" if os.environ.get("LOG_FORMAT", "").strip().lower() == "json" else "plain"
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # run_huey adds a handler of its own to "huey" unless it has one: every line twice.
        "huey": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
