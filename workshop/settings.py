"""Settings, all from the environment, with defaults that run embedded.

With nothing set, Attune runs on SQLite under var/ and the in-memory channel
layer in one process. DATABASE_URL and REDIS_URL switch to PostgreSQL and
channels-redis, so several workers can serve the same boards.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ATTUNE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


# Under pytest the suite supplies what production must configure (a secret key).
TESTING = "pytest" in sys.modules
DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-key-only-for-debug-and-tests"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
if not ALLOWED_HOSTS and TESTING:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
if not DEBUG and "*" in ALLOWED_HOSTS:
    # Channels checks a websocket's Origin against these hosts: with "*" any site a
    # participant visits could open their board's socket with their session.
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must name this server's hosts (e.g. attune.example.com), not '*', "
        "when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "django_htmx",
    "template_partials",
    "workshop",
    "sessions.apps.LiveSessionsConfig",
    "exports",
]

MIDDLEWARE = [
    "workshop.middleware.ReleaseConnectionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "workshop.middleware.DatabaseDroppedMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workshop.urls"
ASGI_APPLICATION = "workshop.asgi.application"
WSGI_APPLICATION = None

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
                "workshop.context_processors.site",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Write-ahead log: pages keep reading (the broadcaster, catch-ups) while a write
# commits, and a commit appends to the log instead of syncing the database file twice
# (0.9 ms to 0.01 ms a commit here). NORMAL is safe in WAL mode: a power cut may lose
# the last commits, never corrupt the file.
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE",
                  "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI each request runs in a fresh thread, so persistent connections
        # never get reused: a pool saves a new connection (~8 ms here) per request.
        DATABASES["default"]["OPTIONS"] = {"pool": {
            "min_size": 2, "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "20")),
        }}
        # Django hands psycopg_pool a connection check only with health checks on: a
        # connection the server terminated is then replaced on checkout, not a 500.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "workshop.sqlite",  # Django's, its connections reused: workshop/sqlite
            "NAME": str(VAR_DIR / "attune.sqlite3"),
            "OPTIONS": SQLITE_OPTIONS,
            # Django's default, said outright: pytest-django recognises an in-memory
            # test database by this or by Django's own ENGINE name.
            "TEST": {"NAME": ":memory:"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# A socket that crashed without leaving its groups (a SIGKILLed worker) stays a member
# this long; open sockets renew their membership on every heartbeat (15 s).
GROUP_EXPIRY = int(os.environ.get("CHANNEL_GROUP_EXPIRY", "180"))
if REDIS_URL:
    from redis.exceptions import ConnectionError as RedisConnectionError

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "sessions.layer.TwoTripRedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, the same as the layer's
                # blocking-pop window, which kills every idle socket with 1011; and
                # its pool stops at 100 connections, which fails connect bursts.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "max_connections": int(os.environ.get("REDIS_MAX_CONNECTIONS", "1000")),
                        # After Redis restarts, every pooled connection is dead and fails
                        # its next command once: without a retry each of those failures
                        # closes a socket (4013), and pages took ~10 s to all be back.
                        # One immediate retry on a fresh connection hides them; while
                        # Redis is down the retry fails at once too.
                        "retry_on_error": [RedisConnectionError],
                    }
                ],
                "capacity": int(os.environ.get("CHANNEL_CAPACITY", "500")),
                "expiry": 60,
                "group_expiry": GROUP_EXPIRY,
                "prefix": os.environ.get("CHANNEL_PREFIX", "attune"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 500, "expiry": 60, "group_expiry": GROUP_EXPIRY},
        }
    }

# Render and send broadcasts on a thread of their own (sessions/broadcast.py), so a
# write's answer does not wait on the fan-out. Off in the test process, whose tests
# read frames in step with their writes; the servers the tests start have it on.
BROADCAST_THREAD = env_bool("BROADCAST_THREAD", not TESTING)
# When a session ends, print its roadmap in the background (exports/pdf.py), so that the
# download that usually follows comes from the PDF cache instead of a 2-4 s render.
EXPORTS_PDF_PRINT_AHEAD = env_bool("EXPORTS_PDF_PRINT_AHEAD", not TESTING)

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Catch-up answers, per process (sessions/fragments.py): after an outage the pages
    # of a board reconnect together and ask for the same frames.
    "catch_up": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "catch-up",
        "TIMEOUT": 30,
        "OPTIONS": {"MAX_ENTRIES": 64},
    },
    # The board page's cards, by the last change to the board's cards and by who sees
    # them alike (templates/board/_list.html): a room joining a big board draws them once. Per
    # process; an entry is one list's cards (about 1.8 KB a card) or add form, for one
    # audience: about 45 for a board, and one per author while a list is written privately.
    "board_cards": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "board-cards",
        "TIMEOUT": 600,
        "OPTIONS": {"MAX_ENTRIES": 128},
    },
    # Roadmap PDFs by board version (exports/pdf.py): an unchanged board is served
    # without printing it again. On disk, so every worker shares it.
    "pdf": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache" / "pdf"),
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 200},
    },
}
# Rate limits' counters (workshop/limits.py): shared by every worker through Redis.
CACHES["limits"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
     "KEY_PREFIX": os.environ.get("CHANNEL_PREFIX", "attune") + "-limits",
     # A counter is one tiny command: a Redis that hangs must not hold the write up.
     "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    if REDIS_URL else
    {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits"})
if TESTING:
    # A test's board may reuse an earlier test's id and version: kept per test only.
    CACHES["pdf"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                     "LOCATION": "pdf"}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def env_rate(name: str, default: str) -> tuple[int, int]:
    """"N/S": at most N in any S seconds (workshop/limits.py)."""
    count, seconds = os.environ.get(name, default).split("/")
    return int(count), int(seconds)


RATE_LIMITS = {
    "writes": env_rate("LIMIT_WRITES", "30/3"),  # per person: bursts of 30, 10/s sustained
    # Join forms per client address: a room of 200 behind one office NAT joins at once.
    "joins": env_rate("LIMIT_JOINS", "300/60"),
    "joins_per_link": env_rate("LIMIT_JOINS_PER_LINK", "600/60"),  # per join link
    "bad_links": env_rate("LIMIT_BAD_LINKS", "20/300"),  # unknown links per address
}
if TESTING:
    # The suite writes far faster than people; the tests of each limit set their own.
    RATE_LIMITS = {name: (1_000_000, seconds) for name, (_, seconds) in RATE_LIMITS.items()}
# What one socket may ask (sessions/consumers.py): pings closer together than this get
# no answer (a page pings every 15 s); catch-ups start at least this far apart, what is
# asked meanwhile folded into the next one.
SOCKET_PING_GAP = float(os.environ.get("SOCKET_PING_GAP", "5"))
SOCKET_CATCH_UP_GAP = float(os.environ.get("SOCKET_CATCH_UP_GAP", "0.5"))
if TESTING:
    SOCKET_PING_GAP = 0.0  # the live state machine pings at will; its test sets its own
# Items one participant may add to one list (facilitators are not limited).
MAX_ITEMS_PER_PERSON = int(os.environ.get("MAX_ITEMS_PER_PERSON", "100"))
# Sockets one person may have open on one board (tabs and devices).
MAX_SOCKETS_PER_PERSON = int(os.environ.get("MAX_SOCKETS_PER_PERSON", "8"))

# Logins: django-axes. Five wrong passwords for one username from one address lock that
# pair out for 15 minutes (not the username alone: a stranger could then lock a
# facilitator out of their own workshop).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "workshop.views.login_locked_out"
# The address daphne gives the request (from the proxy's X-Forwarded-For only with
# --proxy-headers); a client's own headers are not trusted.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]

# Whether anyone may create a facilitator account (accounts/signup/). Off: accounts are
# made by an administrator (`manage.py createsuperuser`, the admin).
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", True)
if TESTING:
    # The suite signs people in hundreds of times; a slow hash buys nothing there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Serve static files straight from the source folders (development, tests, benchmarks);
# production runs collectstatic and serves the hashed, compressed copies.
SERVE_STATIC_FROM_SOURCE = env_bool("SERVE_STATIC_FROM_SOURCE", DEBUG or TESTING)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not SERVE_STATIC_FROM_SOURCE
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = SERVE_STATIC_FROM_SOURCE
# Find files when asked rather than listing them all whenever the middleware starts:
# the test client starts it for every client (a third of the fast tests' time).
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# The most a request body may carry (workshop/bodylimit.py); the JSON import takes its
# own, larger limit (EXPORTS_IMPORT_MAX_MB). Set the proxy's limit to the larger one.
REQUEST_BODY_MAX_KB = int(os.environ.get("REQUEST_BODY_MAX_KB", "1024"))
EXPORTS_IMPORT_MAX_MB = int(os.environ.get("EXPORTS_IMPORT_MAX_MB", "5"))
# A data sample profiled in the room (workshop.profiler): read in memory, never stored.
PROFILE_SAMPLE_MAX_MB = int(os.environ.get("PROFILE_SAMPLE_MAX_MB", "20"))
# Django's ASGI handler spools a request body past this size to a temporary file
# before any view runs: at the largest body any path accepts (workshop.bodylimit, which
# refuses larger ones first), no body ever goes to disk, a data sample included.
FILE_UPLOAD_MAX_MEMORY_SIZE = max(REQUEST_BODY_MAX_KB * 1024,
                                  EXPORTS_IMPORT_MAX_MB * 2**20 + 64 * 1024,
                                  2 * PROFILE_SAMPLE_MAX_MB * 2**20 + 64 * 1024)

# Every page may run and style only what this server sends as files: no inline script,
# handler or style attribute (static/js/attune.js does the confirmations), nothing from
# elsewhere; the board's socket is on this origin too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("BEHIND_TLS_PROXY")
# Behind TLS, browsers are told to come back only over HTTPS (HSTS) and plain HTTP is
# redirected; both can be turned down for a first deployment (HSTS_SECONDS=0).
SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", env_bool("BEHIND_TLS_PROXY"))
SECURE_HSTS_SECONDS = int(os.environ.get(
    "HSTS_SECONDS", str(365 * 24 * 3600) if env_bool("BEHIND_TLS_PROXY") else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
