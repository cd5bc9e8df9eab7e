# syntax=docker/dockerfile:1
# Three stages: `build` type-checks and compiles the production graph to dist/ (npm run build);
# `prod-deps` installs production dependencies only; `runtime` holds those two and package.json, nothing
# else (no tests, simulators, connector template, demo, contract tooling or TypeScript sources).
# test/image.test.ts assembles this runtime file set from these instructions and starts it.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY schemas ./schemas
COPY connectors ./connectors
COPY src ./src
COPY drizzle ./drizzle
RUN npm run build

FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
# Production refuses embedded PGlite unless ALLOW_EMBEDDED_DATABASE=true: give DATABASE_URL,
# GATEWAY_ADMIN_TOKEN and SECRETS_KEY. Only DATA_DIR (PGlite trials) and /tmp need to be writable, so the
# container runs with a read-only root filesystem.
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/var/lib/ticket-sync-gateway
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
RUN mkdir -p "$DATA_DIR" && chown node:node "$DATA_DIR"
USER node
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The API and, unless RUN_WORKER=false, the worker. Worker only: node dist/src/worker-main.js;
# migrations only: node dist/src/db/migrate-cli.js.
CMD ["node", "--enable-source-maps", "dist/src/server.js"]
