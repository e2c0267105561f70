"""Settings, read from the environment only (12-factor). `.env.example` lists every key."""
from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import urlsplit


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgres:// URLs from platforms; always talk through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Read at create_app() time so tests and the CLI can set the environment first."""

    def __init__(self) -> None:
        self.ENV = os.environ.get("CRM_ENV", "development")  # development | production | test
        self.DEBUG = False
        self.TESTING = self.ENV == "test"
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or (
            None if self.ENV == "production" else "dev-only-secret-key-change-me"
        )
        self.SECRETS_KEY = os.environ.get("SECRETS_KEY", "")
        self.DATABASE_URL = os.environ.get("DATABASE_URL", "")
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.SQLALCHEMY_DATABASE_URI = sqlalchemy_url(self.DATABASE_URL) if self.DATABASE_URL else ""
        # Timeouts everywhere a request waits (docs/architecture.md, "Timeouts and isolation").
        # connect_timeout: a database host that drops packets fails a connect in seconds;
        # pool_timeout: a request waits that long for a free pooled connection, then 503.
        self.DB_CONNECT_TIMEOUT_S = int(os.environ.get("DB_CONNECT_TIMEOUT_S", "5"))
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": True,
            "pool_timeout": float(os.environ.get("DB_POOL_TIMEOUT_S", "5")),
            "connect_args": {"connect_timeout": self.DB_CONNECT_TIMEOUT_S},
        }
        # PostgreSQL session timeouts, set per connection by who uses it (app.database_timeouts in app/__init__.py):
        # a web request gives up on a row lock after DB_LOCK_TIMEOUT_MS (409/503 "busy, try
        # again") and on any statement after DB_STATEMENT_TIMEOUT_MS; a job (RQ) waits
        # longer; the CLI (migrations, backups) keeps the server's defaults. 0: no timeout.
        self.DB_LOCK_TIMEOUT_MS = int(os.environ.get("DB_LOCK_TIMEOUT_MS", "3000"))
        self.DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "10000"))
        self.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = int(os.environ.get("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "30000"))
        self.DB_JOB_LOCK_TIMEOUT_MS = int(os.environ.get("DB_JOB_LOCK_TIMEOUT_MS", "30000"))
        self.DB_JOB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_JOB_STATEMENT_TIMEOUT_MS", "300000"))
        self.DB_JOB_IDLE_IN_TRANSACTION_TIMEOUT_MS = int(
            os.environ.get("DB_JOB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "600000"))
        # Every Redis client the app makes (queue, limiter): a frozen Redis costs a request
        # about this long, never minutes (app.extensions.redis_options).
        self.REDIS_CONNECT_TIMEOUT_S = float(os.environ.get("REDIS_CONNECT_TIMEOUT_S", "1"))
        self.REDIS_SOCKET_TIMEOUT_S = float(os.environ.get("REDIS_SOCKET_TIMEOUT_S", "1.5"))
        self.SQLALCHEMY_RECORD_QUERIES = False
        # Optional: a read replica the reports read from (app.reports.reads); the primary when unset.
        self.DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
        if self.DATABASE_REPLICA_URL:
            self.SQLALCHEMY_BINDS = {"replica": sqlalchemy_url(self.DATABASE_REPLICA_URL)}

        local = self.ENV != "production"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", not local)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # __Host-: the browser keeps it only if Secure, Path=/ and without Domain (no subdomain
        # or plain-http page can set or shadow it). Production requires Secure.
        self.SESSION_COOKIE_NAME = "crm_session" if local else "__Host-crm_session"
        self.SESSION_COOKIE_PATH = "/"
        self.SESSION_COOKIE_DOMAIN = None
        self.REMEMBER_COOKIE_NAME = "remember_token" if local else "__Host-remember_token"
        self.REMEMBER_COOKIE_PATH = "/"
        self.REMEMBER_COOKIE_DOMAIN = None
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_DURATION = timedelta(days=14)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
        self.PREFERRED_URL_SCHEME = "http" if local else "https"
        self.SERVER_NAME = os.environ.get("SERVER_NAME") or None
        # Every absolute URL (e-mailed links, Stripe redirects, the sandbox's webhook) is
        # built from it, never from the request's Host header. Required in production.
        self.APP_BASE_URL = os.environ.get("APP_BASE_URL", "" if not local else "http://127.0.0.1:5000")

        # Every request body; a view may allow more or less with app.security.body_limit.
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024)))

        self.WTF_CSRF_ENABLED = _bool("WTF_CSRF_ENABLED", True)
        self.WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
        self.WTF_CSRF_HEADERS = ["X-CSRFToken"]

        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL.replace("unix://", "redis+unix://", 1) or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = False
        # Redis away or frozen: each process counts in memory until it is back (logged by
        # Flask-Limiter), and a storage error never fails the request (sign-in keeps working).
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        # Failed sign-ins are counted per (e-mail, client address) and per client address, so
        # a stranger's guesses never lock the owner out. The per-e-mail limit is high: only a
        # distributed attack reaches it, and then the owner is e-mailed a link that unlocks
        # sign-in on their browser (app.auth.throttle).
        self.LOGIN_LIMIT_PER_EMAIL_IP = os.environ.get("LOGIN_LIMIT_PER_EMAIL_IP", "5 per 5 minutes")
        self.LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 5 minutes")
        self.LOGIN_LIMIT_PER_EMAIL = os.environ.get("LOGIN_LIMIT_PER_EMAIL", "50 per hour")
        self.LOGIN_UNLOCK_TTL_MINUTES = int(os.environ.get("LOGIN_UNLOCK_TTL_MINUTES", "60"))

        self.INVITE_TTL_HOURS = int(os.environ.get("INVITE_TTL_HOURS", "72"))
        # Voicemail-drop audio files (app.inbox.calls.voicemail): a directory every web
        # instance shares; empty = <instance>/voicemail.
        self.VOICEMAIL_DIR = os.environ.get("VOICEMAIL_DIR", "")
        # List exports (app.reports.export_jobs): above this many rows a CSV is written by a job
        # (progress, then a download link) instead of streamed; its files live in EXPORT_DIR (a
        # directory the web instances and workers share; empty = <instance>/exports) for
        # EXPORT_KEEP_HOURS; the job reports its progress every EXPORT_PAGE rows.
        self.EXPORT_JOB_THRESHOLD = int(os.environ.get("EXPORT_JOB_THRESHOLD", "20000"))
        self.EXPORT_DIR = os.environ.get("EXPORT_DIR", "")
        self.EXPORT_KEEP_HOURS = int(os.environ.get("EXPORT_KEEP_HOURS", "24"))
        self.EXPORT_PAGE = int(os.environ.get("EXPORT_PAGE", "1000"))

        # The development stand-ins (outbox, sandbox) are refused in production.
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "outbox" if local else "smtp")
        self.SMS_BACKEND = os.environ.get("SMS_BACKEND", "outbox" if local else "none")
        self.PAYMENTS_BACKEND = os.environ.get("PAYMENTS_BACKEND", "sandbox" if local else "stripe")
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "GPS Leaders <sales@example.com>")
        self.SMTP_HOST = os.environ.get("SMTP_HOST", "")
        self.SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
        self.SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
        self.SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
        self.SMTP_STARTTLS = _bool("SMTP_STARTTLS", True)
        # How many proxies in front of the app may set X-Forwarded-For (0: ignore it).
        self.TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
        self.STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
        self.CALCOM_WEBHOOK_SECRET = os.environ.get("CALCOM_WEBHOOK_SECRET", "")
        self.SMS_WEBHOOK_SECRET = os.environ.get("SMS_WEBHOOK_SECRET", "")
        # An SMS left SENDING this long (its worker died mid-send) is looked up at the gateway.
        self.SMS_RECONCILE_AFTER_S = int(os.environ.get("SMS_RECONCILE_AFTER_S", "120"))
        # An e-mail left SENDING this long is looked up (Gmail's Sent, the outbox); one sent
        # through SMTP, which cannot be looked up, is handed to a person after the second.
        self.EMAIL_RECONCILE_AFTER_S = int(os.environ.get("EMAIL_RECONCILE_AFTER_S", "120"))
        self.EMAIL_SMTP_UNKNOWN_AFTER_S = int(os.environ.get("EMAIL_SMTP_UNKNOWN_AFTER_S", "900"))
        self.GMAIL_PUSH_SECRET = os.environ.get("GMAIL_PUSH_SECRET", "")
        # Gmail push: the Pub/Sub topic each connected mailbox is watched into (users.watch,
        # "projects/<project>/topics/<topic>"); unset, mailboxes are only polled (GMAIL_SYNC_EVERY_S).
        self.GMAIL_PUBSUB_TOPIC = os.environ.get("GMAIL_PUBSUB_TOPIC", "")
        # Gmail (app/inbox/email/): the OAuth client reps connect their mailbox with, and where
        # Google's endpoints are (tests point them at a local server).
        self.GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID", "")
        self.GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET", "")
        self.GOOGLE_AUTH_URI = os.environ.get("GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
        self.GOOGLE_TOKEN_URI = os.environ.get("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
        self.GMAIL_API_BASE = os.environ.get("GMAIL_API_BASE", "https://gmail.googleapis.com/")
        # A stale history id (404) resyncs this many days of the inbox.
        self.GMAIL_RESYNC_DAYS = int(os.environ.get("GMAIL_RESYNC_DAYS", "7"))
        self.GMAIL_SYNC_EVERY_S = int(os.environ.get("GMAIL_SYNC_EVERY_S", "120"))
        self.QBO_CLIENT_ID = os.environ.get("QBO_CLIENT_ID", "")
        self.QBO_CLIENT_SECRET = os.environ.get("QBO_CLIENT_SECRET", "")
        self.QBO_WEBHOOK_VERIFIER = os.environ.get("QBO_WEBHOOK_VERIFIER", "")
        # sandbox | production: which Intuit company the app connects to (app/quickbooks)
        self.QBO_ENVIRONMENT = os.environ.get("QBO_ENVIRONMENT", "sandbox")
        # Tests only: a local QuickBooks server (its discovery document and API) instead of Intuit's
        self.QBO_BASE_URL = os.environ.get("QBO_BASE_URL", "")
        self.QBO_REQUESTS_PER_MINUTE = int(os.environ.get("QBO_REQUESTS_PER_MINUTE", "500"))
        self.QBO_REQUESTS_PER_SECOND = int(os.environ.get("QBO_REQUESTS_PER_SECOND", "10"))
        self.QBO_BATCHES_PER_MINUTE = int(os.environ.get("QBO_BATCHES_PER_MINUTE", "40"))
        self.QBO_BATCH_ITEMS = int(os.environ.get("QBO_BATCH_ITEMS", "30"))  # operations per batch request
        self.QBO_STUCK_AFTER_S = int(os.environ.get("QBO_STUCK_AFTER_S", "120"))
        self.QBO_REFUND_ACCOUNT_ID = os.environ.get("QBO_REFUND_ACCOUNT_ID", "")  # refunds paid from

        # Sequences (app/sequences): the engine's batch (its runs stay locked until the batch
        # commits: a reply's stop hook waits that long), the time zone when a contact's is unknown, and the Plusvibe adapter (off by default: "none" or "http").
        self.SEQUENCE_BATCH = int(os.environ.get("SEQUENCE_BATCH", "50"))
        self.SEQUENCE_DEFAULT_TIMEZONE = os.environ.get("SEQUENCE_DEFAULT_TIMEZONE", "America/New_York")
        # Channel limits: a rep's phone sends a sequence text every N seconds at most; the
        # sending mailbox takes at most N sequence e-mails a day (Gmail Workspace: 2,000).
        self.SEQUENCE_SMS_INTERVAL_S = float(os.environ.get("SEQUENCE_SMS_INTERVAL_S", "5"))
        self.SEQUENCE_EMAIL_DAILY_CAP = int(os.environ.get("SEQUENCE_EMAIL_DAILY_CAP", "2000"))
        self.PLUSVIBE_BACKEND = os.environ.get("PLUSVIBE_BACKEND", "none")
        self.PLUSVIBE_API_URL = os.environ.get("PLUSVIBE_API_URL", "https://api.plusvibe.ai/api/v1")
        self.PLUSVIBE_API_KEY = os.environ.get("PLUSVIBE_API_KEY", "")
        self.PLUSVIBE_WORKSPACE_ID = os.environ.get("PLUSVIBE_WORKSPACE_ID", "")

        self.RQ_QUEUES = ["default", "mail", "sms", "billing", "import", "scoring"]
        # How fast a dead worker's jobs and scheduler are taken over (seconds; app/worker.py).
        self.WORKER_TTL = int(os.environ.get("WORKER_TTL", "30"))
        self.JOB_HEARTBEAT_SECONDS = int(os.environ.get("JOB_HEARTBEAT_SECONDS", "5"))
        self.JOB_ABANDONED_AFTER = int(os.environ.get("JOB_ABANDONED_AFTER", "30"))
        self.SCHEDULER_DEAD_AFTER = int(os.environ.get("SCHEDULER_DEAD_AFTER", "20"))
        self.WORKER_CHECK_SECONDS = int(os.environ.get("WORKER_CHECK_SECONDS", "10"))
        self.PERIODIC_RESULT_TTL = int(os.environ.get("PERIODIC_RESULT_TTL", "500"))
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


DEVELOPMENT_BACKENDS = {"MAIL_BACKEND": "outbox", "SMS_BACKEND": "outbox", "PAYMENTS_BACKEND": "sandbox"}
PRODUCTION_BACKENDS = {"MAIL_BACKEND": ("smtp", "gmail"), "SMS_BACKEND": ("android_sms_gateway", "none"), "PAYMENTS_BACKEND": ("stripe",)}
# What each production backend cannot run without.
BACKEND_SETTINGS = {
    ("PAYMENTS_BACKEND", "stripe"): ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"),
    ("MAIL_BACKEND", "smtp"): ("SMTP_HOST", "MAIL_FROM"),
    ("MAIL_BACKEND", "gmail"): ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "MAIL_FROM"),
    ("SMS_BACKEND", "android_sms_gateway"): ("SMS_WEBHOOK_SECRET",),
}


def production_problems(config) -> list[str]:
    """Why this configuration must not serve production (empty: it may). Like SECRET_KEY,
    every backend's secrets are required up front, and no development stand-in runs."""
    problems = [f"{key} must be set in production" for key in ("SECRET_KEY", "SECRETS_KEY")
                if not config.get(key)]
    base = urlsplit(config.get("APP_BASE_URL") or "")
    if base.scheme not in ("http", "https") or not base.netloc:
        problems.append("APP_BASE_URL must be set in production to the app's public address "
                        "(e.g. https://crm.example.com): every absolute link is built from it")
    for setting, allowed in PRODUCTION_BACKENDS.items():
        name = (config.get(setting) or "").lower()
        if name == DEVELOPMENT_BACKENDS[setting]:
            problems.append(f"{setting}={name} is a development stand-in and never runs in production "
                            f"(use {' or '.join(allowed)})")
        elif name not in allowed:
            problems.append(f"{setting}={name!r} is unknown (use {' or '.join(allowed)})")
        for key in BACKEND_SETTINGS.get((setting, name), ()):
            if not config.get(key):
                problems.append(f"{setting}={name} needs {key}")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE must be true in production (serve it over HTTPS)")
    for name, domain in (("SESSION_COOKIE_NAME", "SESSION_COOKIE_DOMAIN"),
                         ("REMEMBER_COOKIE_NAME", "REMEMBER_COOKIE_DOMAIN")):
        if str(config.get(name, "")).startswith("__Host-") and config.get(domain):
            problems.append(f"a __Host- cookie ({name}) cannot have {domain}")
    if config.get("SMTP_USERNAME") and not config.get("SMTP_PASSWORD"):
        problems.append("SMTP_USERNAME is set without SMTP_PASSWORD")
    if config.get("GOOGLE_CLIENT_ID") and not config.get("GOOGLE_CLIENT_SECRET"):
        problems.append("GOOGLE_CLIENT_ID (Gmail) is set without GOOGLE_CLIENT_SECRET")
    if config.get("GMAIL_PUBSUB_TOPIC") and not config.get("GMAIL_PUSH_SECRET"):
        problems.append("GMAIL_PUBSUB_TOPIC (Gmail push) needs GMAIL_PUSH_SECRET: the push subscription's "
                        "endpoint carries it (/webhooks/gmail?token=...)")
    if config.get("QBO_CLIENT_ID"):
        problems.extend(f"QuickBooks (QBO_CLIENT_ID) needs {key}"
                        for key in ("QBO_CLIENT_SECRET", "QBO_WEBHOOK_VERIFIER") if not config.get(key))
        if (config.get("QBO_ENVIRONMENT") or "") not in ("sandbox", "production"):
            problems.append("QBO_ENVIRONMENT must be sandbox or production")
    if config.get("QBO_BASE_URL"):
        problems.append("QBO_BASE_URL points QuickBooks at a local test server and never runs in production")
    return problems
