import type { PlanCatalog } from "../../schemas/plan.js";
import type { LedgerSettings } from "../config.js";
import type { Db, Tx } from "../db/client.js";
import type { JobKind, jobs } from "../db/schema/index.js";
import type { Logger } from "../lib/logger.js";
import type { EngineDeps } from "../services/context.js";

export type JobRow = typeof jobs.$inferSelect;

/** What a handler gets: the database, the engine's settings, the catalog, the clock and who runs it. */
export interface JobContext {
  db: Db;
  engine: EngineDeps;
  catalog: PlanCatalog;
  now: () => Date;
  workerId: string;
  logger: Logger;
  /** The checkpoint signing key and interval; absent where nothing signs (benchmarks). */
  ledger?: LedgerSettings;
}

/**
 * How a run ended. `commit` runs in the transaction that marks the job finished, after the lease is checked:
 * a job that outlived its lease and was taken over commits nothing.
 */
export type JobResult =
  | { outcome: "done"; commit?: (tx: Tx) => Promise<void> }
  /**
   * Periodic jobs: run again at `at` (the row stays pending, its attempts reset), or at the earlier instant
   * `wakeAt` finds in the finishing transaction, under the job's row lock (what committed while it ran).
   */
  | {
      outcome: "reschedule";
      at: Date;
      wakeAt?: (tx: Tx) => Promise<Date>;
      commit?: (tx: Tx) => Promise<void>;
    }
  /** The job's target is gone (a deleted connection): nothing to do, nothing to retry. */
  | { outcome: "skipped"; reason: string };

export interface JobHandler {
  /** Periodic jobs record failures and run again at `retryAt`; the others retry with backoff and dead-letter. */
  periodic: boolean;
  run(ctx: JobContext, job: JobRow): Promise<JobResult>;
  /**
   * Periodic jobs: when to run again after a failure (default: the backoff). Effects: the ledger entries a
   * failure, retry or dead letter of this job writes (built by the runner when absent).
   */
  retryAt?: (ctx: JobContext, job: JobRow) => Date;
  /** Called after a failed run of a periodic job, outside any transaction (e.g. an hourly ledger note). */
  onPeriodicFailure?: (ctx: JobContext, job: JobRow, error: unknown) => Promise<void>;
}

export type JobHandlers = Record<JobKind, JobHandler>;
