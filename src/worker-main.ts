import { ConfigError, loadConfig } from "./config.js";
import { shutdownGracefully } from "./lib/shutdown.js";
import { startTracing } from "./observability/tracing.js";
import { startMetricsListener } from "./routes/metrics.js";
import { openRuntime, startBackgroundWorker } from "./runtime.js";

/** `npm run worker`: background work only, for scaling out next to API processes on PostgreSQL. */
async function main() {
  const config = loadConfig();
  if (config.database.kind !== "postgres") {
    throw new ConfigError([
      "DATABASE_URL: `npm run worker` needs PostgreSQL; on embedded PGlite `npm start` runs the API and the worker in one process",
    ]);
  }
  const tracing = await startTracing(config.tracing);
  const runtime = await openRuntime(config);
  const worker = await startBackgroundWorker(runtime);
  runtime.logger.info({ workerId: worker.id }, "worker started");
  // A worker serves no API: METRICS_PORT is how it is scraped. Started after the worker (whose start awaits its
  // LISTEN connection), in the same turn as the signal handlers below: a process that answers scrapes is one a
  // SIGTERM stops gracefully.
  const metricsServer =
    config.metrics.port !== null
      ? startMetricsListener(
          { db: runtime.database.db, settings: config.metrics, host: config.host },
          (port) => runtime.logger.info({ port }, "metrics listening (GET /metrics, no auth)"),
        )
      : null;
  let stopping = false;
  const shutdown = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    runtime.logger.info({ timeoutMs: config.shutdownTimeoutMs }, "worker shutting down");
    const outcome = await shutdownGracefully({
      metricsServer,
      tracing,
      worker,
      database: runtime.database,
      timeoutMs: config.shutdownTimeoutMs,
      logger: runtime.logger,
    });
    runtime.logger.info(outcome, "worker stopped");
    process.exit(outcome.drained ? 0 : 1);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(
    `ticket-sync-gateway worker cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
