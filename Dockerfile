FROM python:3.11-slim

WORKDIR /app
# The image turns the /healthz and /metrics endpoint on (it is off by default elsewhere);
# 0.0.0.0 so that a Prometheus on the Compose network can scrape it. No port is published.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NEWSBOT_METRICS_LISTEN=0.0.0.0:9464
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY config ./config
# The lock file pins every dependency to the versions CI tested.
RUN pip install --no-cache-dir -c requirements.lock . && useradd --create-home newsbot \
    && mkdir -p /app/data && chown newsbot /app/data
USER newsbot
VOLUME ["/app/data"]
EXPOSE 9464
# Healthy when /healthz answers 200: the database answers and the scheduler ticks
# (urlopen raises on the 503 of an unhealthy bot). The port follows NEWSBOT_METRICS_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD python -c \
    "import os, urllib.request; port = os.environ['NEWSBOT_METRICS_LISTEN'].rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"
CMD ["newsbot", "run"]
