"""Bazaar's only settings module: every value comes from the environment (see .env.example)."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

from shop.redis_roles import redis_roles

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is for development only; real environments set variables.
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# SECRET_KEY and DATABASE_URL have no default outside DEBUG: a production process must not
# start with a key everyone knows or against a database nobody chose.
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key-change-me")
    DATABASES = {
        "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/bazaar")
    }
else:
    SECRET_KEY = env.str("SECRET_KEY")
    DATABASES = {"default": env.db("DATABASE_URL")}

DATABASES["default"]["ATOMIC_REQUESTS"] = False  # transactions belong to services
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Search's typo tolerance: how close a query must be to a word of a product name for the
# trigram index to match it. 0.55 (pg_trgm's default is 0.6) lets one swapped pair of
# letters through ("kettel" finds "Kettle") while "mouse" still does not find "House".
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "options", "-c pg_trgm.word_similarity_threshold=0.55"
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    # Refresh tokens that were rotated or revoked (accounts/services/tokens.py).
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "shop.core",
    "accounts",
    "catalog",
    "shipping",
    "cart",
    "orders",
    "payments",
    "fulfilment",
    "reviews",
    "storefront",
    "backoffice",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, answered before anything else runs: no SSL redirect,
    # Host check, session, CSRF or page cache for a load balancer's probe (shop/core/health.py).
    "shop.core.health.ProbeMiddleware",
    # The request id (echoed, on every log line, carried into tasks), latency by route and
    # the access log line: outside everything else, so it times and tags all of it.
    "shop.core.metrics.RequestObservabilityMiddleware",
    # Next, so it sees every answer last: errors under /api/ and the webhooks are JSON.
    "shop.core.middleware.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside the page cache, so cached pages get the headers too (and a fresh nonce each).
    "shop.core.security.ContentSecurityPolicyMiddleware",
    "shop.core.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the page cache, so a cached page's per-visitor CSRF token gets its cookie.
    "django.middleware.csrf.CsrfViewMiddleware",
    # A session cookie no session key looks like (NUL and all) is no session: before the
    # page cache, which serves visitors without one, and before sessions look it up.
    "shop.core.middleware.SessionCookieShapeMiddleware",
    # Serves cached catalog pages to anonymous visitors before sessions, auth and views run.
    "shop.core.pagecache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.core.context_processors.shop",
                "cart.context_processors.cart",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
# The only backend: every authenticate() (log-in page, API token, admin, anything added
# later) goes through the log-in failure limit of accounts/services/login.py.
AUTHENTICATION_BACKENDS = ["accounts.backends.LimitedModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation: English is the source language, zh-hans sits beside it.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static and media files.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Media is served by Django itself unless a front proxy takes it over (SERVE_MEDIA=false).
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
# Uploaded product images: largest file and largest picture (width x height) accepted. The
# pixel limit is also Pillow's decompression-bomb limit in every process (catalog.apps), so
# no image, uploaded or not, is decoded beyond it.
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
PRODUCT_IMAGE_MAX_PIXELS = env.int("PRODUCT_IMAGE_MAX_PIXELS", default=25_000_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: a database per role (shop/redis_roles.py), so clearing the cache never drops a
# queued task. REDIS_URL alone configures all three: its database n holds the cache, n + 1
# the sessions' cache, n + 2 the Celery broker. REDIS_CACHE_URL, REDIS_SESSIONS_URL and
# CELERY_BROKER_URL each win when set (production: cache and sessions on an instance that
# evicts, the broker on one that never does). A role left without Redis (no REDIS_URL: the
# `make run` fallback on a machine with no Redis) gets a per-process cache, or tasks run
# in-process.
REDIS_URL = env.str("REDIS_URL", default="")
_redis = redis_roles(
    REDIS_URL,
    cache=env.str("REDIS_CACHE_URL", default=""),
    sessions=env.str("REDIS_SESSIONS_URL", default=""),
    broker=env.str("CELERY_BROKER_URL", default=""),
)
REDIS_CACHE_URL = _redis.cache
REDIS_SESSIONS_URL = _redis.sessions
# Every key the shop writes starts with it, so several sites (or the tests) can share a
# database and each deletes only its own keys.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="bazaar")


# A Redis that cannot be reached is a cache miss, never an error (shop/core/cache.py): each
# call gives up after CACHE_REDIS_TIMEOUT seconds, and after a failure a process leaves Redis
# alone for CACHE_REDIS_RETRY seconds, so a dead Redis does not add a timeout to every call.
CACHE_REDIS_TIMEOUT = env.float("CACHE_REDIS_TIMEOUT", default=0.5)
CACHE_REDIS_RETRY = env.float("CACHE_REDIS_RETRY", default=5.0)


def _cache(url: str, *, name: str) -> dict:
    if not url:
        # A store per alias, as in Redis: clearing the cache leaves the sessions' cache alone.
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}
    return {
        "BACKEND": "shop.core.cache.ResilientRedisCache",
        "LOCATION": url,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_connect_timeout": CACHE_REDIS_TIMEOUT,
            "socket_timeout": CACHE_REDIS_TIMEOUT,
            "retry_after": CACHE_REDIS_RETRY,
        },
    }


CACHES = {
    "default": _cache(REDIS_CACHE_URL, name="default"),
    "sessions": _cache(REDIS_SESSIONS_URL, name="sessions"),
}
# The database stays the sessions' source of truth: a sessions' cache that was evicted or
# flushed costs a query per visitor, never a log-out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"

CELERY_BROKER_URL = _redis.broker or "memory://"
CELERY_TASK_ALWAYS_EAGER = not _redis.broker
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Longer than any countdown or ETA we use, so Redis never redelivers a task still waiting.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3 * 60 * 60,
    # A webhook must still be answered while Redis is down: fail fast, the sweeper requeues.
    "socket_connect_timeout": 1,
    # Publishing connects through kombu's default channel, which otherwise retries for
    # CELERY_BROKER_CONNECTION_TIMEOUT with 2 s sleeps: one immediate retry, then give up.
    # (The worker passes its own broker_connection_* retry settings and is not affected.)
    "max_retries": 1,
    "interval_start": 0,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# The worker outlives a broker outage of any length (tests/test_broker_restart.py kills Redis
# under it): it keeps retrying, 2 s apart and up to 30 s, instead of exiting after the
# default 100 tries (about 45 minutes), and a worker started before Redis waits for it.
# Tasks in flight when the broker goes keep running (the default, despite Celery's warning):
# their ack is lost with the connection and Redis redelivers them after visibility_timeout,
# a duplicate our idempotent tasks absorb; cancelling them would delay them just as long.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # API.md: unpaid orders are cancelled by a task that runs at least once a minute.
    "orders-expire-unpaid": {"task": "orders.tasks.orders_expire_unpaid_task", "schedule": 30.0},
    "stock-drift-check": {"task": "orders.tasks.stock_drift_check_task", "schedule": 60.0 * 60},
    "order-confirmations-requeue": {
        "task": "orders.tasks.order_confirmations_requeue_task",
        "schedule": 5 * 60.0,
    },
    # Product images whose thumbnail task was lost (the broker was down when they were saved).
    "product-thumbnails-sweep": {
        "task": "catalog.tasks.product_thumbnails_sweep_task",
        "schedule": 5 * 60.0,
    },
    # Repairs any drift of the rating figures, at night.
    "ratings-recompute-all": {
        "task": "reviews.tasks.product_ratings_recompute_all_task",
        "schedule": crontab(hour=3, minute=17),
    },
    # The words search corrects typos against, recounted (catalog.search).
    "search-words-rebuild": {
        "task": "catalog.tasks.search_words_rebuild_task",
        "schedule": crontab(hour=3, minute=41),
    },
    "recommendations-compute": {
        "task": "reviews.tasks.recommendations_compute_task",
        "schedule": 60.0 * 60,
    },
    # Emails a broker or mail-server outage left unsent (shop.core.outbox).
    "outbox-emails-requeue": {
        "task": "shop.core.tasks.outbox_emails_requeue_task",
        "schedule": 2 * 60.0,
    },
    # Received returns whose refunds went through become refunded.
    "returns-settle": {"task": "fulfilment.tasks.returns_settle_task", "schedule": 60.0},
    # Expired refresh tokens and their chains: rows written at every log-in and refresh.
    "tokens-flush-expired": {
        "task": "accounts.tasks.tokens_flush_expired_task",
        "schedule": crontab(hour=4, minute=7),
    },
    # Provider callbacks stored while the broker was down (or whose task was lost).
    "webhook-events-requeue": {
        "task": "payments.tasks.webhook_events_requeue_task",
        "schedule": 60.0,
    },
}

# --- Email.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bazaar <shop@example.com>")
# The shop's address as shoppers reach it, for links in emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Seconds an SMTP connection may block; without it a silent mail server holds a worker forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Tries of one order confirmation (the task's retries and the sweeper's requeues together).
ORDER_CONFIRMATION_MAX_ATTEMPTS = env.int("ORDER_CONFIRMATION_MAX_ATTEMPTS", default=5)

# --- Security. Each of these defaults to true when DEBUG is false.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# How many reverse proxies in front of the site append to X-Forwarded-For (API.md: 0, the
# default, means the client address is the socket's and forwarded headers are ignored).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# X-Forwarded-Proto decides whether a request is HTTPS only when a proxy sets it: without
# one, any client could send the header and pass as secure.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT > 0 else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The site works without JavaScript and the admin and API docs load theirs from our static
# files, so nothing inline runs: a script in a page needs the request's nonce
# (`{% csp_nonce %}`), and styles come only from stylesheets (no style="" attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no page of the shop uses, switched off for every page (and for anything
# injected into one).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
}

# --- Shop.
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="USD")
ORDER_PAYMENT_TIMEOUT = env.int("ORDER_PAYMENT_TIMEOUT", default=1800)
MAX_LINE_QUANTITY = env.int("MAX_LINE_QUANTITY", default=99)
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=30)
REGISTER_RATE = env.str("REGISTER_RATE", default="30/hour")
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_WINDOW = 15 * 60
# Ceilings over the per (account, client address) limit above, in the same window: failures
# on one account from all addresses (past it, only addresses that have failed on it are
# refused) and failures from one address on all accounts (past it, that address is refused).
LOGIN_FAILURE_ACCOUNT_LIMIT = env.int("LOGIN_FAILURE_ACCOUNT_LIMIT", default=100)
LOGIN_FAILURE_ADDRESS_LIMIT = env.int("LOGIN_FAILURE_ADDRESS_LIMIT", default=100)
# TRUSTED_PROXY_COUNT (in the security block above) also decides the client address of
# every limit: shop/core/clientip.py.
REVIEWS_REQUIRE_APPROVAL = env.bool("REVIEWS_REQUIRE_APPROVAL", default=False)
# The Bayesian rating score: an average is pulled towards RATING_PRIOR_MEAN as if every
# product had RATING_PRIOR_WEIGHT more reviews of that value.
RATING_PRIOR_MEAN = Decimal(env.str("RATING_PRIOR_MEAN", default="3.0"))
RATING_PRIOR_WEIGHT = env.int("RATING_PRIOR_WEIGHT", default=10)
# How long an anonymous visitor may see a cached catalog page at most; a change to what a
# page shows makes it stale at once (within CATALOG_VERSION_TTL seconds in every process).
PAGE_CACHE_TIMEOUT = env.int("PAGE_CACHE_TIMEOUT", default=300)
CATALOG_VERSION_TTL = env.float("CATALOG_VERSION_TTL", default=1.0)
# Pages whose URL holds free text or amounts (searches, price ranges) stored per
# PAGE_CACHE_TIMEOUT at most: their URLs are countless, so they must not crowd out the rest
# (at ~25 KB a page, 500 is at most ~25 MB alive at once, two windows' worth).
PAGE_CACHE_OPEN_ENTRIES = env.int("PAGE_CACHE_OPEN_ENTRIES", default=500)
# Answers that show exact stock counts (the product API) are cached this long at most:
# a sale does not invalidate the whole catalog, only a variant's stock crossing zero does.
STOCK_CACHE_TIMEOUT = env.int("STOCK_CACHE_TIMEOUT", default=5)

# --- Payment providers and carriers. A provider is offered when its keys are set.
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Where the stripe library sends API calls; tests point it at a local fake Stripe.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
SANDBOX_WEBHOOK_SECRET = env.str(
    "SANDBOX_WEBHOOK_SECRET", default="sandbox-secret" if DEBUG else ""
)
# The sandbox pays without money: with DEBUG off it is offered only when switched on here.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# Carriers sign tracking callbacks with it (API.md); DEBUG's default lets the sandbox
# carrier run offline.
CARRIER_WEBHOOK_SECRET = env.str(
    "CARRIER_WEBHOOK_SECRET", default="carrier-secret" if DEBUG else ""
)

# --- REST API.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": (
        ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"]
        if DEBUG
        else ["rest_framework.renderers.JSONRenderer"]
    ),
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "shop.core.api.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "shop.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "shop.core.api.exception_handler",
    # Any DRF throttle reads the client address as shop/core/clientip.py does.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "SIGNING_KEY": SECRET_KEY,
    # A refresh hands out a new refresh token and blacklists the one used; tokens carry a
    # digest of the password hash, so changing the password ends every earlier token.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bazaar API",
    "DESCRIPTION": "Public REST API v1 of the Bazaar marketplace.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The docs page loads Swagger UI from our static files: it works offline and under the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Path parameters as shop.core.converters accepts them (a custom converter is a
    # string by default); schemathesis keeps to these when it fuzzes.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    },
    # Orders and payments both have a `status`; name the enums after their models.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "OrderPaymentStatusEnum": "orders.models.PaymentStatus",
        "PaymentAttemptStatusEnum": "payments.models.PaymentStatus",
        "ShipmentStatusEnum": "fulfilment.models.ShipmentStatus",
        "ReturnStatusEnum": "fulfilment.models.ReturnStatus",
        "CarrierEventStatusEnum": ["in_transit", "out_for_delivery", "delivered", "exception"],
    },
}

# --- Logging: everything to stdout, one line per record, each with the request id
# (shop/core/logs.py). `json`: one JSON object per line, for log collectors; `plain`: for
# people reading `make run` (the default with DEBUG).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
# One line per request (method, path, route, status, duration, request id) on `shop.access`,
# in place of gunicorn's access log, which knows neither the route nor the request id.
ACCESS_LOG = env.bool("ACCESS_LOG", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "shop.core.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "shop.core.logs.JsonFormatter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default "django" logger, whose own console handler would print
        # every record a second time beside the root handler.
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Probes and metrics (shop/core/health.py, shop/core/metrics.py).
# Checks whose failure makes /readyz answer 503 (all are run and reported). The shop serves
# without the cache's Redis and queues nothing lost without the broker (sweepers), so an
# operator may prefer `database` alone, keeping every web process in rotation through a
# Redis outage; the default takes a process out when any of the three is away.
READYZ_CHECKS = env.list("READYZ_CHECKS", default=["database", "cache", "broker"])
READYZ_TIMEOUT = env.float("READYZ_TIMEOUT", default=2.0)
# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; empty: 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_SCRAPE_TIMEOUT = env.float("METRICS_SCRAPE_TIMEOUT", default=3.0)
# A Celery worker serves its own metrics (tasks' counters, e.g. payments captured) on this
# port of METRICS_WORKER_ADDR; 0: not served. Keep it on an internal network.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
METRICS_WORKER_ADDR = env.str("METRICS_WORKER_ADDR", default="127.0.0.1")
