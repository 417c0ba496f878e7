# Telemetry Vault production image.
# No build step: Bun runs the TypeScript sources in src/ directly.
#
#   docker build -t telemetry-vault .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://... telemetry-vault
#
# Without DATABASE_URL/DB_HOST the service uses the embedded store in /app/data.

ARG BUN_VERSION=1

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
    PORT=3000

# Code and dependencies stay owned by root (read-only for the app user);
# only the embedded-store data directory is writable.
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
