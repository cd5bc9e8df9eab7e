import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.js";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { runSlaTimers } from "../../src/services/sla-timers.js";
import { loadPlanCatalog } from "../../src/sla/catalog.js";
import { createTenant, createTestApp, engine, type TestContext } from "../harness.js";

// Two workers on separate connection pools racing for one due timer: only PostgreSQL can lose this race.
describe.runIf(engine === "postgres")("SLA timers, two workers on PostgreSQL", () => {
  const clock = { now: new Date("2026-11-23T09:00:00Z") };
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestApp({ now: () => clock.now });
  });
  afterAll(async () => ctx?.close());

  it("records exactly one breach per clock", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await tenant.client.post("/v1/tickets", { title: `t${i}`, priority: "P1" })).body.id);
    }
    clock.now = new Date("2026-11-23T09:31:00Z");
    const second = await openDatabase({ kind: "postgres", url: ctx.database.testUrl!, maxConnections: 4 });
    const catalog = loadPlanCatalog();
    const options = (workerId: string) => ({
      catalog,
      now: () => clock.now,
      workerId,
      leaseMs: 30_000,
      batchSize: 3,
    });
    try {
      for (let round = 0; round < 10; round++) {
        await Promise.all([
          runSlaTimers(ctx.database.db, options("worker-a")),
          runSlaTimers(second.db, options("worker-b")),
          runSlaTimers(ctx.database.db, options("worker-c")),
        ]);
      }
    } finally {
      await second.close();
    }
    for (const id of ids) {
      const breaches = await ctx.database.db
        .select()
        .from(ledgerEntries)
        .where(and(eq(ledgerEntries.ticketId, id), eq(ledgerEntries.kind, "sla.breached")));
      expect(breaches, id).toHaveLength(1);
    }
    const verification = await ctx.admin.get("/v1/ledger/verify");
    expect(verification.body.ok).toBe(true);
  });
});
