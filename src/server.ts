import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { DataDirLockedError } from "./db/client.js";
import { coalesced, jobNotifier } from "./jobs/wake.js";
import type { LoopState } from "./lib/readiness.js";
import { shutdownGracefully } from "./lib/shutdown.js";
import { startTracing } from "./observability/tracing.js";
import { startMetricsListener } from "./routes/metrics.js";
import { openRuntime, startBackgroundWorker } from "./runtime.js";

async function main() {
  const config = loadConfig();
  const tracing = await startTracing(config.tracing);
  const runtime = await openRuntime(config);
  const { logger, database } = runtime;
  let shuttingDown = false;
  const startedAt = Date.now();
  const worker = config.runWorker ? await startBackgroundWorker(runtime) : null;
  // After the worker has scheduled its periodic jobs: the first scrape already sees the queue they make.
  const metricsServer =
    config.metrics.port !== null
      ? startMetricsListener({ db: database.db, settings: config.metrics, host: config.host }, (port) =>
          logger.info({ port }, "metrics listening (GET /metrics, no auth)"),
        )
      : null;
  // The job runner claims at least every WORKER_TICK_MS; none for a lease and two ticks means it is stuck.
  const stallMs = config.sync.leaseMs + 2 * config.workerTickMs;
  const workerLoops = (): LoopState[] | null => {
    if (!worker) return null;
    const last = worker.lastClaimAt();
    const idleForMs = Date.now() - (last?.getTime() ?? startedAt);
    return [
      {
        name: "jobs",
        alive: idleForMs <= stallMs,
        lastPassEndedAt: last?.toISOString() ?? null,
        runningForMs: null,
      },
    ];
  };
  const notifyWorkers = jobNotifier(database);
  const wakeWorker = coalesced(() => worker?.wakeUp());
  const app = createApp({
    ...runtime,
    config,
    jobsQueued: () => {
      wakeWorker();
      notifyWorkers();
    },
    processState: () => ({ shuttingDown, workerLoops: workerLoops() }),
  });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    const engine =
      config.database.kind === "pglite"
        ? `embedded PGlite in ${config.database.dataDir} (for trying the gateway: one process, no fsync)`
        : "PostgreSQL";
    logger.info(
      { port: info.port, engine, publicUrl: config.publicUrl, workerId: worker?.id ?? null },
      "ticket-sync-gateway listening",
    );
    const lines = [
      `ticket-sync-gateway listening on http://localhost:${info.port} (${engine})`,
      `  API docs:    ${config.publicUrl}/docs`,
      `  OpenAPI:     ${config.publicUrl}/openapi.json`,
    ];
    if (config.generatedSecretsFile) {
      lines.push(
        `  Admin token: generated for development, kept in ${config.generatedSecretsFile} (adminToken)`,
      );
    }
    process.stderr.write(`${lines.join("\n")}\n`);
  }) as Server;

  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutting down");
    const outcome = await shutdownGracefully({
      server,
      metricsServer,
      tracing,
      worker,
      database,
      timeoutMs: config.shutdownTimeoutMs,
      logger,
    });
    logger.info(outcome, "stopped");
    // 0 when everything in flight finished; 1 when the deadline cut something short.
    process.exit(outcome.drained ? 0 : 1);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof DataDirLockedError) {
    process.stderr.write(`ticket-sync-gateway cannot start: ${error.message}\n`);
  } else {
    process.stderr.write(
      `ticket-sync-gateway failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
});
