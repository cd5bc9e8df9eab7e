import type { PlanCatalog } from "../schemas/plan.js";
import type { Db } from "../src/db/client.js";
import type { JobKind } from "../src/db/schema/index.js";
import { effectJobKinds } from "../src/jobs/registry.js";
import { JobRunner } from "../src/jobs/runner.js";
import { createLogger } from "../src/lib/logger.js";
import type { EngineDeps } from "../src/services/context.js";

interface Pass {
  engine: EngineDeps;
  workerId: string;
  now: () => Date;
  catalog: PlanCatalog;
}

const silent = createLogger("silent");

function pass(db: Db, options: Pass, kinds: readonly JobKind[]): Promise<number> {
  return new JobRunner({
    ctx: { db, ...options, logger: silent },
    processConcurrency: options.engine.sync.processConcurrency,
    connectionConcurrency: options.engine.sync.connectionConcurrency,
    tickMs: 50,
    leaseMs: options.engine.sync.leaseMs,
    kinds,
  }).runUntilIdle(1);
}

/** One claim of outbound jobs run to their end, as a worker's loop does it (benchmarks drive passes directly). */
export const runOutbox = (db: Db, options: Pass) =>
  pass(
    db,
    options,
    effectJobKinds.filter((k) => k !== "inbox.apply"),
  );

/** One claim of inbox jobs run to their end. */
export const runInbox = (db: Db, options: Pass) => pass(db, options, ["inbox.apply"]);
