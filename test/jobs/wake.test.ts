import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { enqueueJobs } from "../../src/jobs/queue.js";
import { jobHandlers } from "../../src/jobs/registry.js";
import { JobRunner, jobLedgerEntry } from "../../src/jobs/runner.js";
import type { JobHandlers } from "../../src/jobs/types.js";
import { coalesced, jobNotifier, listenForJobs } from "../../src/jobs/wake.js";
import { appendLedger } from "../../src/ledger/append.js";
import { createLogger } from "../../src/lib/logger.js";
import { loadPlanCatalog } from "../../src/sla/catalog.js";
import { defaultSyncSettings } from "../../src/sync/settings.js";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

// A tick far beyond the test's timeout: a job that runs was claimed because the runner was woken.
const NEVER_TICKS_MS = 600_000;

/** A delivery that does nothing but record itself in the ledger, committed with its done mark. */
const recordingHandlers: JobHandlers = {
  ...jobHandlers,
  "comment.add": {
    periodic: false,
    run: async (_ctx, job) => ({
      outcome: "done",
      commit: async (tx) => {
        await appendLedger(tx, [jobLedgerEntry(job, "sync.sent", { test: true })]);
      },
    }),
  },
};

describe("waking the job runner when jobs are queued", () => {
  let ctx: TestContext;
  let tenantId: string;
  let runner: JobRunner;

  beforeAll(async () => {
    ctx = await createTestApp();
    tenantId = (await createTenant(ctx)).id;
    runner = new JobRunner({
      ctx: {
        db: ctx.database.db,
        engine: {
          secretsKey: Buffer.alloc(32, 9),
          publicUrl: "http://gateway.test",
          sync: defaultSyncSettings,
        },
        catalog: loadPlanCatalog(),
        now: () => new Date(),
        workerId: "wake-test",
        logger: createLogger("silent"),
      },
      processConcurrency: 4,
      connectionConcurrency: 4,
      tickMs: NEVER_TICKS_MS,
      leaseMs: 60_000,
      kinds: ["comment.add"],
      handlers: recordingHandlers,
    });
    runner.start();
    // The loop's first claim finds nothing; from then on it sleeps a whole tick unless woken.
    await vi.waitFor(() => expect(runner.lastClaimAt).not.toBeNull());
  });

  afterAll(async () => {
    await runner.stop();
    await ctx.close();
  });

  const queue = async (orderKey: string) => {
    await enqueueJobs(ctx.database.db, [{ kind: "comment.add", tenantId, orderKey }]);
    const [row] = await ctx.database.db.select().from(jobs).where(eq(jobs.orderKey, orderKey));
    return row!.id;
  };
  const doneWithLedger = async (id: number) => {
    const [row] = await ctx.database.db.select().from(jobs).where(eq(jobs.id, id));
    const entries = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.ticketId, row!.orderKey!));
    return row!.status === "done" && entries.some((e) => e.kind === "sync.sent");
  };

  it("runs a job queued while it sleeps as soon as it is woken, its ledger entry committed with its done mark", async () => {
    const id = await queue("tkt_wake_direct");
    expect(await doneWithLedger(id)).toBe(false);
    runner.wakeUp();
    await vi.waitFor(async () => expect(await doneWithLedger(id)).toBe(true), { timeout: 20_000 });
  });

  it.runIf(process.env.DATABASE_URL)(
    "on PostgreSQL, a NOTIFY from another process's notifier wakes it through its listener",
    async () => {
      const stop = await listenForJobs(ctx.database.testUrl!, () => runner.wakeUp());
      try {
        const notify = jobNotifier(ctx.database);
        const id = await queue("tkt_wake_notify");
        // Calls while one is in flight fold into one more: the last of them still reaches the listener.
        notify();
        notify();
        notify();
        await vi.waitFor(async () => expect(await doneWithLedger(id)).toBe(true), { timeout: 20_000 });
      } finally {
        await stop();
      }
    },
  );

  it.runIf(process.env.DATABASE_URL)(
    "on PostgreSQL, a burst of calls folds into a notify or two, and a call after a quiet spell notifies at once",
    async () => {
      let heard = 0;
      const stop = await listenForJobs(ctx.database.testUrl!, () => heard++);
      try {
        const notify = jobNotifier(ctx.database, 50);
        for (let i = 0; i < 100; i++) notify();
        await vi.waitFor(() => expect(heard).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        // The first call's notify, then one for the 99 calls made while it was in flight.
        expect(heard).toBe(2);
        const quietAt = performance.now();
        notify();
        await vi.waitFor(() => expect(heard).toBe(3), { timeout: 5_000 });
        expect(performance.now() - quietAt).toBeLessThan(5_000);
      } finally {
        await stop();
      }
    },
  );

  it("coalesced runs at once after a quiet spell and folds a burst into one more run at the window's end", async () => {
    let runs = 0;
    const wake = coalesced(() => runs++, 50);
    for (let i = 0; i < 100; i++) wake();
    expect(runs).toBe(1);
    await vi.waitFor(() => expect(runs).toBe(2), { timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(runs).toBe(2);
    wake();
    expect(runs).toBe(3);
  });

  it("the API wakes workers after a write that succeeded, not after reads or refusals", async () => {
    const calls: string[] = [];
    const app = await createTestApp({ jobsQueued: () => calls.push("queued") });
    try {
      const tenant = await createTenant(app);
      expect(calls.length).toBeGreaterThan(0);
      calls.length = 0;
      await app.admin.get(`/v1/tenants/${tenant.id}`);
      await app.admin.post("/v1/tickets", { tenantId: tenant.id });
      expect(calls).toEqual([]);
      await app.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Printer on fire", priority: "P2" });
      expect(calls).toEqual(["queued"]);
    } finally {
      await app.close();
    }
  });
});
