import { sql } from "drizzle-orm";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type Db, queryRows } from "../db/client.js";

/**
 * The gateway's Prometheus series, on a registry of its own (prom-client's global one stays empty).
 * Counters and histograms are this process's; the `database` gauges are computed from the database at scrape
 * time, so every process reports the same values (aggregate them with `max`, never `sum`).
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

// Seconds: an API call (ms) up to a slow vendor (the 15 s default timeout) and beyond.
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Enqueue to done spans backoffs and retries: seconds to a day.
const queueBuckets = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** An HTTP method as a label: anything unusual is OTHER, so a client cannot mint series. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return knownMethods.has(upper) ? upper : "OTHER";
}

export const httpRequestDuration = new Histogram({
  name: "tsg_http_request_duration_seconds",
  help: "HTTP requests served, by route pattern (never the raw path) and status.",
  labelNames: ["method", "route", "status"] as const,
  buckets: latencyBuckets,
  registers: [metricsRegistry],
});

export const jobsTotal = new Counter({
  name: "tsg_jobs_total",
  help: "Job runs by kind and outcome (done, skipped, rescheduled, retry, dead, failed, released, lost_lease).",
  labelNames: ["kind", "outcome"] as const,
  registers: [metricsRegistry],
});

export const jobRunDuration = new Histogram({
  name: "tsg_job_run_duration_seconds",
  help: "Time one job run took in this process (handler and commit), by kind.",
  labelNames: ["kind"] as const,
  buckets: latencyBuckets,
  registers: [metricsRegistry],
});

export const jobEnqueueToDone = new Histogram({
  name: "tsg_job_enqueue_to_done_seconds",
  help: "From a job's enqueue to its successful end (retries and backoff included), by kind.",
  labelNames: ["kind"] as const,
  buckets: queueBuckets,
  registers: [metricsRegistry],
});

export const vendorRequestDuration = new Histogram({
  name: "tsg_vendor_request_duration_seconds",
  help: "Calls to vendors (to response headers), by connector type, method and outcome (2xx, 4xx, 429, 5xx, timeout, network_error, blocked).",
  labelNames: ["connector", "method", "outcome"] as const,
  buckets: latencyBuckets,
  registers: [metricsRegistry],
});

export const webhooksAccepted = new Counter({
  name: "tsg_webhooks_accepted_total",
  help: "Vendor webhooks stored in the inbox (answered 202), by connector type.",
  labelNames: ["connector"] as const,
  registers: [metricsRegistry],
});

export const webhooksRejected = new Counter({
  name: "tsg_webhooks_rejected_total",
  help: "Vendor webhooks refused, by connector type and reason (unknown_connection, unverified, malformed).",
  labelNames: ["connector", "reason"] as const,
  registers: [metricsRegistry],
});

export const ledgerAppendDuration = new Histogram({
  name: "tsg_ledger_append_duration_seconds",
  help: "Time to append one batch of ledger entries (chain locks included) inside its transaction.",
  buckets: latencyBuckets,
  registers: [metricsRegistry],
});

export const dbQueriesInFlight = new Gauge({
  name: "tsg_db_queries_in_flight",
  help: "Database queries issued by this process and not yet answered (including those waiting for a pooled connection).",
  registers: [metricsRegistry],
});

const collectFailures = new Counter({
  name: "tsg_metrics_collect_failures_total",
  help: "Scrapes whose database-derived gauges could not be computed (the gauges keep their last values).",
  registers: [metricsRegistry],
});

export interface ScrapeSource {
  db: Db;
  /** Adds a tenant label to the SLA gauges (empty otherwise). */
  tenantLabels: boolean;
  /** How long one database snapshot is reused. */
  cacheMs: number;
}

interface DatabaseSnapshot {
  jobs: { kind: string; pending: number; oldest_age: number | null; dead: number }[];
  sla: { plan: string; priority: string; clock: string; tenant: string; at_risk: number; breached: number }[];
}

let source: ScrapeSource | null = null;
let cached: {
  key: ScrapeSource["db"];
  tenantLabels: boolean;
  at: number;
  snapshot: Promise<DatabaseSnapshot>;
} | null = null;

async function readSnapshot(db: Db, tenantLabels: boolean): Promise<DatabaseSnapshot> {
  // Periodic jobs (the ones with a singleton key) are rescheduled in place: their age is how long they are
  // overdue, not how long since they were first created.
  const jobs = await queryRows<DatabaseSnapshot["jobs"][number]>(
    db,
    sql`select kind,
          count(*) filter (where status = 'pending')::int as pending,
          extract(epoch from now() - min(case when singleton_key is not null then least(next_attempt_at, now())
                                              else created_at end) filter (where status = 'pending'))::float8 as oldest_age,
          count(*) filter (where status = 'dead')::int as dead
        from jobs where status in ('pending', 'dead') group by kind`,
  );
  // Breached implies at-risk recorded, so the partial index on open at-risk clocks covers both.
  const sla = await queryRows<DatabaseSnapshot["sla"][number]>(
    db,
    sql`select t.plan, k.priority, c.clock, ${tenantLabels ? sql`c.tenant_id` : sql`''`} as tenant,
          count(*) filter (where c.breached_at is null)::int as at_risk,
          count(*) filter (where c.breached_at is not null)::int as breached
        from sla_clocks c
        join tickets k on k.id = c.ticket_id
        join tenants t on t.id = c.tenant_id
        where c.at_risk_recorded_at is not null and c.met_at is null and c.stopped_at is null
          and c.clock not like 'escalation:%'
        group by 1, 2, 3, 4`,
  );
  return { jobs, sla };
}

/** One snapshot per `cacheMs`, shared by concurrent scrapes, so a scrape storm costs one query. */
function snapshotOf(current: ScrapeSource): Promise<DatabaseSnapshot> {
  const now = Date.now();
  if (
    cached &&
    cached.key === current.db &&
    cached.tenantLabels === current.tenantLabels &&
    now - cached.at < current.cacheMs
  )
    return cached.snapshot;
  const snapshot = readSnapshot(current.db, current.tenantLabels);
  cached = { key: current.db, tenantLabels: current.tenantLabels, at: now, snapshot };
  // A failed read is not kept: the next scrape tries again.
  snapshot.catch(() => {
    if (cached?.snapshot === snapshot) cached = null;
  });
  return snapshot;
}

/** Runs `apply` on the current snapshot; on a database failure the gauges keep their last values. */
async function fromSnapshot(apply: (snapshot: DatabaseSnapshot) => void) {
  if (!source) return;
  let snapshot: DatabaseSnapshot;
  try {
    snapshot = await snapshotOf(source);
  } catch {
    collectFailures.inc();
    return;
  }
  apply(snapshot);
}

/** A gauge rebuilt from the database snapshot at each scrape: `rows` gives its samples. */
function databaseGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  rows: (snapshot: DatabaseSnapshot) => [Record<L, string>, number][],
) {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    async collect() {
      await fromSnapshot((snapshot) => {
        this.reset();
        for (const [labels, value] of rows(snapshot)) this.set(labels, value);
      });
    },
  });
}

databaseGauge(
  "tsg_jobs_pending",
  "Queue depth: pending jobs by kind (database-wide, the same from every process).",
  ["kind"],
  (s) => s.jobs.map((row) => [{ kind: row.kind }, Number(row.pending)]),
);

databaseGauge(
  "tsg_jobs_oldest_pending_age_seconds",
  "Age of the oldest pending job by kind (periodic kinds: how long overdue); database-wide.",
  ["kind"],
  (s) =>
    s.jobs
      .filter((row) => row.oldest_age !== null)
      .map((row) => [{ kind: row.kind }, Math.max(0, Number(row.oldest_age))]),
);

databaseGauge(
  "tsg_dead_letters_open",
  "Dead-lettered jobs not yet replayed or skipped, by kind; database-wide.",
  ["kind"],
  (s) => s.jobs.filter((row) => Number(row.dead) > 0).map((row) => [{ kind: row.kind }, Number(row.dead)]),
);

const slaSamples = (field: "at_risk" | "breached") => (s: DatabaseSnapshot) =>
  s.sla
    .filter((row) => Number(row[field]) > 0)
    .map(
      (row) =>
        [
          { plan: row.plan, priority: row.priority, clock: row.clock, tenant: row.tenant },
          Number(row[field]),
        ] as [Record<"plan" | "priority" | "clock" | "tenant", string>, number],
    );

databaseGauge(
  "tsg_sla_clocks_at_risk",
  "Running SLA clocks past their plan's at-risk point and not yet due, by plan, priority and clock; database-wide.",
  ["plan", "priority", "clock", "tenant"],
  slaSamples("at_risk"),
);

databaseGauge(
  "tsg_sla_clocks_breached",
  "Running SLA clocks past their due time (breached, not yet met or stopped), by plan, priority and clock; database-wide.",
  ["plan", "priority", "clock", "tenant"],
  slaSamples("breached"),
);

/** The text exposition of every series, the database gauges read from `scrape.db` (cached `cacheMs`). */
export async function renderMetrics(scrape: ScrapeSource): Promise<string> {
  source = scrape;
  return metricsRegistry.metrics();
}

export const metricsContentType = metricsRegistry.contentType;

/** Observes `fn`'s duration on `histogram` (seconds), whether it resolves or throws. */
export async function timed<T>(observe: (seconds: number) => void, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    observe((performance.now() - started) / 1000);
  }
}
