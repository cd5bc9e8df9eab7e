import type { PlanCatalog } from "../schemas/plan.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { signCheckpoints } from "./ledger/checkpoints.js";
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
  let lastCheckpointRun = Number.NEGATIVE_INFINITY;
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
    {
      // Until the job registry takes it over: at most once per interval in each process.
      name: "ledger-checkpoints",
      run: async () => {
        if (Date.now() - lastCheckpointRun < runtime.config.ledger.checkpointIntervalMs) return 0;
        lastCheckpointRun = Date.now();
        const run = await signCheckpoints(db, { keyring: runtime.config.ledger.keyring, now: runtime.now });
        for (const { scope, divergences } of run.refused) {
          runtime.logger.error(
            { scope, divergences },
            "ledger checkpoint refused: chains no longer extend the last one",
          );
        }
        return run.signed.length;
      },
    },
  ];
}

/** The background work every process runs: inbox, outbox, reconciliation polls and durable SLA timers. */
export function startBackgroundWorker(runtime: Runtime, options: { tickMs?: number } = {}): RunningWorker {
  const id = workerId();
  return startWorker({
    id,
    tickMs: options.tickMs ?? runtime.config.workerTickMs,
    logger: runtime.logger,
    tasks: backgroundTasks(runtime, id),
  });
}
