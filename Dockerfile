# Telemetry Vault production image.
# No build step: Bun runs the TypeScript sources in src/ directly.
#
#   docker build -t telemetry-vault .
#   docker run -p 3000:3000 -e API_KEYS=key:tenant \
#     -e DATABASE_URL=postgres://telemetry_app:...@db:5432/telemetry telemetry-vault
#
# NODE_ENV=production: the service refuses to start without API_KEYS (or with a
# demo key) and without a database (DATABASE_URL or DB_HOST). For one node on
# the embedded store, say so: -e DB_EMBEDDED=true -v tvdata:/app/data.
# Production guide: docs/deployment.md.

# An exact release (oven/bun:<version> and <version>-slim); bump it deliberately,
# after the tests pass on that Bun.
ARG BUN_VERSION=1.4.5

# ---- deps: production dependencies only, exactly as pinned in bun.lock ----
FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production \
 && rm -rf /root/.bun/install/cache

# ---- runtime ----
FROM oven/bun:${BUN_VERSION}-slim AS runtime
WORKDIR /app

ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data

# Code and dependencies stay owned by root (read-only for the app user);
# only the embedded-store data directory is writable (mount a volume there).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock ./
COPY src ./src
COPY sql ./sql
RUN mkdir -p /app/data && chown bun:bun /app/data

USER bun
EXPOSE 3000
STOPSIGNAL SIGTERM

# Liveness only; no curl/wget in the slim image, so bun does the request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

CMD ["bun", "run", "src/server.ts"]
