# syntax=docker/dockerfile:1
# Multi-stage: dependencies are resolved in a build stage; the runtime image holds production
# dependencies only and runs as a non-root user.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/var/lib/ticket-sync-gateway
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY schemas ./schemas
COPY connectors ./connectors
COPY drizzle ./drizzle
RUN mkdir -p "$DATA_DIR" && chown node:node "$DATA_DIR"
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tsx (a production dependency) runs the TypeScript sources directly; no build step to drift from them.
CMD ["node", "--import", "tsx", "src/server.ts"]
