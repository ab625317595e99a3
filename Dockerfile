FROM python:3.11-slim

WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY config ./config
# The lock file pins every dependency to the versions CI tested.
RUN pip install --no-cache-dir -c requirements.lock . && useradd --create-home newsbot \
    && mkdir -p /app/data && chown newsbot /app/data
USER newsbot
VOLUME ["/app/data"]
CMD ["newsbot", "run"]
