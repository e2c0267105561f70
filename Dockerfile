# One image for every process: web (gunicorn), worker (rq worker + scheduler).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CRM_ENV=production

RUN useradd --create-home --uid 10001 crm
WORKDIR /srv/crm

COPY pyproject.toml ./
COPY app ./app
RUN pip install --upgrade pip && pip install .

COPY wsgi.py gunicorn.conf.py ./
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations

USER crm
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"

# Web by default; compose runs the worker with: flask --app wsgi worker --with-scheduler
# gunicorn.conf.py: gthread, WEB_CONCURRENCY (2, one per core) processes x GUNICORN_THREADS (8), each worker
# on its own SO_REUSEPORT socket (the kernel spreads keep-alive connections over them), worker
# timeout 30 s, graceful 30 s, recycled after 20000 requests, no access log (the app logs each
# request with secret tokens redacted). Why these numbers: docs/architecture.md, "Timeouts and
# isolation" and "Throughput"; measured with bench/http_load.py.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
