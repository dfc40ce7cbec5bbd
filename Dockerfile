# Production image: one daphne process serves pages, static files and websockets.
# (Not built on the development machines, which have no Docker engine; kept correct by reading.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ATTUNE_VAR_DIR=/app/var

# WeasyPrint's system libraries (Pango with HarfBuzz subsetting), per its Debian install notes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libffi8 shared-mime-info \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY workshop/__init__.py workshop/__init__.py
COPY sessions/__init__.py sessions/__init__.py
COPY exports/__init__.py exports/__init__.py
RUN pip install .

COPY . .
RUN pip install --no-deps . \
    && DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 attune \
    && mkdir -p /app/var \
    && chown attune /app/var

USER attune
EXPOSE 8000
# Configure with DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS (see README).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python -m workshop.serve -b 0.0.0.0 -p 8000 --proxy-headers workshop.asgi:application"]
