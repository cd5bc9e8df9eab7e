import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Plan } from "../../schemas/plan.js";
import { type Db, openDatabase } from "../../src/db/client.js";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { runSlaTimers, type SlaTimerOptions } from "../../src/services/sla-timers.js";
import { getPlan, loadPlanCatalog } from "../../src/sla/catalog.js";
import { createTenant, createTestApp, engine, type TestContext } from "../harness.js";

/** Three workers, two on one pool and one on another, each running `rounds` timer passes at once. */
async function raceThreeWorkers(
  first: Db,
  second: Db,
  options: Omit<SlaTimerOptions, "workerId">,
  rounds: number,
) {
  for (let round = 0; round < rounds; round++) {
    await Promise.all([
      runSlaTimers(first, { ...options, workerId: "worker-a" }),
      runSlaTimers(second, { ...options, workerId: "worker-b" }),
      runSlaTimers(first, { ...options, workerId: "worker-c" }),
    ]);
  }
}

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
    const options = { catalog: loadPlanCatalog(), now: () => clock.now, leaseMs: 30_000, batchSize: 3 };
    try {
      await raceThreeWorkers(ctx.database.db, second.db, options, 10);
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

// Warnings, update-due and automatic status updates share the claim: each is written once per cycle.
describe.runIf(engine === "postgres")(
  "SLA warnings and automatic updates, three workers on PostgreSQL",
  () => {
    const clock = { now: new Date("2026-11-23T09:00:00Z") };
    const presets = loadPlanCatalog();
    const catalog = {
      plans: [
        ...presets.plans,
        Plan.parse({
          ...getPlan(presets, "ombori-enterprise")!,
          id: "race-alerts",
          name: "Race alerts",
          warningRatios: [0.5, 0.75],
          updateDueWarningMinutes: 10,
          autoStatusUpdate: { enabled: true },
        }),
      ],
    };
    let ctx: TestContext;
    beforeAll(async () => {
      ctx = await createTestApp({ now: () => clock.now, catalog });
    });
    afterAll(async () => ctx?.close());

    it("records each warning, update-due and automatic post once", async () => {
      const tenant = await createTenant(ctx, { plan: "race-alerts" });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const id = (await tenant.client.post("/v1/tickets", { title: `t${i}`, priority: "P1" })).body.id;
        await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" });
        ids.push(id);
      }
      const second = await openDatabase({ kind: "postgres", url: ctx.database.testUrl!, maxConnections: 4 });
      const options = { catalog, now: () => clock.now, leaseMs: 30_000, batchSize: 4 };
      try {
        // Acknowledged at once, so the update cycle runs 09:00-10:00: warnings at 09:30 and 09:45, update
        // due (and the automatic post) at 09:50.
        for (const instant of ["2026-11-23T09:31:00Z", "2026-11-23T09:46:00Z", "2026-11-23T09:51:00Z"]) {
          clock.now = new Date(instant);
          await raceThreeWorkers(ctx.database.db, second.db, options, 6);
        }
      } finally {
        await second.close();
      }
      const kinds = ["sla.warning", "sla.update_due", "sla.auto_update_posted", "comment.added"];
      for (const id of ids) {
        const rows = await ctx.database.db
          .select()
          .from(ledgerEntries)
          .where(and(eq(ledgerEntries.ticketId, id), inArray(ledgerEntries.kind, kinds)))
          .orderBy(ledgerEntries.sequence);
        expect(
          rows.map((r) => r.kind),
          id,
        ).toEqual([
          "sla.warning",
          "sla.warning",
          "sla.update_due",
          "comment.added",
          "sla.auto_update_posted",
        ]);
        expect((await ctx.admin.get(`/v1/tickets/${id}/comments`)).body.items).toHaveLength(1);
      }
      const verification = await ctx.admin.get("/v1/ledger/verify");
      expect(verification.body.ok).toBe(true);
    });
  },
);
