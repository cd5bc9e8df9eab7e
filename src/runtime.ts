import type { PlanCatalog } from "../schemas/plan.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { runSlaTimers } from "./services/sla-timers.js";
import { loadPlanCatalog } from "./sla/catalog.js";
import { runInbox } from "./sync/inbound.js";
import { runOutbox } from "./sync/outbound.js";
import { runPoller } from "./sync/poller.js";
import { type RunningWorker, startWorker, type WorkerTask, workerId } from "./worker/index.js";

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
  try {
    await runMigrations(database);
  } catch (error) {
    // Release the database (and a PGlite directory's lock) so the process can report and exit cleanly.
    await database.close();
    throw error;
  }
  return { config, logger, database, catalog, now: () => new Date() };
}

/** The background tasks every worker runs; all state is in the database. */
export function backgroundTasks(runtime: Runtime, id: string): WorkerTask[] {
  const engine = {
    secretsKey: runtime.config.secretsKey,
    publicUrl: runtime.config.publicUrl,
    sync: runtime.config.sync,
  };
  const db = runtime.database.db;
  return [
    {
      name: "inbox",
      run: () => runInbox(db, { engine, workerId: id, now: runtime.now, catalog: runtime.catalog }),
    },
    {
      name: "outbox",
      run: () => runOutbox(db, { engine, workerId: id, now: runtime.now, catalog: runtime.catalog }),
    },
    { name: "poller", run: () => runPoller(db, { engine, now: runtime.now }) },
    {
      name: "sla-timers",
      run: () =>
        runSlaTimers(db, {
          catalog: runtime.catalog,
          now: runtime.now,
          workerId: id,
          leaseMs: 30_000,
          batchSize: 100,
        }),
    },
  ];
}

/** The background work every process runs: inbox, outbox, reconciliation polls and durable SLA timers. */
export function startBackgroundWorker(
  runtime: Runtime,
  options: { tickMs?: number; observe?: (tasks: WorkerTask[]) => WorkerTask[] } = {},
): RunningWorker {
  const id = workerId();
  const tasks = backgroundTasks(runtime, id);
  return startWorker({
    id,
    tickMs: options.tickMs ?? runtime.config.workerTickMs,
    logger: runtime.logger,
    // `observe` wraps the tasks without changing them (the server tracks loop liveness for /readyz).
    tasks: options.observe ? options.observe(tasks) : tasks,
  });
}
