import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { z } from "zod";
import { redactSecretValues, secretValues } from "../../connectors/sdk/index.js";
import type { ConnectionHealth, ConnectionHealthSummary } from "../../schemas/connection.js";
import type { Actor } from "../auth/principal.js";
import { type Db, type Queryable, queryRows } from "../db/client.js";
import { connectionHealth, connections, type HealthState } from "../db/schema/index.js";
import { periodicKindList } from "../jobs/queue.js";
import { appendLedger } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { type ConnectionRow, loadConnectionRow } from "./connections.js";

type HealthSnapshot = typeof connectionHealth.$inferSelect;

/** The thresholds of the state rules (docs/operations.md#connection-health). */
export const healthRules = {
  shortWindowMs: 15 * 60_000,
  longWindowMs: 24 * 3_600_000,
  /** Failures in a row (since the last success) that make a connection failing even with successes earlier. */
  failingConsecutiveFailures: 5,
  /** Share of failed attempts in the short window above which a connection is degraded. */
  degradedFailureRatio: 0.25,
  /** A pending job older than this means the connection does not keep up. */
  degradedBacklogAgeMs: 15 * 60_000,
} as const;

/** What one evaluation sees of a connection. */
export interface HealthFigures {
  deliveries15m: number;
  failures15m: number;
  deliveries24h: number;
  failures24h: number;
  consecutiveFailures: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureReason: string | null;
  pending: number;
  oldestPendingAt: Date | null;
  deadLetters: number;
}

export interface ObservedHealth {
  state: HealthState;
  reasons: string[];
}

const minutes = (ms: number) => Math.round(ms / 60_000);

/** The state the rules give for what is seen now, before damping. Pure. */
export function observeHealth(
  row: Pick<ConnectionRow, "status" | "pausedBy" | "pausedReason" | "holdUntil" | "lastPollError">,
  figures: HealthFigures,
  now: Date,
): ObservedHealth {
  if (row.status === "paused" && row.pausedBy !== "system") {
    return { state: "paused", reasons: [`paused: ${row.pausedReason ?? "by an operator"}`] };
  }
  const failing: string[] = [];
  if (row.status === "paused")
    failing.push(`settings_invalid: ${row.pausedReason ?? "paused by the engine"}`);
  if (figures.failures15m > 0 && figures.deliveries15m === 0) {
    failing.push(`no_success: ${figures.failures15m} failed attempts and no success in 15 min`);
  }
  if (figures.consecutiveFailures >= healthRules.failingConsecutiveFailures) {
    failing.push(`consecutive_failures: ${figures.consecutiveFailures} failed attempts in a row`);
  }
  if (failing.length > 0) return { state: "failing", reasons: failing };

  const degraded: string[] = [];
  const attempts = figures.deliveries15m + figures.failures15m;
  if (attempts > 0 && figures.failures15m / attempts > healthRules.degradedFailureRatio) {
    degraded.push(`failure_ratio: ${figures.failures15m} of ${attempts} attempts failed in 15 min`);
  }
  if (
    figures.oldestPendingAt !== null &&
    now.getTime() - figures.oldestPendingAt.getTime() > healthRules.degradedBacklogAgeMs
  ) {
    degraded.push(
      `backlog_old: ${figures.pending} pending, the oldest ${minutes(now.getTime() - figures.oldestPendingAt.getTime())} min old`,
    );
  }
  if (figures.deadLetters > 0) degraded.push(`dead_letters: ${figures.deadLetters} open`);
  if (row.holdUntil !== null && row.holdUntil > now) {
    degraded.push(`held: the vendor asked to wait until ${row.holdUntil.toISOString()}`);
  }
  if (row.lastPollError !== null) degraded.push("poll_failed: the last reconciliation poll failed");
  return degraded.length > 0 ? { state: "degraded", reasons: degraded } : { state: "healthy", reasons: [] };
}

type DampedFields = Pick<
  HealthSnapshot,
  "state" | "stateSince" | "reasons" | "pendingState" | "pendingSince" | "pendingReasons"
>;

export interface HealthChange {
  from: HealthState;
  to: HealthState;
  reason: string;
}

/**
 * Damping: a new state is taken only once it has been observed continuously for `dampingMs` (an observation of
 * another state restarts the wait), so a flapping connection does not change state per attempt. Pausing and
 * resuming are operator actions and take effect at once. A connection's first evaluation starts from healthy.
 * Pure.
 */
export function dampHealth(
  previous: DampedFields | undefined,
  observed: ObservedHealth,
  now: Date,
  dampingMs: number,
): { next: DampedFields; change: HealthChange | null } {
  const current: DampedFields = previous ?? {
    state: observed.state === "paused" ? "paused" : "healthy",
    stateSince: now,
    reasons: [],
    pendingState: null,
    pendingSince: null,
    pendingReasons: null,
  };
  const settled = { pendingState: null, pendingSince: null, pendingReasons: null };
  if (observed.state === current.state) {
    return { next: { ...current, reasons: observed.reasons, ...settled }, change: null };
  }
  const since =
    current.pendingState === observed.state && current.pendingSince !== null ? current.pendingSince : now;
  const immediate = observed.state === "paused" || current.state === "paused";
  if (immediate || now.getTime() - since.getTime() >= dampingMs) {
    return {
      next: { state: observed.state, stateSince: now, reasons: observed.reasons, ...settled },
      change: {
        from: current.state,
        to: observed.state,
        reason: observed.reasons.join("; ").slice(0, 500) || "no rule holds",
      },
    };
  }
  return {
    next: {
      ...current,
      pendingState: observed.state,
      pendingSince: since,
      pendingReasons: observed.reasons,
    },
    change: null,
  };
}

/** The ledger kinds health counts; literal SQL so the planner matches `ledger_connection_outcome_idx`. */
const outcomeKinds = sql.raw(`'sync.sent', 'sync.applied', 'sync.failed'`);

const asDate = (value: string | Date | null | undefined) => (value ? new Date(value) : null);

function idList(ids: string[]) {
  return sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  );
}

/** Deliveries and failures of the last 15 min and 24 h per connection, from the ledger (nothing extra written). */
async function outcomeFigures(db: Queryable, ids: string[], now: Date) {
  const since24h = new Date(now.getTime() - healthRules.longWindowMs).toISOString();
  const since15m = new Date(now.getTime() - healthRules.shortWindowMs).toISOString();
  const rows = await queryRows<{
    connection_id: string;
    deliveries_15m: number;
    failures_15m: number;
    deliveries_24h: number;
    failures_24h: number;
    consecutive_failures: number;
    last_success_at: string | Date | null;
    last_failure_at: string | Date | null;
  }>(
    db,
    sql`with recent as (
          select connection_id, kind, occurred_at from ledger_entries
          where connection_id in (${idList(ids)}) and kind in (${outcomeKinds})
            and occurred_at > ${since24h}::timestamptz
        ),
        last_success as (
          select connection_id, max(occurred_at) as at from recent where kind <> 'sync.failed' group by connection_id
        )
        select r.connection_id,
          count(*) filter (where r.kind <> 'sync.failed' and r.occurred_at > ${since15m}::timestamptz)::int as deliveries_15m,
          count(*) filter (where r.kind = 'sync.failed' and r.occurred_at > ${since15m}::timestamptz)::int as failures_15m,
          count(*) filter (where r.kind <> 'sync.failed')::int as deliveries_24h,
          count(*) filter (where r.kind = 'sync.failed')::int as failures_24h,
          count(*) filter (where r.kind = 'sync.failed' and (s.at is null or r.occurred_at > s.at))::int as consecutive_failures,
          max(s.at) as last_success_at,
          max(r.occurred_at) filter (where r.kind = 'sync.failed') as last_failure_at
        from recent r left join last_success s on s.connection_id = r.connection_id
        group by r.connection_id`,
  );
  const failures = await queryRows<{ connection_id: string; detail: Record<string, unknown> }>(
    db,
    sql`select distinct on (connection_id) connection_id, detail from ledger_entries
        where connection_id in (${idList(ids)}) and kind in (${outcomeKinds}) and kind = 'sync.failed'
          and occurred_at > ${since24h}::timestamptz
        order by connection_id, occurred_at desc`,
  );
  const reasons = new Map(failures.map((f) => [f.connection_id, failureReasonOf(f.detail)]));
  return new Map(
    rows.map((r) => [
      r.connection_id,
      {
        deliveries15m: Number(r.deliveries_15m),
        failures15m: Number(r.failures_15m),
        deliveries24h: Number(r.deliveries_24h),
        failures24h: Number(r.failures_24h),
        consecutiveFailures: Number(r.consecutive_failures),
        lastSuccessAt: asDate(r.last_success_at),
        lastFailureAt: asDate(r.last_failure_at),
        lastFailureReason: reasons.get(r.connection_id) ?? null,
      },
    ]),
  );
}

/** A `sync.failed` entry's cause as one line: `http_500 (HTTP 500): <message>`. */
function failureReasonOf(detail: Record<string, unknown>): string {
  const cause = typeof detail["cause"] === "string" ? detail["cause"] : "error";
  const status = typeof detail["httpStatus"] === "number" ? ` (HTTP ${detail["httpStatus"]})` : "";
  const message = typeof detail["error"] === "string" ? `: ${detail["error"]}` : "";
  return `${cause}${status}${message}`;
}

/** Pending jobs, the oldest one's creation and open dead letters per connection, live (`jobs_order_idx`). */
export async function backlogFigures(db: Queryable, ids: string[]) {
  if (ids.length === 0)
    return new Map<string, { pending: number; oldestPendingAt: Date | null; dead: number }>();
  const rows = await queryRows<{
    connection_id: string;
    pending: number;
    oldest: string | Date | null;
    dead: number;
  }>(
    db,
    sql`select connection_id,
          count(*) filter (where status = 'pending')::int as pending,
          min(created_at) filter (where status = 'pending') as oldest,
          count(*) filter (where status = 'dead')::int as dead
        from jobs
        where connection_id in (${idList(ids)}) and status in ('pending', 'dead') and kind not in (${periodicKindList})
        group by connection_id`,
  );
  return new Map(
    rows.map((r) => [
      r.connection_id,
      { pending: Number(r.pending), oldestPendingAt: asDate(r.oldest), dead: Number(r.dead) },
    ]),
  );
}

/** The connection's secret values (to replace in stored failure text); none when its settings no longer parse. */
export function connectionSecrets(engine: Pick<EngineDeps, "secretsKey">, row: ConnectionRow): string[] {
  try {
    const loaded = loadConnectionRow(engine, row);
    return secretValues(loaded.settings, loaded.connector.secretPaths);
  } catch {
    return [];
  }
}

const systemActor: Actor = { type: "system", id: "health" };

export interface EvaluateOptions {
  engine: Pick<EngineDeps, "secretsKey">;
  now: Date;
  dampingMs: number;
  /** Who caused a change (an operator pausing); the health job otherwise. */
  actor?: Actor;
}

/**
 * Evaluates these connections and stores each snapshot with a compare-and-set on its version: of two
 * evaluations racing, one writes, and only a written change is ledgered (`connection.health_changed`, in the
 * same transaction).
 */
export async function evaluateConnections(
  db: Queryable,
  rows: ConnectionRow[],
  options: EvaluateOptions,
): Promise<{ connectionId: string; tenantId: string | null; change: HealthChange }[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [outcomes, backlog] = await Promise.all([
    outcomeFigures(db, ids, options.now),
    backlogFigures(db, ids),
  ]);
  const changes: { connectionId: string; tenantId: string | null; change: HealthChange }[] = [];
  for (const row of rows) {
    const change = await db.transaction(async (tx) => {
      const [previous] = await tx
        .select()
        .from(connectionHealth)
        .where(eq(connectionHealth.connectionId, row.id));
      const outcome = outcomes.get(row.id);
      const jobs = backlog.get(row.id);
      const secrets = connectionSecrets(options.engine, row);
      const failureReason = outcome?.lastFailureReason ?? null;
      const figures: HealthFigures = {
        deliveries15m: outcome?.deliveries15m ?? 0,
        failures15m: outcome?.failures15m ?? 0,
        deliveries24h: outcome?.deliveries24h ?? 0,
        failures24h: outcome?.failures24h ?? 0,
        consecutiveFailures: outcome?.consecutiveFailures ?? 0,
        // Older than the window: what the last snapshot knew.
        lastSuccessAt: outcome?.lastSuccessAt ?? previous?.lastSuccessAt ?? null,
        lastFailureAt: outcome?.lastFailureAt ?? previous?.lastFailureAt ?? null,
        lastFailureReason:
          failureReason !== null
            ? redactSecretValues(failureReason, secrets).slice(0, 500)
            : (previous?.lastFailureReason ?? null),
        pending: jobs?.pending ?? 0,
        oldestPendingAt: jobs?.oldestPendingAt ?? null,
        deadLetters: jobs?.dead ?? 0,
      };
      const observed = observeHealth(row, figures, options.now);
      const { next, change } = dampHealth(previous, observed, options.now, options.dampingMs);
      const values = {
        ...next,
        tenantId: row.tenantId,
        evaluatedAt: options.now,
        lastSuccessAt: figures.lastSuccessAt,
        lastFailureAt: figures.lastFailureAt,
        lastFailureReason: figures.lastFailureReason,
        deliveries15m: figures.deliveries15m,
        failures15m: figures.failures15m,
        deliveries24h: figures.deliveries24h,
        failures24h: figures.failures24h,
        consecutiveFailures: figures.consecutiveFailures,
      };
      const written = previous
        ? await tx
            .update(connectionHealth)
            .set({ ...values, version: previous.version + 1 })
            .where(
              and(eq(connectionHealth.connectionId, row.id), eq(connectionHealth.version, previous.version)),
            )
            .returning({ id: connectionHealth.connectionId })
        : await tx
            .insert(connectionHealth)
            .values({ ...values, connectionId: row.id, version: 1 })
            .onConflictDoNothing()
            .returning({ id: connectionHealth.connectionId });
      if (written.length === 0 || change === null) return null;
      await appendLedger(tx, [
        {
          tenantId: row.tenantId,
          connectionId: row.id,
          direction: "internal",
          kind: "connection.health_changed",
          actor: options.actor ?? systemActor,
          side: "provider",
          detail: { connectionId: row.id, from: change.from, to: change.to, reason: change.reason },
        },
      ]);
      return change;
    });
    if (change) changes.push({ connectionId: row.id, tenantId: row.tenantId, change });
  }
  return changes;
}

/**
 * Locks a connection's snapshot for the caller's transaction (an operator's pause, which must not lose its write
 * to a concurrent evaluation). Taken before any ledger append: the health job locks the snapshot row, then the
 * ledger chain, and the same order everywhere cannot deadlock.
 */
export async function lockHealthSnapshot(tx: Queryable, connectionId: string): Promise<void> {
  await tx
    .select({ id: connectionHealth.connectionId })
    .from(connectionHealth)
    .where(eq(connectionHealth.connectionId, connectionId))
    .for("update");
}

const BATCH = 200;

/** The `connection.health` job's pass: every active or paused connection, a batch at a time. */
export async function evaluateAllConnections(db: Db, options: EvaluateOptions) {
  const changes: Awaited<ReturnType<typeof evaluateConnections>> = [];
  let after = "";
  for (;;) {
    const rows = await db
      .select()
      .from(connections)
      .where(and(inArray(connections.status, ["active", "paused"]), gt(connections.id, after)))
      .orderBy(asc(connections.id))
      .limit(BATCH);
    changes.push(...(await evaluateConnections(db, rows, options)));
    if (rows.length < BATCH) return changes;
    after = rows.at(-1)!.id;
  }
}

type Summary = z.infer<typeof ConnectionHealthSummary>;
type Health = z.infer<typeof ConnectionHealth>;

const iso = (value: Date | null | undefined) => value?.toISOString() ?? null;

/**
 * The served health of these connections: the last snapshot plus live fields (backlog, dead letters, pause,
 * hold, rate limit, last poll). A connection not yet evaluated shows `healthy` with `evaluatedAt` null.
 */
export async function healthOf(
  db: Queryable,
  rows: ConnectionRow[],
  now: Date,
): Promise<Map<string, Health>> {
  const ids = rows.map((r) => r.id);
  const [snapshots, backlog] = await Promise.all([
    ids.length === 0
      ? Promise.resolve([] as HealthSnapshot[])
      : db.select().from(connectionHealth).where(inArray(connectionHealth.connectionId, ids)),
    backlogFigures(db, ids),
  ]);
  const byId = new Map(snapshots.map((s) => [s.connectionId, s]));
  const result = new Map<string, Health>();
  for (const row of rows) {
    const snapshot = byId.get(row.id);
    const jobs = backlog.get(row.id);
    const operatorPaused = row.status === "paused" && row.pausedBy !== "system";
    result.set(row.id, {
      connectionId: row.id,
      // A pause shows at once, even before the snapshot that records it.
      state: operatorPaused ? "paused" : (snapshot?.state ?? "healthy"),
      stateSince: iso(snapshot?.stateSince ?? (operatorPaused ? row.pausedAt : null)),
      evaluatedAt: iso(snapshot?.evaluatedAt),
      reasons: snapshot?.reasons ?? [],
      pending:
        snapshot?.pendingState && snapshot.pendingSince
          ? {
              state: snapshot.pendingState,
              since: snapshot.pendingSince.toISOString(),
              reasons: snapshot.pendingReasons ?? [],
            }
          : null,
      lastSuccessAt: iso(snapshot?.lastSuccessAt),
      lastFailureAt: iso(snapshot?.lastFailureAt),
      lastFailureReason: snapshot?.lastFailureReason ?? null,
      consecutiveFailures: snapshot?.consecutiveFailures ?? 0,
      last15m: { deliveries: snapshot?.deliveries15m ?? 0, failures: snapshot?.failures15m ?? 0 },
      last24h: { deliveries: snapshot?.deliveries24h ?? 0, failures: snapshot?.failures24h ?? 0 },
      backlog: {
        pending: jobs?.pending ?? 0,
        oldestPendingAgeSeconds: jobs?.oldestPendingAt
          ? Math.max(0, Math.round((now.getTime() - jobs.oldestPendingAt.getTime()) / 1000))
          : null,
      },
      deadLetters: jobs?.dead ?? 0,
      lastPoll: row.lastPolledAt
        ? { at: row.lastPolledAt.toISOString(), ok: row.lastPollError === null, error: row.lastPollError }
        : null,
      holdUntil: row.holdUntil !== null && row.holdUntil > now ? row.holdUntil.toISOString() : null,
      rateLimit:
        row.rateLimitRemaining !== null && row.rateLimitResetAt !== null && row.rateLimitSeenAt !== null
          ? {
              remaining: row.rateLimitRemaining,
              resetAt: row.rateLimitResetAt.toISOString(),
              observedAt: row.rateLimitSeenAt.toISOString(),
            }
          : null,
    });
  }
  return result;
}

/** The summary each connection carries in the API. */
export function summaryOf(health: Health): Summary {
  return {
    state: health.state,
    stateSince: health.stateSince,
    evaluatedAt: health.evaluatedAt,
    lastSuccessAt: health.lastSuccessAt,
    lastFailureAt: health.lastFailureAt,
    backlog: health.backlog,
    deadLetters: health.deadLetters,
  };
}
