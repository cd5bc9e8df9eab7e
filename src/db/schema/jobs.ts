import { sql } from "drizzle-orm";
import {
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { instant } from "./columns.js";

/**
 * Every kind of background work, closed: the database refuses any other (check constraint) and the handler
 * registry (src/jobs/registry.ts) is a Record over this list, so a kind without a handler fails `tsc`.
 */
export const jobKinds = [
  // Effects: retried with backoff, dead-lettered when they cannot succeed.
  "inbox.apply",
  "ticket.create",
  "ticket.update",
  "ticket.link",
  "comment.add",
  "attachment.copy",
  "worklog.add",
  "listener.register",
  "delegation.open",
  "delegation.note",
  "delegation.cancel",
  "delegation.close",
  "delegation.reopen",
  // Event feed: one fan-out per ledger append with events, one delivery per (event, subscription).
  "event.fanout",
  "event.deliver",
  // Periodic: one pending row each, rescheduled after every run; failures are recorded, never dead-lettered.
  "connection.poll",
  "sla.timers",
  "jobs.prune",
  "ledger.checkpoint",
  "connection.health",
  "tables.analyze",
] as const;
export type JobKind = (typeof jobKinds)[number];

/** The periodic kinds (their handlers say `periodic: true`): not backlog, never dead letters. */
export const periodicJobKinds = [
  "connection.poll",
  "sla.timers",
  "jobs.prune",
  "ledger.checkpoint",
  "connection.health",
  "tables.analyze",
] as const satisfies readonly JobKind[];

export const jobStatuses = ["pending", "done", "dead", "skipped"] as const;
export type JobStatus = (typeof jobStatuses)[number];

/**
 * The one queue. A row is claimed with a committed lease of its own (`locked_until`, extended while it runs),
 * never a transaction held across a vendor call. Rows with the same (connection, order key) run one at a time
 * in id order; a dead effect holds the rows behind it until it is replayed or skipped.
 */
export const jobs = pgTable(
  "jobs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    kind: text("kind", { enum: jobKinds }).notNull(),
    tenantId: text("tenant_id"),
    connectionId: text("connection_id"),
    /** Order within a connection: a ticket id, a delegation id, `in:<external id>` for inbound notices. */
    orderKey: text("order_key"),
    /** Lower runs first: 0 timers, 1-4 the ticket's P1-P4, 5 polls, 9 housekeeping. */
    priority: smallint("priority").notNull().default(3),
    /** Periodic jobs: at most one pending row per key. */
    singletonKey: text("singleton_key"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    status: text("status", { enum: jobStatuses }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: instant("next_attempt_at").notNull().defaultNow(),
    lockedUntil: instant("locked_until"),
    lockedBy: text("locked_by"),
    lastError: text("last_error"),
    lastHttpStatus: integer("last_http_status"),
    deadReason: text("dead_reason"),
    createdAt: instant("created_at").notNull().defaultNow(),
    firstAttemptAt: instant("first_attempt_at"),
    finishedAt: instant("finished_at"),
    deadAt: instant("dead_at"),
    /** W3C traceparent of the traced request that enqueued the job, so its run continues that trace. */
    traceParent: text("trace_parent"),
  },
  (t) => [
    // The claim reads each open connection's due jobs (and those without a connection), never its jobs in backoff.
    index("jobs_due_idx").on(t.connectionId, t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    // Order and blocking checks look at the earlier open rows of one (connection, order key).
    index("jobs_order_idx")
      .on(t.connectionId, t.orderKey, t.id)
      .where(sql`${t.status} in ('pending', 'dead')`),
    // The claim counts each connection's jobs in flight (live leases) without reading the whole backlog.
    index("jobs_leased_idx").on(t.lockedUntil).where(sql`${t.status} = 'pending'`),
    index("jobs_dead_idx").on(t.deadAt).where(sql`${t.status} = 'dead'`),
    // Retention prunes finished rows by age.
    index("jobs_finished_idx").on(t.finishedAt).where(sql`${t.status} in ('done', 'skipped')`),
    uniqueIndex("jobs_singleton_idx").on(t.singletonKey).where(sql`${t.status} = 'pending'`),
    check("jobs_kind_check", sql.raw(`kind in (${jobKinds.map((k) => `'${k}'`).join(", ")})`)),
  ],
);

/**
 * Per connection, a time before which none of its pending jobs can be runnable (a lower bound: too early costs
 * a claim one index read, never a job). A claim that finds a connection with nothing runnable writes when it
 * next may have something (the earliest retry, lease end or due time), and later claims skip the connection
 * until then instead of reading its queue. No row: due. Written by claims only (they are serialised).
 */
export const jobConnectionDue = pgTable("job_connection_due", {
  connectionId: text("connection_id").primaryKey(),
  dueAt: instant("due_at").notNull(),
});

/**
 * A job written on a connection whose mark says later than the job may run (a trigger on `jobs` adds the row),
 * for the next claim to lower the mark. Rows are only inserted by writers, so no writer waits on another.
 */
export const jobConnectionWakeups = pgTable(
  "job_connection_wakeups",
  {
    connectionId: text("connection_id").notNull(),
    dueAt: instant("due_at").notNull(),
  },
  // A writer adds no wakeup when one as early is already there: one row per connection while claims are away.
  (t) => [index("job_connection_wakeups_idx").on(t.connectionId, t.dueAt)],
);
