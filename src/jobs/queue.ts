import { and, eq, getTableColumns, inArray, sql, type Table } from "drizzle-orm";
import { type Db, queryRows, type Tx } from "../db/client.js";
import { sendWrite } from "../db/pipeline.js";
import { connections, inbox, type JobKind, jobs, periodicJobKinds } from "../db/schema/index.js";
import { activeTraceparent } from "../observability/tracing.js";
import type { JobRow } from "./types.js";

export interface NewJob {
  kind: JobKind;
  tenantId?: string | null;
  connectionId?: string | null;
  orderKey?: string | null;
  priority?: number;
  payload?: Record<string, unknown>;
  runAt?: Date;
  singletonKey?: string;
  /** The request's trace, when the job is queued outside its context (by a group commit). */
  traceParent?: string | null;
}

/** Canonical priority to queue priority: P1 jobs run before P3 jobs of the same connection queued earlier. */
export function queuePriority(priority: string | null | undefined): number {
  const match = /^P([1-4])$/.exec(priority ?? "");
  return match ? Number(match[1]) : 3;
}

/**
 * Holds the jobs queued behind `job` in its (connection, order key) until `at`, when it waits (backoff, a
 * reschedule) until then: see `enqueueJobs`.
 */
export async function holdSuccessors(tx: Tx, job: JobRow, at: Date): Promise<void> {
  if (job.orderKey === null || job.connectionId === null) return;
  await tx.execute(
    sql`update jobs set next_attempt_at = ${at.toISOString()}::timestamptz
        where connection_id = ${job.connectionId} and order_key = ${job.orderKey} and id > ${job.id}
          and status = 'pending' and next_attempt_at < ${at.toISOString()}::timestamptz`,
  );
}

/** Adds jobs in the caller's transaction, so they commit (or not) with the change that causes them. */
export async function enqueueJobs(tx: Tx | Db, rows: NewJob[]): Promise<void> {
  if (rows.length === 0) return;
  const traceParent = activeTraceparent();
  // One statement whatever the number of jobs (migration 0025): each is due no earlier than the jobs queued
  // before it in its (connection, order key), and a periodic job already pending is kept.
  await sendWrite(
    tx,
    tx.execute(
      sql`select enqueue_jobs(${JSON.stringify(rows.map((row) => enqueueRowOf(row, traceParent)))}::jsonb)`,
    ),
  );
}

/** A job as `enqueue_jobs` takes it, for SQL functions that queue jobs with their writes. */
export function enqueueRowOf(r: NewJob, traceParent: string | null = activeTraceparent()) {
  return {
    kind: r.kind,
    tenant_id: r.tenantId ?? null,
    connection_id: r.connectionId ?? null,
    order_key: r.orderKey ?? null,
    priority: r.priority ?? 3,
    payload: r.payload ?? {},
    singleton_key: r.singletonKey ?? null,
    // A periodic job is rescheduled in place forever: it must not hang every run off one old request.
    trace_parent: r.singletonKey ? null : r.traceParent !== undefined ? r.traceParent : traceParent,
    // When it was asked to run (absent: now); the insert makes it no earlier than its predecessors.
    next_attempt_at: r.runAt?.toISOString() ?? null,
  };
}

/** The poll job of a connection that receives (one pending row per connection). */
export function pollJob(connection: { id: string; tenantId: string | null }, runAt: Date): NewJob {
  return {
    kind: "connection.poll",
    tenantId: connection.tenantId,
    connectionId: connection.id,
    priority: 5,
    singletonKey: `poll:${connection.id}`,
    runAt,
  };
}

/** Jobs that must always exist, once per deployment. */
export const deploymentJobs: NewJob[] = [
  { kind: "sla.timers", priority: 0, singletonKey: "sla.timers" },
  { kind: "jobs.prune", priority: 9, singletonKey: "jobs.prune" },
  { kind: "ledger.checkpoint", priority: 8, singletonKey: "ledger.checkpoint" },
  { kind: "connection.health", priority: 8, singletonKey: "connection.health" },
  { kind: "tables.analyze", priority: 8, singletonKey: "tables.analyze" },
];

/** Inserts the periodic jobs that are missing: the deployment's own and a poll per receiving connection. */
export async function ensurePeriodicJobs(db: Db, now: Date): Promise<void> {
  await enqueueJobs(
    db,
    deploymentJobs.map((job) => ({ ...job, runAt: now })),
  );
  await db.execute(
    sql`insert into jobs (kind, tenant_id, connection_id, priority, singleton_key, next_attempt_at)
        select 'connection.poll', c.tenant_id, c.id, 5, 'poll:' || c.id, ${now.toISOString()}::timestamptz
        from connections c
        where c.status in ('active', 'paused') and c.direction in ('both', 'inbound')
        on conflict do nothing`,
  );
}

/**
 * The longest the `sla.timers` job sleeps: it normally wakes at the earliest `next_check_at` (and a ticket
 * change that creates an earlier one pulls it forward), so this only bounds a wake-up that was missed.
 */
export const SLA_TIMER_MAX_SLEEP_MS = 30_000;

/**
 * Pulls the `sla.timers` job forward to `at` when a clock's next check falls before its next run, in the
 * caller's transaction. Checks beyond the longest sleep need nothing: the job runs before them anyway. While
 * the job runs (leased), the row is locked too, so the run's own reschedule, computed under the same row lock,
 * sees this clock once the caller commits.
 */
export async function wakeSlaTimers(tx: Tx, at: Date, now: Date): Promise<void> {
  if (at.getTime() >= now.getTime() + SLA_TIMER_MAX_SLEEP_MS) return;
  await sendWrite(
    tx,
    tx.execute(
      sql`update jobs set next_attempt_at = least(next_attempt_at, ${at.toISOString()}::timestamptz)
          where singleton_key = 'sla.timers' and status = 'pending'
            and (next_attempt_at > ${at.toISOString()}::timestamptz or locked_until >= ${now.toISOString()}::timestamptz)`,
    ),
  );
}

/**
 * When the timers must run next: the earliest next check among the first clocks in `next_check_at` order
 * (a clock leased by another worker counts from its lease's end), capped at the longest sleep.
 */
export async function nextSlaTimerRun(tx: Tx | Db, now: Date): Promise<Date> {
  const [row] = await queryRows<{ next: string | Date | null }>(
    tx,
    sql`select min(greatest(next_check_at, coalesce(locked_until, next_check_at))) as next
        from (select next_check_at, locked_until from sla_clocks where next_check_at is not null
              order by next_check_at limit 100) s`,
  );
  const cap = now.getTime() + SLA_TIMER_MAX_SLEEP_MS;
  const next = row?.next ? new Date(row.next).getTime() : cap;
  return new Date(Math.max(now.getTime(), Math.min(next, cap)));
}

export interface ClaimOptions {
  workerId: string;
  now: Date;
  leaseMs: number;
  limit: number;
  /** In flight per connection, across all processes (a vendor's reported budget may lower it). */
  connectionConcurrency: number;
  /** Only these kinds (tests drive one kind at a time); all when absent. */
  kinds?: readonly JobKind[];
}

/**
 * Maps a row as the driver returns it from raw SQL (snake_case keys, driver values) or as `to_jsonb` renders
 * it, the way drizzle maps a selected row of `table` (the columns are read once, not per row).
 */
function rowMapper<T extends Table>(table: T): (raw: Record<string, unknown>) => T["$inferSelect"] {
  const columns = Object.entries(getTableColumns(table));
  return (raw) => {
    const row: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      const value = raw[column.name];
      row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return row as T["$inferSelect"];
  };
}

const jobOfRaw = rowMapper(jobs);
const connectionOfRaw = rowMapper(connections);
const inboxOfRaw = rowMapper(inbox);

/** A claimed job's connection as the claim read it, with its tenant's priority overrides. */
export interface ClaimedConnection {
  row: typeof connections.$inferSelect;
  tenantPriorityOverrides: Record<string, unknown>;
}

const claimedConnections = new WeakMap<object, ClaimedConnection>();
const claimedInboxRows = new WeakMap<object, typeof inbox.$inferSelect>();

/** What the claim read along with a job, handed out once: a later call reads the database. */
function takeOnce<T>(claimed: WeakMap<object, T>, job: object): T | undefined {
  const value = claimed.get(job);
  claimed.delete(job);
  return value;
}

/**
 * The stored notice the claim read with this `inbox.apply` job, once; undefined when the claim did not read it
 * (a later call, another kind, or a notice the claim's snapshot did not show), so the caller reads the database.
 */
export function takeClaimedInboxRow(job: object): typeof inbox.$inferSelect | undefined {
  return takeOnce(claimedInboxRows, job);
}

/**
 * The connection the claim read with this job (once: a later call reads the database), so the job's run does
 * not read it again. As fresh as a read at the run's start: the claim happened milliseconds before.
 */
export function takeClaimedConnection(job: object): ClaimedConnection | undefined {
  return takeOnce(claimedConnections, job);
}

/**
 * Claims up to `limit` runnable jobs, each with its own committed lease, in one round trip: the `claim_jobs`
 * function (migrations 0020, 0023) takes the claim lock and claims in its own transaction, and the same
 * statement returns each job's connection row (and an `inbox.apply` job's stored notice). Runnable: pending,
 * due, not leased, first open row of its (connection, order key), its connection active and not held, and its
 * connection below its concurrency. Fair: jobs are taken round-robin across tenants (the n-th job of every
 * tenant before the n+1-th of any), by priority then age within a tenant.
 */
export async function claimJobs(db: Db, options: ClaimOptions): Promise<JobRow[]> {
  const leaseEnd = new Date(options.now.getTime() + options.leaseMs).toISOString();
  const kinds = options.kinds ? `{${options.kinds.join(",")}}` : null;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`select j.*, to_jsonb(c) as claimed_connection, t.priority_overrides as claimed_tenant_overrides,
               to_jsonb(i) as claimed_inbox
        from claim_jobs(${options.workerId}, ${options.now.toISOString()}::timestamptz, ${leaseEnd}::timestamptz,
                        ${options.limit}::int, ${options.connectionConcurrency}::int, ${kinds}::text[]) j
          left join connections c on c.id = j.connection_id
          left join tenants t on t.id = c.tenant_id
          left join inbox i on j.kind = 'inbox.apply' and i.id = (j.payload->>'inboxId')::bigint`,
  );
  return rows.map((raw) => {
    const job = jobOfRaw(raw);
    // The joins read with the statement's snapshot, taken before `claim_jobs` waited for the claim lock and
    // claimed with snapshots of its own: a job committed in between is claimed, but its notice (committed
    // with it) is not seen here. No notice is therefore not proof that it was pruned: the run reads it.
    const notice = raw["claimed_inbox"];
    if (job.kind === "inbox.apply" && notice && typeof notice === "object")
      claimedInboxRows.set(job, inboxOfRaw(notice as Record<string, unknown>));
    const connection = raw["claimed_connection"];
    if (connection && typeof connection === "object") {
      claimedConnections.set(job, {
        row: connectionOfRaw(connection as Record<string, unknown>),
        tenantPriorityOverrides: (raw["claimed_tenant_overrides"] as Record<string, unknown> | null) ?? {},
      });
    }
    return job;
  });
}

/** Extends the leases of jobs this worker still holds; returns the ids it no longer holds. */
export async function extendLeases(
  db: Db,
  workerId: string,
  ids: number[],
  until: Date,
): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const kept = await db
    .update(jobs)
    .set({ lockedUntil: until })
    .where(and(inArray(jobs.id, ids), eq(jobs.lockedBy, workerId), eq(jobs.status, "pending")))
    .returning({ id: jobs.id });
  const keptIds = new Set(kept.map((k) => k.id));
  return new Set(ids.filter((id) => !keptIds.has(id)));
}

/** True (and the row locked) when this worker's claim of the job still stands. */
export async function stillMine(tx: Tx, job: JobRow, workerId: string): Promise<boolean> {
  const [current] = await tx.select().from(jobs).where(eq(jobs.id, job.id)).for("update");
  return (
    current !== undefined &&
    current.status === "pending" &&
    current.lockedBy === workerId &&
    current.attempts === job.attempts
  );
}

/** Gives jobs back without counting the attempt (shutdown, a paused connection): another worker takes them. */
export async function releaseJobs(db: Db, workerId: string, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(jobs)
    .set({ lockedBy: null, lockedUntil: null, attempts: sql`greatest(${jobs.attempts} - 1, 0)` })
    .where(and(inArray(jobs.id, ids), eq(jobs.lockedBy, workerId), eq(jobs.status, "pending")));
}

/** The periodic kinds as SQL literals (a literal list lets the planner match partial indexes). */
export const periodicKindList = sql.raw(periodicJobKinds.map((kind) => `'${kind}'`).join(", "));

/** Pending effect jobs, the oldest one's age and the open dead letters: information for `/readyz` and health. */
export async function jobBacklog(
  db: Db,
): Promise<{ pending: number; oldestPendingAgeSeconds: number | null; dead: number }> {
  const [row] = await queryRows<{ pending: number; oldest: string | Date | null; dead: number }>(
    db,
    sql`select
          count(*) filter (where status = 'pending')::int as pending,
          min(created_at) filter (where status = 'pending') as oldest,
          count(*) filter (where status = 'dead')::int as dead
        from jobs
        where kind not in (${periodicKindList}) and status in ('pending', 'dead')`,
  );
  const oldest = row?.oldest ? new Date(row.oldest) : null;
  return {
    pending: Number(row?.pending ?? 0),
    oldestPendingAgeSeconds: oldest ? Math.max(0, Math.round((Date.now() - oldest.getTime()) / 1000)) : null,
    dead: Number(row?.dead ?? 0),
  };
}
