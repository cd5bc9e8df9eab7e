import { analyzeChangedTables } from "../db/statistics.js";
import { eventDeliver, eventFanout } from "../events/feed.js";
import { signCheckpoints } from "../ledger/checkpoints.js";
import { runSlaTimers } from "../services/sla-timers.js";
import { applyCarrierNotice, carrierDeliveries } from "../sync/carrier.js";
import { evaluateAllConnections } from "../sync/health.js";
import { applyServicedeskNotice, inboxRowOf, markApplied } from "../sync/inbound.js";
import { deliveryJob, loadJobConnection, servicedeskDeliveries } from "../sync/outbound.js";
import { pollJobHandler } from "../sync/poller.js";
import { pruneFinished } from "./prune.js";
import { nextSlaTimerRun, SLA_TIMER_MAX_SLEEP_MS } from "./queue.js";
import type { JobHandler, JobHandlers } from "./types.js";

/** Applies a stored vendor notice: the connector kind decides how (a servicedesk record or a delegation). */
const inboxApply: JobHandler = {
  periodic: false,
  run: async (ctx, job) => {
    const row = await inboxRowOf(ctx.db, job);
    if (!row) return { outcome: "skipped", reason: "notice pruned" };
    const loaded = await loadJobConnection(ctx, job);
    if (!loaded || loaded.row.direction === "outbound") {
      return { outcome: "done", commit: (tx) => markApplied(tx, row.id, ctx.now()) };
    }
    return loaded.connector.kind === "carrier"
      ? applyCarrierNotice(ctx, loaded, row)
      : applyServicedeskNotice(ctx, loaded, row);
  },
};

const slaTimers: JobHandler = {
  periodic: true,
  retryAt: (ctx) => new Date(ctx.now().getTime() + ctx.engine.sync.tickMs),
  run: async (ctx) => {
    const batchSize = 100;
    // Fires every clock now due (warnings, at-risk, update due, breach), a batch at a time, then sleeps
    // until the earliest next check: detection waits for the runner's claim, not for a fixed cadence.
    for (let round = 0; round < 50; round++) {
      const fired = await runSlaTimers(ctx.db, {
        catalog: ctx.catalog,
        now: ctx.now,
        workerId: ctx.workerId,
        leaseMs: 30_000,
        batchSize,
      });
      if (fired < batchSize) break;
    }
    const now = ctx.now();
    return {
      outcome: "reschedule",
      at: new Date(now.getTime() + SLA_TIMER_MAX_SLEEP_MS),
      wakeAt: (tx) => nextSlaTimerRun(tx, now),
    };
  },
};

const jobsPrune: JobHandler = {
  periodic: true,
  retryAt: (ctx) => new Date(ctx.now().getTime() + 3_600_000),
  run: async (ctx) => {
    const pruned = await pruneFinished(ctx.db, ctx.engine.sync.retention, ctx.now());
    if (pruned.total > 0) ctx.logger.info({ event: "jobs.pruned", ...pruned }, "finished rows pruned");
    return { outcome: "reschedule", at: new Date(ctx.now().getTime() + 3_600_000) };
  },
};

/** How often the queue tables' statistics are checked (and refreshed where they changed). */
export const TABLES_ANALYZE_INTERVAL_MS = 10_000;

/** Keeps the planner's statistics of the queue tables as fresh as their contents (src/db/statistics.ts). */
const tablesAnalyze: JobHandler = {
  periodic: true,
  retryAt: (ctx) => new Date(ctx.now().getTime() + TABLES_ANALYZE_INTERVAL_MS),
  run: async (ctx) => {
    const analyzed = await analyzeChangedTables(ctx.db);
    if (analyzed.length > 0)
      ctx.logger.debug({ event: "tables.analyzed", tables: analyzed }, "statistics refreshed");
    return { outcome: "reschedule", at: new Date(ctx.now().getTime() + TABLES_ANALYZE_INTERVAL_MS) };
  },
};

/**
 * Signs a checkpoint for every scope whose chains moved since its last one. One process signs at a time (an
 * advisory lock inside); a scope whose chains no longer extend its last checkpoint is refused and logged,
 * never signed over.
 */
const ledgerCheckpoint: JobHandler = {
  periodic: true,
  retryAt: (ctx) => new Date(ctx.now().getTime() + (ctx.ledger?.checkpointIntervalMs ?? 60_000)),
  run: async (ctx) => {
    const next = new Date(ctx.now().getTime() + (ctx.ledger?.checkpointIntervalMs ?? 60_000));
    if (!ctx.ledger) return { outcome: "reschedule", at: next };
    const run = await signCheckpoints(ctx.db, { keyring: ctx.ledger.keyring, now: ctx.now });
    for (const { scope, divergences } of run.refused) {
      ctx.logger.error(
        { event: "ledger.checkpoint_refused", scope, divergences },
        "ledger checkpoint refused: chains no longer extend the last one",
      );
    }
    return { outcome: "reschedule", at: next };
  },
};

/**
 * Evaluates every connection's health from the ledger and the jobs table and stores the snapshots; a state that
 * held for the damping period is ledgered (`connection.health_changed`). One pending row (a singleton), and the
 * snapshot writes are compare-and-set, so a run taken over from a dead worker cannot ledger a change twice.
 */
const connectionHealthJob: JobHandler = {
  periodic: true,
  retryAt: (ctx) => new Date(ctx.now().getTime() + ctx.engine.sync.healthIntervalMs),
  run: async (ctx) => {
    const now = ctx.now();
    const changes = await evaluateAllConnections(ctx.db, {
      engine: ctx.engine,
      now,
      dampingMs: ctx.engine.sync.healthDampingMs,
    });
    for (const { connectionId, tenantId, change } of changes) {
      ctx.logger[change.to === "failing" ? "warn" : "info"](
        { event: "connection.health_changed", connectionId, tenantId, ...change },
        "connection health changed",
      );
    }
    return { outcome: "reschedule", at: new Date(now.getTime() + ctx.engine.sync.healthIntervalMs) };
  },
};

/**
 * Every job kind's handler, in one exhaustive map: a kind without a handler fails `tsc`. Every process entry
 * (API, worker, demo, tests) runs jobs through this map, so none can lack a handler.
 */
export const jobHandlers: JobHandlers = {
  "inbox.apply": inboxApply,
  "ticket.create": deliveryJob(servicedeskDeliveries["ticket.create"]),
  "ticket.update": deliveryJob(servicedeskDeliveries["ticket.update"]),
  "ticket.link": deliveryJob(servicedeskDeliveries["ticket.link"]),
  "comment.add": deliveryJob(servicedeskDeliveries["comment.add"]),
  "attachment.copy": deliveryJob(servicedeskDeliveries["attachment.copy"]),
  "worklog.add": deliveryJob(servicedeskDeliveries["worklog.add"]),
  "listener.register": deliveryJob(carrierDeliveries["listener.register"]),
  "delegation.open": deliveryJob(carrierDeliveries["delegation.open"]),
  "delegation.note": deliveryJob(carrierDeliveries["delegation.note"]),
  "delegation.cancel": deliveryJob(carrierDeliveries["delegation.cancel"]),
  "delegation.close": deliveryJob(carrierDeliveries["delegation.close"]),
  "delegation.reopen": deliveryJob(carrierDeliveries["delegation.reopen"]),
  "event.fanout": eventFanout,
  "event.deliver": eventDeliver,
  "connection.poll": pollJobHandler,
  "sla.timers": slaTimers,
  "jobs.prune": jobsPrune,
  "ledger.checkpoint": ledgerCheckpoint,
  "connection.health": connectionHealthJob,
  "tables.analyze": tablesAnalyze,
};

/** The kinds that carry an effect (the rest are periodic): what "idle" means for tests and `drain`. */
export const effectJobKinds = (Object.keys(jobHandlers) as (keyof JobHandlers)[]).filter(
  (kind) => !jobHandlers[kind].periodic,
);
