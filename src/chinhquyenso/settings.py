"""The one settings module. Every value comes from the environment (see docs/cau-hinh.md).

Development and production run the same code paths; only the values differ.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from chinhquyenso import envparse as env
from chinhquyenso.core.private_files import create_private

SRC_DIR = Path(__file__).resolve().parent
PROJECT_DIR = SRC_DIR.parents[1]
VAR_DIR = Path(env.string("CQS_VAR_DIR", str(PROJECT_DIR / "var"))).resolve()

DEBUG = env.boolean("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY (or SECRET_KEY_FILE); otherwise a random key kept in var/ for this machine.

    Nothing secret is written in the code. Production sets SECRET_KEY explicitly.
    """
    value = env.raw("SECRET_KEY")
    if value:
        return value
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # Owner-only from creation; of processes starting together, all read the one key.
        create_private(path, secrets.token_urlsafe(64).encode())
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.string_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "chinhquyenso.core",
    "chinhquyenso.procedures",
    "chinhquyenso.dossiers",
    "chinhquyenso.signing",
    "chinhquyenso.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "chinhquyenso.core.middleware.VietnameseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "chinhquyenso.core.middleware.SecondFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chinhquyenso.urls"
WSGI_APPLICATION = "chinhquyenso.wsgi.application"
ASGI_APPLICATION = "chinhquyenso.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chinhquyenso.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database: SQLite (WAL, busy timeout) by default, anything else through DATABASE_URL.
_db = env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Parsed whatever the database, so a malformed value is caught before it is ever needed.
_sqlite_busy_timeout = env.integer("SQLITE_BUSY_TIMEOUT", 20, minimum=1)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE: a write transaction takes the lock at BEGIN, so concurrent writers wait
        # (busy timeout) instead of failing half-way with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": _sqlite_busy_timeout,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
# Keep connections open between requests (for SQLite this saves reopening the file and running
# the PRAGMAs on every request).
_db["CONN_MAX_AGE"] = env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0)
# A health check is one extra round trip ("SELECT 1") at the first query of every request; it
# saves the one failed request per worker thread that follows a database restart. Sites whose
# database never restarts under load (or that measure the bare cost of a request) may turn it off.
_db["CONN_HEALTH_CHECKS"] = env.boolean("DATABASE_CONN_HEALTH_CHECKS", True)
# Server-side prepared statements for the few hot reads that prepare their own, under their own
# name (the public lookup, dossiers/public.py). Django's cursors bind on the client and never
# prepare; psycopg's automatic preparing stays off (its DEALLOCATE ALL after a ROLLBACK would
# drop ours too). Turn off behind PgBouncer older than 1.21 in transaction mode, which cannot
# keep prepared statements.
CQS_PREPARED_STATEMENTS = env.boolean("DATABASE_PREPARED_STATEMENTS", True)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: per process by default; production points CACHE_URL at Redis so nodes share it.
_cache_url = env.raw("CACHE_URL")
if _cache_url:
    import environ as _environ

    try:
        CACHES = {"default": _environ.Env.cache_url_config(_cache_url)}
    except Exception as exc:  # noqa: BLE001
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"Biến môi trường CACHE_URL không hợp lệ: {exc}") from exc
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication: Argon2, a second factor for leaders and administrators, lock-out.
AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

AXES_FAILURE_LIMIT = env.integer("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env.integer("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env.boolean("AXES_ENABLED", True)

OTP_TOTP_ISSUER = env.string("OTP_TOTP_ISSUER", "Chính quyền số")

SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Local HTTP demo needs plain cookies; production behind HTTPS sets SECURE_COOKIES=true.
SESSION_COOKIE_SECURE = env.boolean("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "chinhquyenso.core.views.errors.csrf_failure"
if env.boolean("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Language and time: Vietnamese first, times stored in UTC, shown in Asia/Ho_Chi_Minh.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
DATETIME_INPUT_FORMATS = ["%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
FORMAT_MODULE_PATH = ["chinhquyenso.formats"]

# --- Static files (vendored Bootstrap and htmx, no CDN) and stored files.
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "files")},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False
FILES_MAX_UPLOAD_BYTES = env.integer("FILES_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Background work: Django's tasks API (django-tasks backport), database backend.
TASKS = {
    "default": {
        "BACKEND": env.choice(
            "TASKS_BACKEND",
            "django_tasks_db.DatabaseBackend",
            {
                "django_tasks_db.DatabaseBackend",
                "django_tasks.backends.immediate.ImmediateBackend",
                "django_tasks.backends.dummy.DummyBackend",
            },
        ),
    }
}

# --- Notifications.
# Default: every e-mail is written as a file under var/mail (nothing leaves the machine);
# EMAIL_URL=smtp://user:pass@host:587 (or smtp+tls://, smtps://) sends through SMTP.
_email = (
    env.email("EMAIL_URL", "")
    if env.raw("EMAIL_URL")
    else {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"}
)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Chính quyền số <no-reply@localhost>")
SMS_BACKEND = env.string("SMS_BACKEND", "chinhquyenso.core.sms.SimulatorGateway")
SMS_BRANDNAME = env.string("SMS_BRANDNAME", "CQSO")

# --- Logging: structured, never passwords or keys.
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "level": LOG_LEVEL}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Libraries that narrate every step at INFO (WeasyPrint renders each receipt PDF).
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # One INFO line per OCSP/CRL fetch step, for every certificate of every validation.
        "pyhanko_certvalidator": {"level": "WARNING"},
    },
}

# --- Platform.
CQS_CALENDAR_CACHE_SECONDS = env.integer("CQS_CALENDAR_CACHE_SECONDS", 60, minimum=0)
# How long a satisfaction-rating link (the QR code at the desk) stays valid.
CQS_RATING_LINK_SECONDS = env.integer("CQS_RATING_LINK_SECONDS", 2 * 60 * 60, minimum=60)
CQS_PUBLIC_BASE_URL = env.string("CQS_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# One-stop shop: dossiers received after this time start their clock the next working day.
CQS_DOSSIER_CUTOFF = env.clock_time("CQS_DOSSIER_CUTOFF", "15:00")
CQS_PUBLIC_LOOKUP_PER_MINUTE = env.integer("CQS_PUBLIC_LOOKUP_PER_MINUTE", 30, minimum=0)
CQS_TRUSTED_PROXY_COUNT = env.integer("CQS_TRUSTED_PROXY_COUNT", 0, minimum=0)
CQS_POSTAL_BACKEND = env.string(
    "CQS_POSTAL_BACKEND", "chinhquyenso.dossiers.postal.SimulatorGateway"
)

# --- Digital signatures (issue #4, docs/cau-hinh.md). Offline is normal: fetching is opt-in.
SIGNING_TSA_URL = env.string("SIGNING_TSA_URL", "")
SIGNING_FETCH_REVOCATION = env.boolean("SIGNING_FETCH_REVOCATION", False)
SIGNING_FETCH_TIMEOUT = env.integer("SIGNING_FETCH_TIMEOUT", 10, minimum=1)

# --- Organisation seals on the forms the server issues (signing/seal.py, docs/cau-hinh.md).
# Empty: VAR_DIR/pki/seals. PKCS#11 (HSM): library, token label and a file holding the PIN.
SIGNING_SEAL_DIR = env.string("SIGNING_SEAL_DIR", "")
SIGNING_SEAL_PKCS11_LIB = env.string("SIGNING_SEAL_PKCS11_LIB", "")
SIGNING_SEAL_TOKEN = env.string("SIGNING_SEAL_TOKEN", "")
SIGNING_SEAL_PIN_FILE = env.string("SIGNING_SEAL_PIN_FILE", "")
# Officials' USB token / HSM for "Ký số kết quả" (key label = the official's user name).
SIGNING_PKCS11_LIB = env.string("SIGNING_PKCS11_LIB", "")
SIGNING_PKCS11_TOKEN = env.string("SIGNING_PKCS11_TOKEN", "")
# Remote signing (ký số từ xa, signing/remote.py): the provider's CSC v2 base URL, the Bearer
# token it issued to this system (use SIGNING_REMOTE_TOKEN_FILE), how long a holder may take to
# confirm on the phone.
SIGNING_REMOTE_URL = env.string("SIGNING_REMOTE_URL", "")
SIGNING_REMOTE_TOKEN = env.string("SIGNING_REMOTE_TOKEN", "")
SIGNING_REMOTE_CONFIRM_SECONDS = env.integer("SIGNING_REMOTE_CONFIRM_SECONDS", 120, minimum=5)
