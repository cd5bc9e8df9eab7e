import { eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TransientHttpError } from "../../connectors/sdk/index.js";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { queryRows } from "../../src/db/client.js";
import { connections, inbox } from "../../src/db/schema/index.js";
import {
  claimJobs,
  enqueueJobs,
  releaseJobs,
  takeClaimedConnection,
  takeClaimedInboxRow,
} from "../../src/jobs/queue.js";
import { jobHandlers } from "../../src/jobs/registry.js";
import { JobRunner, jobLedgerEntry } from "../../src/jobs/runner.js";
import type { JobHandlers, JobRow } from "../../src/jobs/types.js";
import { appendLedger } from "../../src/ledger/append.js";
import { jobContext } from "../../src/runtime.js";
import { inboxRowOf } from "../../src/sync/inbound.js";
import { loadJobConnection } from "../../src/sync/outbound.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

// The claim reads only the heads of runnable queues, and jobs that end together are finished in one
// transaction: asserted as states, order and ledger contents, never as time.

const secret = "claim-finish-webhook-secret-000000";
let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let connectionId: string;

beforeAll(async () => {
  ctx = await createSyncTestApp({ maxAttempts: 5 });
  sim = createServiceNowSimulator({});
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  tenant = await createTenant(ctx);
  const res = await tenant.client.post("/v1/connections", {
    type: "servicenow",
    name: "Claim and finish",
    role: "servicedesk",
    settings: {
      baseUrl: simServer.url,
      auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
      webhookSecret: secret,
    },
  });
  expect(res.status, res.text).toBe(201);
  connectionId = res.body.id;
}, 120_000);

afterAll(async () => {
  await simServer?.close();
  await ctx?.close();
});

interface JobState {
  id: number;
  status: string;
  due: Date;
  lockedBy: string | null;
  attempts: number;
}

async function jobStates(orderKeyPrefix: string): Promise<JobState[]> {
  const rows = await queryRows<{
    id: number | string;
    status: string;
    next_attempt_at: string | Date;
    locked_by: string | null;
    attempts: number;
  }>(
    ctx.database.db,
    sql`select id, status, next_attempt_at, locked_by, attempts from jobs
        where order_key like ${`${orderKeyPrefix}%`} order by id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    due: new Date(r.next_attempt_at),
    lockedBy: r.locked_by,
    attempts: Number(r.attempts),
  }));
}

async function deliveredEntries(orderKeyPrefix: string) {
  return queryRows<{ job_id: string }>(
    ctx.database.db,
    sql`select detail->>'jobId' as job_id from ledger_entries
        where kind = 'sync.delivered' and ticket_id like ${`${orderKeyPrefix}%`} order by sequence`,
  );
}

/** Queues a `comment.add` job per order key on the test connection. */
function queueComments(orderKeys: string[], payload: (i: number) => Record<string, unknown> = () => ({})) {
  return enqueueJobs(
    ctx.database.db,
    orderKeys.map((orderKey, i) => ({
      kind: "comment.add" as const,
      tenantId: tenant.id,
      connectionId,
      orderKey,
      payload: payload(i),
    })),
  );
}

/** Handlers whose `comment.add` runs `behave` and, when it returns, commits a `sync.delivered` entry. */
function handlersWith(behave: (job: JobRow) => Promise<void>): JobHandlers {
  return {
    ...jobHandlers,
    "comment.add": {
      periodic: false,
      run: async (_ctx, job) => {
        await behave(job);
        return {
          outcome: "done",
          commit: async (tx) => {
            if (job.payload["failCommit"] === true) throw new Error("this job's own write fails");
            await appendLedger(tx, [jobLedgerEntry(job, "sync.delivered", { test: true })]);
          },
        };
      },
    },
  };
}

function runnerWith(handlers: JobHandlers, now: () => Date, workerId: string) {
  return new JobRunner({
    ctx: { ...jobContext(ctx.deps, workerId), now },
    processConcurrency: 8,
    connectionConcurrency: 8,
    tickMs: 20,
    leaseMs: 60_000,
    kinds: ["comment.add"],
    handlers,
  });
}

describe("jobs queued behind a job in backoff", () => {
  it("are due no earlier than it, so claims skip them, and still run after it, in order", async () => {
    const key = "tkt_BEHIND1";
    const ran: number[] = [];
    let failFirst = true;
    const handlers = handlersWith(async (job) => {
      ran.push(job.id);
      if (failFirst) {
        failFirst = false;
        throw new TransientHttpError("ServiceNow answered 503", {
          method: "POST",
          url: `${simServer.url}/api/now/table/incident`,
          status: 503,
          attempts: 1,
          latencyMs: 3,
          responseBody: null,
          maybeProcessed: false,
          retryAfterMs: null,
        });
      }
    });
    const queue = (n: number) => queueComments(Array.from({ length: n }, () => key));
    await queue(2);
    let clock = new Date();
    const runner = runnerWith(handlers, () => clock, "behind-worker");
    await runner.runUntilIdle();
    const [first, second] = await jobStates(key);
    expect(first).toMatchObject({ status: "pending", lockedBy: null, attempts: 1 });
    expect(first!.due.getTime()).toBeGreaterThan(clock.getTime());
    // Held with the job it waits for: not due while that one is in backoff.
    expect(second).toMatchObject({ status: "pending", attempts: 0 });
    expect(second!.due.getTime()).toBe(first!.due.getTime());
    // Queued later: due no earlier than the ones ahead of it.
    await queue(1);
    const third = (await jobStates(key))[2]!;
    expect(third.due.getTime()).toBeGreaterThanOrEqual(first!.due.getTime());
    expect(await runner.runUntilIdle()).toBe(0);

    clock = new Date(Math.max(first!.due.getTime(), third.due.getTime()) + 1);
    await runner.runUntilIdle();
    const states = await jobStates(key);
    expect(states.map((s) => s.status)).toEqual(["done", "done", "done"]);
    expect(ran).toEqual([first!.id, first!.id, second!.id, third.id]);
    expect((await deliveredEntries(key)).map((e) => Number(e.job_id))).toEqual(states.map((s) => s.id));
  });
});

describe("jobs that finish together", () => {
  it("commit their marks and ledger entries together; one whose own write fails fails alone", async () => {
    const prefix = "tkt_TOGETHER";
    await queueComments(
      Array.from({ length: 24 }, (_, i) => `${prefix}${String(i).padStart(2, "0")}`),
      (i) => ({
        failCommit: i === 5,
      }),
    );
    // Every run waits until eight have started, so they end together and their finishes share transactions.
    let started = 0;
    let release: () => void = () => {};
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runner = runnerWith(
      handlersWith(async () => {
        if (++started === 8) release();
        if (started <= 8) await allStarted;
      }),
      () => new Date(),
      "together-worker",
    );
    await runner.runUntilIdle();
    const states = await jobStates(prefix);
    const failing = states[5]!;
    expect(states.filter((s) => s.status === "done")).toHaveLength(23);
    // The failing job went down the failure path on its own (a bug is not retried: dead at once).
    expect(failing).toMatchObject({ status: "dead" });
    const failures = await queryRows<{ kind: string }>(
      ctx.database.db,
      sql`select kind from ledger_entries where detail->>'jobId' = ${String(failing.id)} order by sequence`,
    );
    expect(failures.map((f) => f.kind)).toEqual(["sync.failed", "sync.dead_lettered"]);
    const delivered = (await deliveredEntries(prefix)).map((e) => Number(e.job_id));
    expect(new Set(delivered)).toEqual(new Set(states.filter((s) => s.status === "done").map((s) => s.id)));
    expect(delivered).toHaveLength(23);
    const verify = await ctx.admin.get(`/v1/ledger/verify?tenantId=${tenant.id}`);
    expect(verify.status, verify.text).toBe(200);
    expect(verify.body).toMatchObject({ ok: true });
  });

  it("commit nothing for a job whose lease was taken over while it ran, and the rest as usual", async () => {
    const prefix = "tkt_TAKEN";
    await queueComments(Array.from({ length: 6 }, (_, i) => `${prefix}${i}`));
    const victim = `${prefix}2`;
    const runner = runnerWith(
      handlersWith(async (job) => {
        // Another worker takes the job over (its lease ran out, say) before this run ends.
        if (job.orderKey === victim)
          await ctx.database.db.execute(
            sql`update jobs set locked_by = 'other-worker', attempts = attempts + 1 where id = ${job.id}`,
          );
      }),
      () => new Date(),
      "taken-worker",
    );
    await runner.runUntilIdle();
    const states = await jobStates(prefix);
    expect(states.map((s) => s.status)).toEqual(["done", "done", "pending", "done", "done", "done"]);
    expect(states[2]).toMatchObject({ lockedBy: "other-worker" });
    const delivered = (await deliveredEntries(prefix)).map((e) => Number(e.job_id));
    expect(delivered.sort()).toEqual(
      states
        .filter((s) => s.status === "done")
        .map((s) => s.id)
        .sort(),
    );
  });
});

describe("a claimed job's connection", () => {
  it("comes with the claim, as stored, once; the run then needs no read of its own", async () => {
    await enqueueJobs(ctx.database.db, [
      { kind: "comment.add", connectionId, tenantId: tenant.id, orderKey: "tkt_CLAIMEDCONN" },
    ]);
    const [job] = await claimJobs(ctx.database.db, {
      workerId: "claimed-connection",
      now: new Date(),
      leaseMs: 60_000,
      limit: 1,
      connectionConcurrency: 4,
      kinds: ["comment.add"],
    });
    expect(job).toMatchObject({ orderKey: "tkt_CLAIMEDCONN", connectionId, lockedBy: "claimed-connection" });
    expect(job!.createdAt).toBeInstanceOf(Date);
    const [stored] = await ctx.database.db.select().from(connections).where(eq(connections.id, connectionId));
    const claimed = takeClaimedConnection(job!);
    // Every column mapped as drizzle maps a selected row (dates as Date, JSON as objects).
    expect(claimed?.row).toEqual(stored);
    expect(claimed?.tenantPriorityOverrides).toEqual({});
    expect(takeClaimedConnection(job!)).toBeUndefined();
    const loaded = await loadJobConnection(jobContext(ctx.deps, "claimed-connection"), job!);
    expect(loaded?.row).toEqual(stored);
    await releaseJobs(ctx.database.db, "claimed-connection", [job!.id]);
  });
});

/** A stored webhook notice of the test connection (its `sys_id` is the dedupe key). */
async function storedNotice(dedupeKey: string, externalId: string, extra: Record<string, unknown> = {}) {
  const [row] = await ctx.database.db
    .insert(inbox)
    .values({
      connectionId,
      dedupeKey,
      externalId,
      notice: { sys_id: dedupeKey, ...extra },
      source: "webhook",
    })
    .returning();
  return row!;
}

/** The `inbox.apply` job of a stored notice. */
const applyJob = (externalId: string, inboxId: number) => ({
  kind: "inbox.apply" as const,
  connectionId,
  tenantId: tenant.id,
  orderKey: `in:${externalId}`,
  payload: { inboxId },
});

describe("a claimed inbox.apply job's notice", () => {
  it("comes with the claim, as stored, once; a pruned one is looked up and found missing", async () => {
    const stored = await storedNotice("claimed-inbox-1", "INC0099001", { nested: { n: 1 } });
    await enqueueJobs(ctx.database.db, [applyJob("INC0099001", stored.id), applyJob("INC0099002", -1)]);
    const claimed = await claimJobs(ctx.database.db, {
      workerId: "claimed-inbox",
      now: new Date(),
      leaseMs: 60_000,
      limit: 2,
      connectionConcurrency: 4,
      kinds: ["inbox.apply"],
    });
    const byKey = new Map(claimed.map((j) => [j.orderKey, j]));
    const present = byKey.get("in:INC0099001")!;
    const pruned = byKey.get("in:INC0099002")!;
    // Every column mapped as drizzle maps a selected row (dates as Date, JSON as objects).
    expect(takeClaimedInboxRow(present)).toEqual(stored);
    expect(takeClaimedInboxRow(present)).toBeUndefined();
    expect(takeClaimedInboxRow(pruned)).toBeUndefined();
    expect(await inboxRowOf(ctx.database.db, pruned)).toBeNull();
    await releaseJobs(
      ctx.database.db,
      "claimed-inbox",
      claimed.map((j) => j.id),
    );
  });
});

describe("a claim that waited for the claim lock", () => {
  // The claim statement's joins see its own snapshot, taken before claim_jobs waited for the lock; a job
  // committed while it waited is still claimed. Its notice must then be read, not taken as pruned.
  it.runIf(process.env.DATABASE_URL)("reads the notice of a job committed while it waited", async () => {
    const holder = postgres(ctx.database.testUrl!, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = holder.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(1785684595)`;
      locked();
      await released;
    });
    try {
      await lockTaken;
      const claiming = claimJobs(ctx.database.db, {
        workerId: "claim-waited",
        now: new Date(Date.now() + 1_000),
        leaseMs: 60_000,
        limit: 10,
        connectionConcurrency: 4,
        kinds: ["inbox.apply"],
      });
      // The claim has started (its snapshot is taken) and waits for the lock.
      await vi.waitFor(
        async () => {
          const [waiting] = await queryRows<{ n: number }>(
            ctx.database.db,
            sql`select count(*)::int as n from pg_locks
                where locktype = 'advisory' and objid = 1785684595 and not granted`,
          );
          expect(waiting!.n).toBe(1);
        },
        { timeout: 10_000, interval: 20 },
      );
      const stored = await storedNotice("claim-waited-1", "INC0099101");
      await enqueueJobs(ctx.database.db, [applyJob("INC0099101", stored.id)]);
      release();
      await holding;
      const claimed = (await claiming).find((j) => j.orderKey === "in:INC0099101");
      expect(claimed, "claimed though committed after the claim's snapshot").toBeDefined();
      expect(await inboxRowOf(ctx.database.db, claimed!)).toEqual(stored);
      await releaseJobs(ctx.database.db, "claim-waited", [claimed!.id]);
    } finally {
      release();
      await holding.catch(() => {});
      await holder.end({ timeout: 5 });
    }
  });
});

describe("the claim's pick across many tenants", () => {
  it("is the tenants' round-robin by priority then age, whether it reads one job per connection or more", async () => {
    // 12 tenants, each with a connection (a copy of the test one) and three `ticket.update` jobs of mixed
    // priority. A claim of 10 reads one job per connection (12 tenants suffice); a claim of 20 reads further.
    const queued: { id: number; tenant: string; priority: number }[] = [];
    const copies: string[] = [];
    for (let t = 0; t < 12; t++) {
      const owner = await createTenant(ctx, { name: `Claim pick ${t}` });
      const copy = `con_claimpick${t}`;
      copies.push(copy);
      await ctx.database.db.execute(
        sql`insert into connections (id, tenant_id, type, name, role, direction, settings_encrypted,
                                     path_secret_encrypted)
            select ${copy}, ${owner.id}, type, name, role, direction, settings_encrypted, path_secret_encrypted
            from connections where id = ${connectionId}`,
      );
      await enqueueJobs(
        ctx.database.db,
        [3, 1, 2].map((priority, k) => ({
          kind: "ticket.update" as const,
          tenantId: owner.id,
          connectionId: copy,
          orderKey: `tkt_PICK${t}_${k}`,
          priority: ((priority + t) % 3) + 1,
        })),
      );
    }
    const rows = await queryRows<{ id: string | number; tenant_id: string; priority: number }>(
      ctx.database.db,
      sql`select id, tenant_id, priority from jobs where order_key like 'tkt_PICK%' order by id`,
    );
    for (const r of rows)
      queued.push({ id: Number(r.id), tenant: r.tenant_id, priority: Number(r.priority) });
    const byClaimOrder = (a: (typeof queued)[number], b: (typeof queued)[number]) =>
      a.priority - b.priority || a.id - b.id;
    // The reference: every job ranked within its tenant, then by rank, priority and age.
    const ranked = queued
      .map((job) => ({
        ...job,
        rank: queued.filter((o) => o.tenant === job.tenant && byClaimOrder(o, job) < 0).length,
      }))
      .sort((a, b) => a.rank - b.rank || byClaimOrder(a, b));
    const claim = async (limit: number) => {
      const claimed = await claimJobs(ctx.database.db, {
        workerId: "claim-pick",
        now: new Date(),
        leaseMs: 60_000,
        limit,
        connectionConcurrency: 4,
        kinds: ["ticket.update"],
      });
      await releaseJobs(
        ctx.database.db,
        "claim-pick",
        claimed.map((j) => j.id),
      );
      return claimed.map((j) => j.id).sort((a, b) => a - b);
    };
    try {
      expect(await claim(10)).toEqual(
        ranked
          .slice(0, 10)
          .map((j) => j.id)
          .sort((a, b) => a - b),
      );
      expect(await claim(20)).toEqual(
        ranked
          .slice(0, 20)
          .map((j) => j.id)
          .sort((a, b) => a - b),
      );
    } finally {
      await ctx.database.db.execute(sql`delete from jobs where order_key like 'tkt_PICK%'`);
      await ctx.database.db.execute(sql`delete from connections where id like 'con_claimpick%'`);
    }
  });
});
