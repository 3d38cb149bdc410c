# Rekam: the API and dashboard in one image. The database is PostgreSQL elsewhere
# (see docker-compose.yml); set REKAM_DATABASE_URL to reach it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package is built from: the dashboard assets ship inside app/, and the
# migrations are a Python package of their own, so the image needs no source tree after this.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . && rm -rf /src

# The service never needs root: a fixed uid so volume permissions are predictable.
RUN useradd --system --uid 10001 --create-home --home-dir /home/rekam rekam
USER rekam
WORKDIR /home/rekam
# Only used when REKAM_DATABASE_URL is unset (the embedded database, for a quick look).
ENV REKAM_DATA_DIR=/home/rekam/.rekam

EXPOSE 8000

# The slim image has no curl; the standard library answers the same question.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# `rekam serve` migrates before it listens; on SIGTERM it lets requests in flight finish.
CMD ["rekam", "serve", "--host", "0.0.0.0", "--port", "8000"]
