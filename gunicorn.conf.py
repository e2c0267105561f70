"""The production web server's settings (`gunicorn -c gunicorn.conf.py wsgi:app`).

Why these numbers: docs/architecture.md, "Timeouts and isolation". In short, every wait
inside a request is bounded by the app (Redis 1-1.5 s per call, a row lock 3 s, a
statement 10 s, a pooled connection 5 s, a database connect 5 s), so a stuck dependency
holds a thread for seconds; WORKERS x THREADS request slots per instance leave room for
the rest of the site while one kind of request is stuck. Each knob has an environment
variable so an instance can be sized without a new image.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Threads, not processes, for concurrency: requests spend their time waiting on
# PostgreSQL, Redis or a provider, not on the CPU. One process per core (WEB_CONCURRENCY,
# gunicorn's own variable; 2 for the 2-core instance this is sized for) keeps the CPU busy;
# more processes than cores only add switching (measured: 3 on 2 cores cost 5-15 % more CPU
# per request, bench/README.md "HTTP load"). A process costs ~150 MB. Set it to the
# instance's cores: inside a container the CPU count seen is the host's, not the quota.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Eight threads stay under SQLAlchemy's pool per process (5 + 10 overflow): no request
# waits for a database connection because of the thread count.

# A worker whose main loop stops for this long (not a slow request: a wedged process) is
# killed and replaced. Requests end well before: the statement timeout is 10 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On deploy/SIGTERM, requests in flight get this long to finish (longer than any request
# the timeouts allow) before the worker is stopped.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new
# connections over them. On one shared socket the first worker awake accepted nearly every
# keep-alive connection (31 of 32 measured, bench/README.md "HTTP load"): one process and
# its GIL served everything while the others idled.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") == "1"

# Idle keep-alive connections behind a proxy: short, each one holds a slot's socket.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Recycle a worker after this many requests (jittered so they do not restart together):
# bounds slow memory growth. Not 2000: a new worker re-imports the app (1-3 s of CPU), a few
# percent of the CPU of light pages at that rate (bench/README.md, "HTTP load").
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "2000"))

# No access log: the app writes one line per request with secret tokens redacted, and
# the client address comes from TRUSTED_PROXY_COUNT (ProxyFix), not --forwarded-allow-ips.
accesslog = None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
