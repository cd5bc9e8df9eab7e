import { ConfigError, loadConfig } from "./config.js";
import { openRuntime, startBackgroundWorker } from "./runtime.js";

/** `npm run worker`: background work only, for scaling out next to API processes on PostgreSQL. */
async function main() {
  const config = loadConfig();
  if (config.database.kind !== "postgres") {
    throw new ConfigError([
      "DATABASE_URL: `npm run worker` needs PostgreSQL; on embedded PGlite `npm start` runs the API and the worker in one process",
    ]);
  }
  const runtime = await openRuntime(config);
  const worker = await startBackgroundWorker(runtime);
  runtime.logger.info({ workerId: worker.id }, "worker started");
  const shutdown = async () => {
    await worker.stop();
    await runtime.database.close();
    process.exit(0);
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
