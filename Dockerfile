FROM python:3.11-slim

WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
RUN pip install --no-cache-dir . && useradd --create-home newsbot && mkdir -p /app/data \
    && chown newsbot /app/data
USER newsbot
VOLUME ["/app/data"]
CMD ["newsbot", "run"]
