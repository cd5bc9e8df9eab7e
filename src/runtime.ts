import type { PlanCatalog } from "../schemas/plan.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { ensurePeriodicJobs } from "./jobs/queue.js";
import { JobRunner } from "./jobs/runner.js";
import type { JobContext } from "./jobs/types.js";
import { listenForJobs } from "./jobs/wake.js";
import { createLogger, type Logger } from "./lib/logger.js";
import { loadPlanCatalog } from "./sla/catalog.js";
import type { SyncSettings } from "./sync/settings.js";
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
  try {
    await runMigrations(database);
  } catch (error) {
    // Release the database (and a PGlite directory's lock) so the process can report and exit cleanly.
    await database.close();
    throw error;
  }
  return { config, logger, database, catalog, now: () => new Date() };
}

/** The context every job handler runs with in this process. */
export function jobContext(
  runtime: Pick<Runtime, "database" | "catalog" | "now" | "logger"> & {
    config: Pick<Config, "secretsKey" | "publicUrl" | "sync"> & Partial<Pick<Config, "ledger">>;
  },
  id: string,
  extra: { fetch?: typeof fetch; sync?: SyncSettings } = {},
): JobContext {
  return {
    db: runtime.database.db,
    engine: {
      secretsKey: runtime.config.secretsKey,
      publicUrl: runtime.config.publicUrl,
      sync: extra.sync ?? runtime.config.sync,
      ...(extra.fetch ? { fetch: extra.fetch } : {}),
    },
    catalog: runtime.catalog,
    now: runtime.now,
    workerId: id,
    logger: runtime.logger.child({ workerId: id }),
    ...(runtime.config.ledger ? { ledger: runtime.config.ledger } : {}),
  };
}

/**
 * The background work of a process: the job runner (inbox, deliveries, polls, SLA timers, retention, all jobs of
 * one queue). All state is in the database, so any number of processes may run one.
 */
export async function startBackgroundWorker(runtime: Runtime): Promise<RunningWorker> {
  const id = workerId();
  const ctx = jobContext(runtime, id);
  await ensurePeriodicJobs(ctx.db, runtime.now());
  const runner = new JobRunner({
    ctx,
    processConcurrency: runtime.config.sync.processConcurrency,
    connectionConcurrency: runtime.config.sync.connectionConcurrency,
    tickMs: runtime.config.workerTickMs,
    leaseMs: runtime.config.sync.leaseMs,
  });
  // On PostgreSQL, API processes notify when they queue jobs; on PGlite the API is in this process and wakes it.
  const { database } = runtime;
  const stopListening =
    database.kind === "postgres" && database.url !== null
      ? await listenForJobs(database.url, () => runner.wakeUp())
      : undefined;
  return startWorker({ id, runner, ...(stopListening ? { onStopped: stopListening } : {}) });
}
