# Bazaar's one image: gunicorn by default; docker-compose.yml runs the Celery worker and beat from it too.
FROM python:3.11-slim

# PYTHONPATH=/app: the code in /app comes before the installed copy, so BASE_DIR
# (templates, static, locale) is /app.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app
RUN useradd --system --create-home --uid 10001 --user-group bazaar

# Dependencies first, read from pyproject.toml at the versions requirements.lock pins (used as
# constraints, so the dev tools it also pins stay out): this layer is reused until they change.
COPY pyproject.toml README.md requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Static files are collected into the image (whitenoise serves them compressed and hashed).
# Settings need a key and a database URL to import; nothing connects to the database here.
COPY . .
RUN pip install --no-deps . \
    && DEBUG=false SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/build \
        python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/media \
    && chown bazaar:bazaar /app/media

USER bazaar
EXPOSE 8000
# Worker count: gunicorn reads WEB_CONCURRENCY (default 1); more options via GUNICORN_CMD_ARGS.
# No --access-logfile: the shop logs one line per request itself, with the route and the
# request id (ACCESS_LOG). gunicorn.conf.py (in WORKDIR, read by gunicorn) sets up /metrics
# for several workers.
CMD ["gunicorn", "shop.wsgi", "--bind", "0.0.0.0:8000"]
