import { eq, sql } from "drizzle-orm";
import { failureText, secretValues } from "../../connectors/sdk/index.js";
import { type Db, type Queryable, queryRows, type Tx } from "../db/client.js";
import { isDatabaseError } from "../db/errors.js";
import { groupCommitter } from "../db/group-commit.js";
import { connections, type JobKind, jobs } from "../db/schema/index.js";
import { appendLedger, batchLedgerAppends, type LedgerEntryInput } from "../ledger/append.js";
import { jobEnqueueToDone, jobRunDuration, jobsTotal } from "../observability/metrics.js";
import { contextOfTraceparent, inSpan, SpanKind, tracingEnabled } from "../observability/tracing.js";
import { loadConnection } from "../sync/connections.js";
import { backoffMs } from "../sync/settings.js";
import { classifyFailure, errorMessage } from "./classify.js";
import { claimJobs, extendLeases, holdSuccessors, releaseJobs, stillMine } from "./queue.js";
import { jobHandlers } from "./registry.js";
import type { JobContext, JobHandlers, JobResult, JobRow } from "./types.js";

/** The ledger entry of a job's step: the ticket it concerns, its connection, and what happened. */
export function jobLedgerEntry(job: JobRow, kind: string, detail: Record<string, unknown>): LedgerEntryInput {
  const payloadTicket = job.payload["ticketId"];
  const inbound = job.kind === "inbox.apply";
  return {
    tenantId: job.tenantId,
    ticketId: job.orderKey?.startsWith("tkt_")
      ? job.orderKey
      : typeof payloadTicket === "string"
        ? payloadTicket
        : null,
    connectionId: job.connectionId,
    direction: inbound ? "inbound" : "outbound",
    kind,
    actor: { type: "system", id: inbound ? "inbox" : "outbox" },
    side: "provider",
    externalId: inbound && job.orderKey?.startsWith("in:") ? job.orderKey.slice(3) : null,
    detail: { job: job.kind, jobId: job.id, ...detail },
  };
}

/** How a run ended, for `tsg_jobs_total`. */
type RunOutcome =
  | "done"
  | "skipped"
  | "rescheduled"
  | "retry"
  | "dead"
  | "failed"
  | "released"
  | "lost_lease"
  | "unrecorded";

async function finish(ctx: JobContext, job: JobRow, result: JobResult): Promise<RunOutcome> {
  if (result.outcome !== "reschedule") {
    return groupCommitter(ctx.db, "job-finish", finishTogether).submit({
      job,
      result,
      workerId: ctx.workerId,
      finishedAt: ctx.now(),
    });
  }
  return ctx.db.transaction(async (tx) => {
    if (!(await stillMine(tx, job, ctx.workerId))) return "lost_lease";
    await result.commit?.(tx);
    const wake = result.wakeAt ? await result.wakeAt(tx) : result.at;
    const at = new Date(Math.min(wake.getTime(), result.at.getTime()));
    await tx
      .update(jobs)
      .set({
        lockedBy: null,
        lockedUntil: null,
        lastError: null,
        lastHttpStatus: null,
        attempts: 0,
        firstAttemptAt: null,
        nextAttemptAt: at,
      })
      .where(eq(jobs.id, job.id));
    await holdSuccessors(tx, job, at);
    return "rescheduled";
  });
}

interface Finishing {
  job: JobRow;
  result: Extract<JobResult, { outcome: "done" | "skipped" }>;
  workerId: string;
  finishedAt: Date;
}

/**
 * Jobs that finished at about the same time, marked done (or skipped) in one transaction: the lease check and
 * the mark in one statement for all of them (it locks the rows as the check would), then each job's own writes
 * in that transaction, so they commit with its mark or not at all, and their ledger entries appended together.
 * One job whose writes fail is retried alone by the group commit, so it cannot fail the others.
 */
async function finishTogether(tx: Tx, items: Finishing[]): Promise<RunOutcome[]> {
  const values = sql.join(
    items.map(
      ({ job, result, workerId, finishedAt }) =>
        sql`(${job.id}::bigint, ${job.attempts}::int, ${workerId}, ${result.outcome === "done" ? "done" : "skipped"},
             ${result.outcome === "skipped" ? result.reason : null}::text, ${finishedAt.toISOString()}::timestamptz)`,
    ),
    sql`, `,
  );
  const marked = await queryRows<{ id: number | string }>(
    tx,
    sql`update jobs set status = v.status, finished_at = v.finished_at, last_error = v.reason,
          locked_by = null, locked_until = null, last_http_status = null
        from (values ${values}) as v(id, attempts, worker, status, reason, finished_at)
        where jobs.id = v.id and jobs.status = 'pending' and jobs.locked_by = v.worker and jobs.attempts = v.attempts
        returning jobs.id`,
  );
  const mine = new Set(marked.map((row) => Number(row.id)));
  // One ledger append for the batch, and the jobs' writes pipelined ahead of it, as one ticket write's are.
  return batchLedgerAppends(tx, async () => {
    const outcomes: RunOutcome[] = [];
    for (const { job, result } of items) {
      if (!mine.has(job.id)) {
        outcomes.push("lost_lease");
        continue;
      }
      if (result.outcome === "done") await result.commit?.(tx);
      outcomes.push(result.outcome);
    }
    return outcomes;
  });
}

async function ledgerPause(tx: Tx, row: typeof connections.$inferSelect, reason: string) {
  await appendLedger(tx, [
    {
      tenantId: row.tenantId,
      connectionId: row.id,
      direction: "internal",
      kind: "connection.paused",
      actor: { type: "system", id: "jobs" },
      side: "provider",
      detail: { reason: reason.slice(0, 300), by: "system" },
    },
  ]);
}

/**
 * What a dead letter shows: the error with the vendor's answer (capped), the connection's secret values
 * replaced. Logs and the ledger carry only the short message.
 */
async function storedFailureText(ctx: JobContext, job: JobRow, error: unknown): Promise<string> {
  let secrets: string[] = [];
  if (job.connectionId !== null) {
    try {
      const loaded = await loadConnection(ctx.db, ctx.engine, job.connectionId);
      if (loaded) secrets = secretValues(loaded.settings, loaded.connector.secretPaths);
    } catch {
      // Settings that no longer parse hold no secret the error could echo back in a usable form.
    }
  }
  // Database errors quote parameters in their messages: the same safe text as the ledger's.
  return isDatabaseError(error) ? errorMessage(error) : failureText(error, secrets);
}

async function recordFailure(
  ctx: JobContext,
  job: JobRow,
  error: unknown,
  latencyMs: number,
  handlers: JobHandlers,
): Promise<RunOutcome> {
  const handler = handlers[job.kind];
  const failure = classifyFailure(error);
  const message = errorMessage(error);
  const stored = await storedFailureText(ctx, job, error);
  const now = ctx.now();
  const logFields = {
    jobId: job.id,
    jobKind: job.kind,
    connectionId: job.connectionId,
    tenantId: job.tenantId,
    attempt: job.attempts,
    httpStatus: failure.httpStatus,
    reason: failure.reason,
  };
  if (failure.pauseConnection !== null && job.connectionId !== null) {
    await ctx.db.transaction(async (tx) => {
      const [paused] = await tx
        .update(connections)
        .set({
          status: "paused",
          pausedReason: failure.pauseConnection,
          pausedBy: "system",
          pausedAt: now,
          updatedAt: now,
        })
        .where(eq(connections.id, job.connectionId!))
        .returning();
      if (paused) await ledgerPause(tx, paused, failure.pauseConnection!);
    });
    await releaseJobs(ctx.db, ctx.workerId, [job.id]);
    ctx.logger.warn(
      { ...logFields, event: "connection.paused" },
      "connection paused: its settings no longer parse",
    );
    return "released";
  }
  if (handler.periodic) {
    await handler.onPeriodicFailure?.(ctx, job, error);
    const at =
      handler.retryAt?.(ctx, job) ?? new Date(now.getTime() + backoffMs(ctx.engine.sync, job.attempts));
    await ctx.db
      .update(jobs)
      .set({
        lockedBy: null,
        lockedUntil: null,
        nextAttemptAt: at,
        lastError: message,
        lastHttpStatus: failure.httpStatus,
      })
      .where(eq(jobs.id, job.id));
    ctx.logger.warn({ ...logFields, event: "job.failed", retryAt: at.toISOString() }, "periodic job failed");
    return "failed";
  }
  const tooOld =
    job.firstAttemptAt !== null && now.getTime() - job.firstAttemptAt.getTime() > ctx.engine.sync.maxAgeMs;
  const dead = !failure.retry || job.attempts >= ctx.engine.sync.maxAttempts || tooOld;
  const deadReason = !failure.retry ? "permanent_error" : tooOld ? "max_age" : "max_attempts";
  const delay = Math.max(backoffMs(ctx.engine.sync, job.attempts), failure.retryAfterMs ?? 0);
  const committed = await ctx.db.transaction(async (tx) => {
    if (!(await stillMine(tx, job, ctx.workerId))) return false;
    await tx
      .update(jobs)
      .set({
        status: dead ? "dead" : "pending",
        deadAt: dead ? now : null,
        deadReason: dead ? `${deadReason}: ${failure.reason}` : null,
        nextAttemptAt: new Date(now.getTime() + (dead ? 0 : delay)),
        lockedBy: null,
        lockedUntil: null,
        lastError: stored,
        lastHttpStatus: failure.httpStatus,
      })
      .where(eq(jobs.id, job.id));
    if (!dead) await holdSuccessors(tx, job, new Date(now.getTime() + delay));
    if (failure.retryAfterMs !== null && job.connectionId !== null) {
      // The vendor asked for a pause: the whole connection waits, not only this job.
      const until = new Date(now.getTime() + failure.retryAfterMs);
      await tx
        .update(connections)
        .set({
          holdUntil: sql`greatest(coalesce(${connections.holdUntil}, ${until.toISOString()}::timestamptz), ${until.toISOString()}::timestamptz)`,
        })
        .where(eq(connections.id, job.connectionId));
    }
    const connectorType = await connectorTypeOf(tx, job.connectionId);
    const detail = { connector: connectorType, attempt: job.attempts };
    const entries = [
      jobLedgerEntry(job, "sync.failed", {
        ...detail,
        httpStatus: failure.httpStatus,
        latencyMs,
        error: message.slice(0, 200),
        cause: failure.reason,
        retryable: failure.retry,
        ...(job.kind === "inbox.apply" ? { stage: "apply" } : {}),
      }),
      dead
        ? jobLedgerEntry(job, "sync.dead_lettered", { ...detail, reason: deadReason, cause: failure.reason })
        : jobLedgerEntry(job, "sync.retry_scheduled", { ...detail, delayMs: delay }),
    ];
    await appendLedger(tx, entries);
    return true;
  });
  if (!committed) return "lost_lease";
  if (dead) {
    ctx.logger.error({ ...logFields, event: "job.dead_lettered", deadReason }, "job dead-lettered");
  } else {
    ctx.logger.warn({ ...logFields, event: "job.attempt_failed", retryInMs: delay }, "job attempt failed");
  }
  if (dead && job.kind === "inbox.apply") await markInboxDead(ctx.db, job);
  return dead ? "dead" : "retry";
}

async function markInboxDead(db: Db, job: JobRow) {
  const inboxId = Number(job.payload["inboxId"]);
  if (Number.isFinite(inboxId)) await db.execute(sql`update inbox set status = 'dead' where id = ${inboxId}`);
}

async function connectorTypeOf(tx: Queryable, connectionId: string | null): Promise<string | null> {
  if (connectionId === null) return null;
  const [row] = await tx
    .select({ type: connections.type })
    .from(connections)
    .where(eq(connections.id, connectionId));
  return row?.type ?? null;
}

/** Runs one claimed job to its end: the handler, then the commit under the lease check, or the failure path. */
export async function runJob(ctx: JobContext, job: JobRow, handlers = jobHandlers): Promise<void> {
  const started = performance.now();
  const outcome = tracingEnabled()
    ? await runTraced(ctx, job, handlers)
    : await runAndRecord(ctx, job, handlers);
  jobsTotal.inc({ kind: job.kind, outcome });
  jobRunDuration.observe({ kind: job.kind }, (performance.now() - started) / 1000);
  if (outcome === "done")
    jobEnqueueToDone.observe(
      { kind: job.kind },
      Math.max(0, (ctx.now().getTime() - job.createdAt.getTime()) / 1000),
    );
}

async function runAndRecord(ctx: JobContext, job: JobRow, handlers: JobHandlers): Promise<RunOutcome> {
  const started = performance.now();
  try {
    const result = await handlers[job.kind].run(ctx, job);
    return await finish(ctx, job, result);
  } catch (error) {
    try {
      return await recordFailure(ctx, job, error, Math.round(performance.now() - started), handlers);
    } catch (recordError) {
      // The database itself failed: the lease runs out and the job is taken again; nothing is lost.
      ctx.logger.error(
        {
          jobId: job.id,
          jobKind: job.kind,
          err: errorMessage(recordError),
          reason: classifyFailure(recordError).reason,
        },
        "could not record a job failure; the job will be retried when its lease ends",
      );
      return "unrecorded";
    }
  }
}

// A connection's type never changes: looked up once per connection and process, and only when tracing.
const connectorTypes = new Map<string, string | null>();

/** The job's run as a span continuing the trace of the request that enqueued it. */
async function runTraced(ctx: JobContext, job: JobRow, handlers: JobHandlers): Promise<RunOutcome> {
  let connector: string | null = null;
  if (job.connectionId !== null) {
    connector = connectorTypes.get(job.connectionId) ?? null;
    if (connector === null) {
      connector = await connectorTypeOf(ctx.db, job.connectionId).catch(() => null);
      if (connector !== null) connectorTypes.set(job.connectionId, connector);
    }
  }
  return inSpan(
    `job ${job.kind}`,
    {
      kind: SpanKind.CONSUMER,
      parent: contextOfTraceparent(job.traceParent),
      attributes: {
        "job.kind": job.kind,
        "job.id": job.id,
        "job.attempt": job.attempts,
        ...(job.connectionId !== null ? { "connection.id": job.connectionId } : {}),
        ...(connector !== null ? { "connector.type": connector } : {}),
      },
    },
    async (span) => {
      const outcome = await runAndRecord(ctx, job, handlers);
      span?.setAttribute("job.outcome", outcome);
      return outcome;
    },
  );
}

export interface RunnerOptions {
  ctx: JobContext;
  /** Jobs in flight in this process. */
  processConcurrency: number;
  /** Jobs in flight per connection across all processes. */
  connectionConcurrency: number;
  tickMs: number;
  leaseMs: number;
  kinds?: readonly JobKind[];
  /** The handlers by kind: the registry's, unless a benchmark measures the queue alone with its own. */
  handlers?: JobHandlers;
}

/**
 * The per-process dispatcher: claims as many jobs as it has free slots, runs them concurrently, extends their
 * leases while they run, and claims again as soon as a slot frees. Any number of processes may run one.
 */
export class JobRunner {
  private readonly inFlight = new Map<number, Promise<void>>();
  private stopped = false;
  private wake: (() => void) | null = null;
  /** Set by `wakeUp` while the loop is claiming, so the loop claims again instead of sleeping a tick. */
  private wakeRequested = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  /** Set when the loop last completed a claim (healthy) — for readiness. */
  lastClaimAt: Date | null = null;

  constructor(private readonly options: RunnerOptions) {}

  get running(): number {
    return this.inFlight.size;
  }

  /** Claims now rather than at the next tick: jobs were queued, or a slot (or a ticket's next job) freed up. */
  wakeUp(): void {
    this.wakeRequested = true;
    this.wake?.();
  }

  /** One claim: starts up to the free slots' worth of jobs and returns how many it started. */
  async claimAndStart(): Promise<number> {
    const free = this.options.processConcurrency - this.inFlight.size;
    if (free <= 0 || this.stopped) return 0;
    const { ctx } = this.options;
    const claimed = await claimJobs(ctx.db, {
      workerId: ctx.workerId,
      now: ctx.now(),
      leaseMs: this.options.leaseMs,
      limit: free,
      connectionConcurrency: this.options.connectionConcurrency,
      ...(this.options.kinds ? { kinds: this.options.kinds } : {}),
    });
    this.lastClaimAt = new Date();
    for (const job of claimed) {
      const running = runJob(ctx, job, this.options.handlers).finally(() => {
        this.inFlight.delete(job.id);
        this.wakeUp();
      });
      this.inFlight.set(job.id, running);
    }
    return claimed.length;
  }

  /** Claims and runs until nothing is runnable now, waiting for every started job (tests, `tickNow`). */
  async runUntilIdle(maxRounds = 1000): Promise<number> {
    let total = 0;
    for (let round = 0; round < maxRounds; round++) {
      const started = await this.claimAndStart();
      total += started;
      if (started === 0) {
        if (this.inFlight.size === 0) break;
        await Promise.race(this.inFlight.values());
      }
    }
    await Promise.all(this.inFlight.values());
    return total;
  }

  start(): void {
    const { ctx, tickMs, leaseMs } = this.options;
    this.heartbeat = setInterval(
      () => {
        const ids = [...this.inFlight.keys()];
        extendLeases(ctx.db, ctx.workerId, ids, new Date(ctx.now().getTime() + leaseMs)).catch((error) =>
          ctx.logger.warn(
            { err: errorMessage(error), workerId: ctx.workerId },
            "could not extend job leases",
          ),
        );
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.loopDone = (async () => {
      while (!this.stopped) {
        let started = 0;
        this.wakeRequested = false;
        const asked = this.options.processConcurrency - this.inFlight.size;
        try {
          started = await this.claimAndStart();
        } catch (error) {
          ctx.logger.error(
            { err: errorMessage(error), reason: classifyFailure(error).reason, workerId: ctx.workerId },
            "job claim failed",
          );
        }
        if (this.stopped) break;
        // A claim that filled every slot it asked for may have left runnable jobs: claim again while slots are
        // free. One that got fewer took all that was runnable then (claims are serialised), so a claim right
        // away would find nothing: a job finishing or queued wakes the loop, one falling due waits the tick.
        if (started === asked && started > 0 && this.inFlight.size < this.options.processConcurrency)
          continue;
        if (this.wakeRequested) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, tickMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        this.wake = null;
      }
    })();
  }

  /**
   * Stops claiming, lets running jobs finish until the deadline, then gives the unfinished ones back (their
   * leases released, the attempt not counted) so another worker takes them at once.
   */
  async stop(deadlineMs = 10_000): Promise<{ finished: number; released: number }> {
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
    const running = [...this.inFlight.keys()];
    const timeout = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), deadlineMs).unref(),
    );
    await Promise.race([Promise.all(this.inFlight.values()), timeout]);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const unfinished = [...this.inFlight.keys()];
    if (unfinished.length > 0) {
      await releaseJobs(this.options.ctx.db, this.options.ctx.workerId, unfinished).catch(() => {});
    }
    return { finished: running.length - unfinished.length, released: unfinished.length };
  }
}
