"""The one settings module, configured from the environment.

With no variables set, wangge runs embedded: SQLite in WAL mode under ``$WANGGE_HOME``
(default ``./var``), Huey on SQLite, an in-memory channel layer. ``DATABASE_URL`` switches
to PostgreSQL and ``REDIS_URL`` moves Huey, the channel layer and the cache to Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from base64 import urlsafe_b64encode
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent.parent
DEMO = env_bool("WANGGE_DEMO")
# Development and tests: like demo mode, secrets are generated and kept under HOME.
DEV = env_bool("WANGGE_DEV", default="mypy" in sys.modules)  # type checking imports settings too
# Under pytest the settings are imported before any conftest runs, so detect it here.
TESTING = env_bool("WANGGE_TESTING", default="pytest" in sys.modules)
if TESTING and not os.environ.get("WANGGE_HOME"):
    os.environ["WANGGE_HOME"] = tempfile.mkdtemp(prefix="wangge-test-")
HOME = Path(os.environ.get("WANGGE_HOME", "var")).resolve()


def _generated_secrets() -> dict[str, str]:
    """Secrets kept under HOME for demo and development use, made on first run."""
    HOME.mkdir(parents=True, exist_ok=True)
    path = HOME / "secrets.json"
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    data = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "WANGGE_FIELD_KEY": urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def _secret(name: str) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if DEMO or DEV or TESTING:
        return _generated_secrets()[name]
    raise ImproperlyConfigured(
        f"{name} is not set. `wangge serve` needs SECRET_KEY and WANGGE_FIELD_KEY in the "
        "environment (see docs/deploy). Use `wangge demo` to try wangge without them."
    )


SECRET_KEY = _secret("SECRET_KEY")
# Field-encryption keys: "id:base64key" pairs separated by commas, the first one current.
# A bare key is taken as key id "1".
FIELD_KEYS = _secret("WANGGE_FIELD_KEY")

DEBUG = env_bool("WANGGE_DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "huey.contrib.djhuey",
    "axes",
    "ninja",
    "wangge.core",
    "wangge.places",
    "wangge.org",
    "wangge.people",
    "wangge.cases",
    "wangge.open311",
    "wangge.demo",
]

AUTH_USER_MODEL = "core.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "wangge.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "wangge.core.middleware.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wangge.urls"
ASGI_APPLICATION = "wangge.asgi.application"
WSGI_APPLICATION = "wangge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wangge.core.context_processors.shell",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Under ASGI every request runs in its own thread, and persistent connections pile up one
    # per thread until the server refuses more (measured: BENCHMARKS.md, intake over HTTP).
    _db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))
    if TESTING and os.environ.get("WANGGE_TEST_DB_NAME"):
        _db["TEST"] = {"NAME": os.environ["WANGGE_TEST_DB_NAME"]}
else:
    HOME.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": HOME / "wangge.sqlite3",
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
            # timeout instead of failing halfway with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA cache_size=-20000;"
            ),
        },
        "TEST": {"NAME": HOME / "test.sqlite3"} if os.environ.get("WANGGE_TEST_SQLITE_FILE") else {},
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- redis, cache, huey, channels -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
MQTT_URL = os.environ.get("MQTT_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
    HUEY: dict[str, Any] = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("WANGGE_HUEY_NAME", "wangge"),
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "wangge",
        "filename": str(HOME / "huey.sqlite3"),
        "immediate": False,
    }
if TESTING:
    # Tests run tasks inline unless a test starts a real consumer itself.
    HUEY["immediate"] = env_bool("WANGGE_HUEY_IMMEDIATE", True)
# One process serves pages, API, WebSocket and background work when embedded.
INPROCESS_WORKER = env_bool("WANGGE_INPROCESS_WORKER", default=not REDIS_URL)

# --- auth and security ----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "wangge.core.auth.WanggeModelBackend",
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING and not env_bool("WANGGE_REAL_HASHER")
    else [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "wangge.core.auth.CharacterClassValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# MLPS 2.0 level 3 defaults: 5 failures lock the account for 30 minutes; 30 idle minutes
# end a session or an API token.
AXES_FAILURE_LIMIT = env_int("WANGGE_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WANGGE_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout must not extend it, or a bot could keep an account locked forever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "wangge.core.auth.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Lockout is by username on purpose (MLPS: an account locks after repeated failures, from
# wherever they come); per-IP throttling of public endpoints is a separate control.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
IDLE_TIMEOUT = timedelta(minutes=env_int("WANGGE_IDLE_MINUTES", 30))
TOKEN_IDLE_TIMEOUT = timedelta(minutes=env_int("WANGGE_TOKEN_IDLE_MINUTES", 30))
TOKEN_MAX_AGE = timedelta(hours=env_int("WANGGE_TOKEN_MAX_HOURS", 12))

SESSION_COOKIE_AGE = int(IDLE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE = env_bool("WANGGE_SECURE", default=not (DEMO or DEV or TESTING or DEBUG))
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("WANGGE_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- i18n and time --------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
# Office hours on working days (local time); working-hour deadlines count only these.
WORK_HOURS = tuple(os.environ.get("WANGGE_WORK_HOURS", "08:30-17:30").split("-", 1))
USE_I18N = True
USE_TZ = True

# --- requests (cases) ----------------------------------------------------------------
# The SLA policy an emergency gets when its category names none for that priority.
CASES_EMERGENCY_POLICY = "emergency"
# Minutes a department has to report in after a whistle (吹哨报到).
CASES_WHISTLE_MINUTES = env_int("WANGGE_WHISTLE_MINUTES", 30)
# Days a reporter has to rate a resolved case before it is archived unrated, and days a
# rated case stays open for a supervisor before it is archived.
CASES_RATING_DAYS = env_int("WANGGE_RATING_DAYS", 7)
CASES_ARCHIVE_DAYS = env_int("WANGGE_ARCHIVE_DAYS", 3)
# "Me too": an open case of the same category within this distance and age is offered.
CASES_DUPLICATE_METRES = env_int("WANGGE_DUPLICATE_METRES", 150)
CASES_DUPLICATE_DAYS = env_int("WANGGE_DUPLICATE_DAYS", 14)
CASES_MAX_PHOTOS = 9
CASES_MAX_PHOTO_BYTES = 10 * 1024 * 1024

# --- notifications ----------------------------------------------------------------------
# Links in group-robot messages, texts and e-mails point here (no trailing slash needed).
WANGGE_BASE_URL = os.environ.get("WANGGE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The signature every text message and robot message starts with (短信签名, 【网格】).
NOTIFY_SIGNATURE = os.environ.get("WANGGE_NOTIFY_SIGNATURE", "网格")
# Seconds to wait for a robot webhook or the SMS gateway before the attempt counts as failed.
NOTIFY_HTTP_TIMEOUT = float(env_int("WANGGE_NOTIFY_TIMEOUT", 5))
# A worker holds an outbox event this long while it delivers it; past that another may retry.
OUTBOX_LEASE_SECONDS = env_int("WANGGE_OUTBOX_LEASE_SECONDS", 120)
_NOTIFY_LOCAL = DEMO or DEV or TESTING
# E-mail: printed to the console in demo, development and tests; otherwise sent by SMTP when
# WANGGE_EMAIL_HOST is set, and not sent at all when it is not.
EMAIL_TIMEOUT = env_int("WANGGE_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("WANGGE_EMAIL_FROM", "wangge <noreply@localhost>")
if _NOTIFY_LOCAL:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    NOTIFY_EMAIL = True
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ.get("WANGGE_EMAIL_HOST", "")
    EMAIL_PORT = env_int("WANGGE_EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("WANGGE_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("WANGGE_EMAIL_PASSWORD", "")
    EMAIL_USE_SSL = env_bool("WANGGE_EMAIL_SSL")
    EMAIL_USE_TLS = env_bool("WANGGE_EMAIL_TLS", default=not EMAIL_USE_SSL)
    NOTIFY_EMAIL = bool(EMAIL_HOST)
# Text messages: "console" logs them (masked number), "http" posts them to an SMS gateway,
# "off" sends none. Default: console in demo, development and tests; otherwise http when
# WANGGE_SMS_URL is set, else off.
SMS_URL = os.environ.get("WANGGE_SMS_URL", "")
SMS_KEY = os.environ.get("WANGGE_SMS_KEY", "")
SMS_KEY_HEADER = os.environ.get("WANGGE_SMS_KEY_HEADER", "X-Api-Key")
SMS_GATEWAY = (
    os.environ.get("WANGGE_SMS_GATEWAY", "console" if _NOTIFY_LOCAL else ("http" if SMS_URL else "off"))
    .strip()
    .lower()
)
if SMS_GATEWAY not in {"console", "http", "off"}:
    raise ImproperlyConfigured(f"WANGGE_SMS_GATEWAY must be console, http or off, not {SMS_GATEWAY!r}")
if SMS_GATEWAY == "http" and not SMS_URL:
    raise ImproperlyConfigured("WANGGE_SMS_GATEWAY=http needs WANGGE_SMS_URL")
# --- end of notifications ---------------------------------------------------------------

# --- static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Third-party JS and CSS come from npm packages installed into node_modules; nothing is
# copied into the repository. WANGGE_ASSETS_DIR points elsewhere for packaged installs.
ASSETS_DIR = Path(os.environ.get("WANGGE_ASSETS_DIR", SOURCE_ROOT / "node_modules"))
STATICFILES_DIRS: list[Any] = [
    PACKAGE_DIR / "static",
    ("vendor/leaflet", ASSETS_DIR / "leaflet" / "dist"),
    ("vendor/htmx", ASSETS_DIR / "htmx.org" / "dist"),
    ("vendor/echarts", ASSETS_DIR / "echarts" / "dist"),
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = HOME / "media"

# --- maps -----------------------------------------------------------------------------
# A tile URL template such as https://tiles.example/{z}/{x}/{y}.png; empty draws polygons
# on a plain background, so the map works offline.
MAP_TILE_URL = os.environ.get("WANGGE_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("WANGGE_MAP_TILE_ATTRIBUTION", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("WANGGE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "huey": {"level": "WARNING"},
        # httpx logs each request's URL, and a group robot's URL holds its token.
        "httpx": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
