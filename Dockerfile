# The production-like image: one image for web, worker and beat (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Everything but what .dockerignore leaves out: a new app needs no line here.
COPY . .
RUN pip install -e . && useradd --create-home --uid 1000 tend

# collectstatic needs settings, and settings need servers: point them anywhere, nothing connects.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

USER tend
EXPOSE 8000
# The access log's format (no Basic user, no query string) and log redaction: cs_platform/gunicorn_conf.py.
CMD ["gunicorn", "-c", "python:cs_platform.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
