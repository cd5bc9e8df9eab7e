import type { PlanCatalog } from "../schemas/plan.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { runSlaTimers } from "./services/sla-timers.js";
import { loadPlanCatalog } from "./sla/catalog.js";
import { type RunningWorker, startWorker, workerId } from "./worker/index.js";

export interface Runtime {
  config: Config;
  logger: Logger;
  database: Database;
  catalog: PlanCatalog;
  now: () => Date;
}

/** Everything a gateway process needs before it serves or works: logger, catalog, migrated database. */
export async function openRuntime(config: Config): Promise<Runtime> {
  const logger = createLogger(config.logLevel);
  const catalog = loadPlanCatalog(config.planCatalogFile ? { extraFile: config.planCatalogFile } : {});
  const database = await openDatabase(config.database);
  await runMigrations(database);
  return { config, logger, database, catalog, now: () => new Date() };
}

/** The background work every process runs: durable SLA timers (and, later, the sync outbox). */
export function startBackgroundWorker(runtime: Runtime, options: { tickMs?: number } = {}): RunningWorker {
  const id = workerId();
  return startWorker({
    id,
    tickMs: options.tickMs ?? runtime.config.workerTickMs,
    logger: runtime.logger,
    tasks: [
      {
        name: "sla-timers",
        run: () =>
          runSlaTimers(runtime.database.db, {
            catalog: runtime.catalog,
            now: runtime.now,
            workerId: id,
            leaseMs: 30_000,
            batchSize: 100,
          }),
      },
    ],
  });
}
