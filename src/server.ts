import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { DataDirLockedError } from "./db/client.js";
import { openRuntime, startBackgroundWorker } from "./runtime.js";

async function main() {
  const config = loadConfig();
  const runtime = await openRuntime(config);
  const { logger, database } = runtime;
  const app = createApp({ ...runtime, config });
  const worker = config.runWorker ? await startBackgroundWorker(runtime) : null;
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
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    server.close();
    await worker?.stop();
    await database.close();
    process.exit(0);
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
