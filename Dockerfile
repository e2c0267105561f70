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

COPY wsgi.py ./
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations

USER crm
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"

# Web by default; compose runs the worker with: flask --app wsgi worker --with-scheduler
# No gunicorn access log: the app writes one line per request, with secret tokens redacted;
# the client address comes from TRUSTED_PROXY_COUNT (ProxyFix), not --forwarded-allow-ips.
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
