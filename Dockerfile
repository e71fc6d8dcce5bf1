# The gateway's production image: the locked dependencies (uv.lock, no dev tools, the s3 extra),
# run as an unprivileged user. Nothing secret is baked in: mount the PKI, registry and master key,
# or point the settings at them.
#
#   docker build -t imr-alomrane-gateway .
#   docker run -p 8443:8443 -v /srv/gateway:/app/var \
#     -e GATEWAY_TLS_CERT=/app/var/pki/server.pem -e GATEWAY_TLS_KEY=/app/var/pki/server.key \
#     -e GATEWAY_DATABASE_URL=postgresql+psycopg://gateway@db/gateway imr-alomrane-gateway
#
# Without GATEWAY_TLS_CERT/KEY, `gateway serve` makes a development PKI under var/ (not for production).
# compose.yaml runs two of these behind nginx on PostgreSQL (README, Production-like run).

FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY clients/python/pyproject.toml clients/python/README.md ./clients/python/
RUN uv sync --frozen --no-dev --extra s3 --no-install-workspace
COPY clients/python/src ./clients/python/src
COPY gateway ./gateway
COPY migrations ./migrations
RUN uv sync --frozen --no-dev --extra s3 --no-editable

FROM python:3.11-slim-bookworm
# Fixed ids, so that mounted keys can be given to this user on the host (chown 10001).
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /app --shell /usr/sbin/nologin gateway \
 && mkdir -p /app/var && chown gateway:gateway /app/var
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY migrations ./migrations
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 GATEWAY_HOST=0.0.0.0 GATEWAY_MIGRATIONS_DIR=/app/migrations
USER 10001:10001
VOLUME ["/app/var"]
# 8443: the API (mutual TLS, or plain HTTP for the proxy); 9180: the operations listener (GATEWAY_OPS_PORT).
EXPOSE 8443 9180
# Alive means the operations listener answers /healthz (the slim image has no curl: Python's urllib).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GATEWAY_OPS_PORT', '9180'), timeout=4)"]
ENTRYPOINT ["gateway"]
CMD ["serve"]
