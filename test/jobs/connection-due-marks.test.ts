import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { queryRows } from "../../src/db/client.js";
import { claimJobs, enqueueJobs, releaseJobs } from "../../src/jobs/queue.js";
import {
  createSyncTestApp,
  type Listening,
  listen,
  type SyncTestContext,
  serviceNowConnectionBody,
} from "../e2e/sync-harness.js";
import { createTenant, engine } from "../harness.js";

// A claim marks a connection with nothing runnable with the earliest time it may have something, and later
// claims skip it until then (migration 0023). What must hold: no job waits past the time it is runnable because
// of a mark. Asserted as which jobs claims return at which instants, and as the marks themselves.

let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let tenant: Awaited<ReturnType<typeof createTenant>>;
const connectionIds: string[] = [];

const MINUTE = 60_000;
const LEASE_MS = MINUTE;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sim = createServiceNowSimulator({});
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  tenant = await createTenant(ctx);
  const res = await tenant.client.post(
    "/v1/connections",
    serviceNowConnectionBody(
      "Marks",
      { url: simServer.url, ...sim.integrationUser },
      "connection-due-marks-secret-0000000",
    ),
  );
  expect(res.status, res.text).toBe(201);
  connectionIds.push(res.body.id);
  // Copies of it, one per test: each test reads its own connection's mark.
  for (let i = 1; i < 6; i++) {
    const copy = `${res.body.id}_${i}`;
    await ctx.database.db.execute(
      sql`insert into connections (id, tenant_id, type, name, role, direction, settings_encrypted,
                                   path_secret_encrypted)
          select ${copy}, tenant_id, type, ${`Marks ${i}`}, role, direction, settings_encrypted, path_secret_encrypted
          from connections where id = ${res.body.id}`,
    );
    connectionIds.push(copy);
  }
  // Only the jobs each test queues: the connections' own periodic jobs would keep them runnable.
  await ctx.database.db.execute(sql`delete from jobs where connection_id in ${connectionIds}`);
}, 120_000);

// Claims are database-wide: each test ends with nothing left to claim.
afterEach(async () => {
  await ctx.database.db.execute(
    sql`update jobs set status = 'done', finished_at = now(), locked_until = null
        where connection_id in ${connectionIds} and status in ('pending', 'dead')`,
  );
});

afterAll(async () => {
  await simServer?.close();
  await ctx?.close();
});

function queue(connectionId: string, orderKey: string, runAt?: Date) {
  return enqueueJobs(ctx.database.db, [
    { kind: "comment.add", tenantId: tenant.id, connectionId, orderKey, ...(runAt ? { runAt } : {}) },
  ]);
}

function claim(now: Date, workerId = "marks-worker", limit = 10) {
  return claimJobs(ctx.database.db, {
    workerId,
    now,
    leaseMs: LEASE_MS,
    limit,
    connectionConcurrency: 4,
    kinds: ["comment.add"],
  });
}

/** The connection's mark as a claim reads it: the stored one, lowered by the wakeups not yet folded in. */
async function markOf(connectionId: string): Promise<number | null> {
  const [row] = await queryRows<{ due: string | Date | null }>(
    ctx.database.db,
    sql`select least((select due_at from job_connection_due where connection_id = ${connectionId}),
                     (select min(due_at) from job_connection_wakeups where connection_id = ${connectionId})) as due`,
  );
  return row?.due ? new Date(row.due).getTime() : null;
}

/** Milliseconds since the epoch; Infinity for a connection with nothing that can run until a write wakes it. */
async function storedMark(connectionId: string): Promise<number | null> {
  const [row] = await queryRows<{ ms: number | string }>(
    ctx.database.db,
    sql`select (extract(epoch from due_at) * 1000)::float8 as ms from job_connection_due
        where connection_id = ${connectionId}`,
  );
  return row ? Number(row.ms) : null;
}

async function idsOf(orderKey: string): Promise<number[]> {
  const rows = await queryRows<{ id: number | string }>(
    ctx.database.db,
    sql`select id from jobs where order_key = ${orderKey} order by id`,
  );
  return rows.map((r) => Number(r.id));
}

describe("a connection whose jobs are all in backoff", () => {
  it("is marked with its earliest retry, skipped until then, and its job claimed when due", async () => {
    const connection = connectionIds[0]!;
    const t0 = new Date();
    await queue(connection, "mk_BACKOFF_LATE", new Date(t0.getTime() + 10 * MINUTE));
    await queue(connection, "mk_BACKOFF_SOON", new Date(t0.getTime() + 5 * MINUTE));
    expect(await claim(t0)).toEqual([]);
    expect(await storedMark(connection)).toBe(t0.getTime() + 5 * MINUTE);
    expect(await claim(new Date(t0.getTime() + 5 * MINUTE - 1))).toEqual([]);

    const due = await claim(new Date(t0.getTime() + 5 * MINUTE));
    expect(due.map((j) => j.id)).toEqual(await idsOf("mk_BACKOFF_SOON"));
  });
});

describe("a mark later than a job may run", () => {
  it("keeps claims off the connection: they read only connections whose mark is due", async () => {
    const connection = connectionIds[1]!;
    await queue(connection, "mk_HIDDEN");
    const t0 = new Date();
    // A mark no write would leave (a queued job wakes it): the claim trusts it and does not read the queue.
    await ctx.database.db.execute(
      sql`insert into job_connection_due (connection_id, due_at)
          values (${connection}, ${new Date(t0.getTime() + MINUTE).toISOString()}::timestamptz)
          on conflict (connection_id) do update set due_at = excluded.due_at`,
    );
    await ctx.database.db.execute(
      sql`delete from job_connection_wakeups where connection_id = ${connection}`,
    );
    expect(await claim(t0)).toEqual([]);
    expect((await claim(new Date(t0.getTime() + MINUTE))).map((j) => j.id)).toEqual(await idsOf("mk_HIDDEN"));
  });

  it("is woken by a job queued on the connection, which the next claim takes", async () => {
    const connection = connectionIds[2]!;
    const t0 = new Date();
    await queue(connection, "mk_PARKED", new Date(t0.getTime() + 30 * MINUTE));
    expect(await claim(t0)).toEqual([]);
    expect(await storedMark(connection)).toBe(t0.getTime() + 30 * MINUTE);

    await queue(connection, "mk_FRESH");
    await queue(connection, "mk_FRESH");
    await queue(connection, "mk_FRESH");
    const [fresh] = await idsOf("mk_FRESH");
    expect(await markOf(connection)).toBeLessThanOrEqual(Date.now());
    // One wakeup however many jobs are queued before a claim folds it in.
    const wakeups = await queryRows<{ n: number }>(
      ctx.database.db,
      sql`select count(*)::int as n from job_connection_wakeups where connection_id = ${connection}`,
    );
    expect(wakeups).toEqual([{ n: 1 }]);
    expect((await claim(new Date())).map((j) => j.id)).toEqual([fresh]);
  });
});

describe("a connection whose only runnable job is running", () => {
  it("is marked with the lease's end; a lapsed lease, a release or a finish makes its jobs claimable", async () => {
    const connection = connectionIds[3]!;
    await queue(connection, "mk_RUNNING");
    await queue(connection, "mk_RUNNING");
    const t0 = new Date();
    const [first, second] = await idsOf("mk_RUNNING");

    expect((await claim(t0, "worker-1")).map((j) => j.id)).toEqual([first]);
    // The second waits behind the first; the first is leased until t0 + lease.
    expect(await claim(t0)).toEqual([]);
    expect(await storedMark(connection)).toBe(t0.getTime() + LEASE_MS);

    // The lease lapses (the worker died): the job is claimed again once it has.
    expect(await claim(new Date(t0.getTime() + LEASE_MS - 1))).toEqual([]);
    const t1 = new Date(t0.getTime() + LEASE_MS + 1);
    const again = await claim(t1, "worker-2");
    expect(again.map((j) => [j.id, j.attempts])).toEqual([[first, 2]]);
    expect(await claim(t1)).toEqual([]);
    expect(await storedMark(connection)).toBe(t1.getTime() + LEASE_MS);

    // Given back (shutdown): claimable at once, not at the lease's end.
    await releaseJobs(ctx.database.db, "worker-2", [first!]);
    expect((await claim(t1, "worker-3")).map((j) => j.id)).toEqual([first]);
    expect(await claim(t1)).toEqual([]);

    // Finished: the job queued behind it is claimable at once.
    await ctx.database.db.execute(
      sql`update jobs set status = 'done', finished_at = now(), locked_until = null where id = ${first!}`,
    );
    expect((await claim(t1)).map((j) => j.id)).toEqual([second]);
  });

  it("is woken by a retry due before the lease's end", async () => {
    const connection = connectionIds[4]!;
    await queue(connection, "mk_RETRY");
    const t0 = new Date();
    const [job] = await idsOf("mk_RETRY");
    expect((await claim(t0)).map((j) => j.id)).toEqual([job]);
    expect(await claim(t0)).toEqual([]);
    expect(await storedMark(connection)).toBe(t0.getTime() + LEASE_MS);

    const retryAt = new Date(t0.getTime() + 5_000);
    await ctx.database.db.execute(
      sql`update jobs set next_attempt_at = ${retryAt.toISOString()}::timestamptz, locked_until = null,
            locked_by = null where id = ${job!}`,
    );
    expect(await claim(new Date(retryAt.getTime() - 1))).toEqual([]);
    expect((await claim(retryAt)).map((j) => j.id)).toEqual([job]);
  });
});

describe("jobs queued behind a dead letter", () => {
  it("mark the connection never due, and run once the dead letter is skipped", async () => {
    const connection = connectionIds[5]!;
    await queue(connection, "mk_DEAD");
    await queue(connection, "mk_DEAD");
    const t0 = new Date();
    const [dead, behind] = await idsOf("mk_DEAD");
    await ctx.database.db.execute(
      sql`update jobs set status = 'dead', dead_at = now(), dead_reason = 'test' where id = ${dead!}`,
    );
    expect(await claim(t0)).toEqual([]);
    expect(await storedMark(connection)).toBe(Number.POSITIVE_INFINITY);

    await ctx.database.db.execute(
      sql`update jobs set status = 'skipped', finished_at = now() where id = ${dead!}`,
    );
    expect((await claim(new Date())).map((j) => j.id)).toEqual([behind]);
  });
});

// A race needs concurrent sessions: PGlite serves one, so this runs on PostgreSQL.
describe.skipIf(engine !== "postgres")("writers and claims at once", () => {
  it("leave no job due behind a later mark: every job queued is claimed", async () => {
    const t0 = Date.now();
    // Each connection has a job parked a day out, so a claim that finds nothing else marks it a day late.
    for (const [i, connection] of connectionIds.entries()) {
      await queue(connection, `mk_PARK_${i}`, new Date(t0 + 24 * 60 * MINUTE));
    }
    const writers = 4;
    const perWriter = 60;
    let writing = writers;
    const claimed = new Set<number>();
    const claimAndFinish = async (workerId: string) => {
      const jobs = await claim(new Date(), workerId);
      for (const job of jobs) claimed.add(job.id);
      if (jobs.length > 0) {
        await ctx.database.db.execute(
          sql`update jobs set status = 'done', finished_at = now(), locked_until = null
              where id in ${jobs.map((j) => j.id)}`,
        );
      }
      return jobs.length;
    };
    const write = async (w: number) => {
      for (let n = 0; n < perWriter; n++) {
        const connection = connectionIds[(w + n) % connectionIds.length]!;
        // The writer's transaction stays open a moment after its insert, as a request's does.
        await ctx.database.db.transaction(async (tx) => {
          await enqueueJobs(tx, [
            {
              kind: "comment.add",
              tenantId: tenant.id,
              connectionId: connection,
              orderKey: `mk_RACE_${w}_${n}`,
            },
          ]);
          await new Promise((resolve) => setTimeout(resolve, 1 + (n % 4)));
        });
      }
      writing -= 1;
    };
    const claimWhileWriting = async (workerId: string) => {
      while (writing > 0) await claimAndFinish(workerId);
    };
    await Promise.all([
      ...Array.from({ length: writers }, (_, w) => write(w)),
      claimWhileWriting("race-1"),
      claimWhileWriting("race-2"),
    ]);
    // Every writer has committed: claims now take whatever is left, however the marks stood.
    while ((await claimAndFinish("race-drain")) > 0) {}

    const left = await queryRows<{ id: number | string }>(
      ctx.database.db,
      sql`select id from jobs where order_key like 'mk_RACE_%' and status = 'pending'`,
    );
    expect(left).toEqual([]);
    const race = await queryRows<{ id: number | string }>(
      ctx.database.db,
      sql`select id from jobs where order_key like 'mk_RACE_%'`,
    );
    expect(race.length).toBe(writers * perWriter);
    expect(race.every((r) => claimed.has(Number(r.id)))).toBe(true);
  });
});
