import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { Plan, type PlanInput } from "../../schemas/plan.js";
import { queryRows } from "../../src/db/client.js";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { deploymentJobs, enqueueJobs, SLA_TIMER_MAX_SLEEP_MS } from "../../src/jobs/queue.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { jobContext } from "../../src/runtime.js";
import { getPlan, loadPlanCatalog } from "../../src/sla/catalog.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { client, createTenant } from "../harness.js";

const clock = { now: new Date("2026-11-23T09:00:00Z") };
const at = (iso: string) => {
  clock.now = new Date(iso);
};

// Ombori Enterprise's 24/7 calendar keeps the arithmetic in wall-clock minutes.
const base = getPlan(loadPlanCatalog(), "ombori-enterprise")!;
const plan = (input: Partial<PlanInput> & { id: string }) =>
  Plan.parse({
    ...base,
    targets: {
      P1: { responseMinutes: 30, updateMinutes: 60 },
      P4: { responseMinutes: 1 },
    },
    ...input,
  });
const catalog = {
  plans: [
    ...loadPlanCatalog().plans,
    plan({ id: "alerts-24x7", name: "Alerts", warningRatios: [0.5, 0.75], updateDueWarningMinutes: 10 }),
    plan({
      id: "auto-update-24x7",
      name: "Automatic updates",
      updateDueWarningMinutes: 10,
      autoStatusUpdate: {
        enabled: true,
        template: "Update on {{title}} ({{priority}}, {{status}}); next by {{nextUpdateDue}} [{{ticketId}}]",
      },
    }),
    plan({
      id: "auto-update-meets",
      name: "Automatic updates that count",
      updateDueWarningMinutes: 10,
      autoStatusUpdate: { enabled: true, meetsUpdateClock: true },
    }),
  ],
};

let ctx: SyncTestContext;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  ctx.deps.now = () => clock.now;
  ctx.deps.catalog = catalog;
  // Only the timers' periodic job: the harness's drain waits for every other pending kind.
  await enqueueJobs(
    ctx.database.db,
    deploymentJobs.filter((job) => job.kind === "sla.timers").map((job) => ({ ...job, runAt: clock.now })),
  );
}, 120_000);
afterAll(async () => ctx?.close());

/** The real `sla.timers` job, claimed and run by a job runner at the test's clock. */
function timerRunner(workerId = "timer-worker") {
  return new JobRunner({
    ctx: jobContext(ctx.deps, workerId),
    processConcurrency: 4,
    connectionConcurrency: 4,
    tickMs: 50,
    leaseMs: 10_000,
    kinds: ["sla.timers"],
  });
}
const runTimers = () => timerRunner().runUntilIdle();

async function timerJobRunAt(): Promise<string> {
  const [row] = await queryRows<{ next: string | Date }>(
    ctx.database.db,
    sql`select next_attempt_at as next from jobs where singleton_key = 'sla.timers' and status = 'pending'`,
  );
  return new Date(row!.next).toISOString();
}

async function entries(ticketId: string, kinds: string[]) {
  const rows = await ctx.database.db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.ticketId, ticketId))
    .orderBy(ledgerEntries.sequence);
  return rows
    .filter((r) => kinds.includes(r.kind))
    .map((r) => ({ ...r, actor: { type: r.actorType, id: r.actorId } }));
}

async function openTicket(api: { post: typeof ctx.admin.post }, priority: string, title = "Circuit down") {
  const res = await api.post("/v1/tickets", { title, priority });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

describe("SLA warnings on time (controllable clock, the real timer job)", () => {
  it("writes each warning, at risk and the breach at its instant, once, and sleeps until the next one", async () => {
    at("2026-11-23T09:00:00Z");
    const tenant = await createTenant(ctx, { plan: "alerts-24x7" });
    const id = await openTicket(tenant.client, "P1");
    await runTimers();
    // Response due 09:30: warnings at 50 % (09:15) and 75 % (09:22:30), at risk at 80 % (09:24). The
    // first is beyond the longest sleep, so the job looks again 30 s later.
    expect(await timerJobRunAt()).toBe("2026-11-23T09:00:30.000Z");

    at("2026-11-23T09:14:59.999Z");
    await runTimers();
    expect(await entries(id, ["sla.warning"])).toHaveLength(0);
    // Now the first warning is the earliest check, closer than the longest sleep: the job wakes for it.
    expect(await timerJobRunAt()).toBe("2026-11-23T09:15:00.000Z");

    at("2026-11-23T09:15:00Z");
    await runTimers();
    const [first] = await entries(id, ["sla.warning"]);
    expect(first?.detail).toEqual({
      clock: "response",
      cycle: 1,
      ratio: 0.5,
      dueAt: "2026-11-23T09:30:00Z",
      businessSeconds: 900,
    });
    expect(first?.actor).toEqual({ type: "system", id: "sla-timer" });
    expect(await timerJobRunAt()).toBe("2026-11-23T09:15:30.000Z");

    for (const instant of ["2026-11-23T09:22:30Z", "2026-11-23T09:24:00Z", "2026-11-23T09:30:00Z"]) {
      at(instant);
      await runTimers();
      await runTimers();
    }
    const fired = await entries(id, ["sla.warning", "sla.at_risk", "sla.breached"]);
    expect(fired.map((e) => [e.kind, (e.detail as { ratio?: number }).ratio ?? null])).toEqual([
      ["sla.warning", 0.5],
      ["sla.warning", 0.75],
      ["sla.at_risk", 0.8],
      ["sla.breached", null],
    ]);
    expect(fired[3]!.detail).toMatchObject({
      dueAt: "2026-11-23T09:30:00Z",
      detectedAt: "2026-11-23T09:30:00Z",
    });
    // Nothing left on this ticket: the job sleeps at most the longest sleep.
    expect(new Date(await timerJobRunAt()).getTime()).toBeLessThanOrEqual(
      clock.now.getTime() + SLA_TIMER_MAX_SLEEP_MS,
    );
  });

  it("is pulled forward by a ticket change, or a tenant's new settings, that create an earlier check", async () => {
    at("2026-11-24T09:00:00Z");
    const created = await ctx.admin.post("/v1/tenants", {
      name: "Quick warnings",
      plan: "alerts-24x7",
      slaAlerts: { warningRatios: [0.25] },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.slaAlerts).toEqual({ warningRatios: [0.25] });
    const quick = client(ctx.app, created.body.apiKey);
    const tenant = await createTenant(ctx, { plan: "alerts-24x7" });
    await runTimers();
    expect(await timerJobRunAt()).toBe("2026-11-24T09:00:30.000Z");

    // A P4 response of 1 minute: the tenant's 25 % warning falls 15 s after the opening, before the job's run.
    at("2026-11-24T09:00:01Z");
    const first = await openTicket(quick, "P4");
    expect(await timerJobRunAt()).toBe("2026-11-24T09:00:16.000Z");
    at("2026-11-24T09:00:16Z");
    await runTimers();
    expect((await entries(first, ["sla.warning"])).map((e) => e.detail)).toEqual([
      { clock: "response", cycle: 1, ratio: 0.25, dueAt: "2026-11-24T09:01:01Z", businessSeconds: 15 },
    ]);

    // The plan's 50 % of a P4 opened at 09:00:17 falls at 09:00:47, after the job's next run (09:00:46):
    // nothing to pull. Changing the tenant's ratios to 10 % moves its check before that run.
    at("2026-11-24T09:00:17Z");
    const second = await openTicket(tenant.client, "P4");
    expect(await timerJobRunAt()).toBe("2026-11-24T09:00:46.000Z");
    at("2026-11-24T09:00:18Z");
    const patched = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, {
      slaAlerts: { warningRatios: [0.1, 0.5] },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.slaAlerts).toEqual({ warningRatios: [0.1, 0.5] });
    expect(await timerJobRunAt()).toBe("2026-11-24T09:00:23.000Z");
    at("2026-11-24T09:00:23Z");
    await runTimers();
    expect((await entries(second, ["sla.warning"])).map((e) => e.detail)).toEqual([
      { clock: "response", cycle: 1, ratio: 0.1, dueAt: "2026-11-24T09:01:17Z", businessSeconds: 6 },
    ]);
  });

  it("warns once per update cycle that an update falls due, and again in the next cycle", async () => {
    at("2026-11-25T09:00:00Z");
    const tenant = await createTenant(ctx, { plan: "alerts-24x7" });
    const id = await openTicket(tenant.client, "P1");
    at("2026-11-25T09:05:00Z");
    expect((await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" })).status).toBe(200);
    // Update cycle 1 is due 10:05; the warning comes 10 minutes before.
    at("2026-11-25T09:54:59Z");
    await runTimers();
    expect(await entries(id, ["sla.update_due"])).toHaveLength(0);
    at("2026-11-25T09:55:00Z");
    await runTimers();
    await runTimers();
    let due = await entries(id, ["sla.update_due"]);
    expect(due.map((e) => e.detail)).toEqual([
      { clock: "update", cycle: 1, dueAt: "2026-11-25T10:05:00Z", minutesLeft: 10 },
    ]);
    // The provider's update starts cycle 2 (due 11:00), which warns at 10:50.
    at("2026-11-25T10:00:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "Still on it", visibility: "public" });
    at("2026-11-25T10:50:00Z");
    await runTimers();
    due = await entries(id, ["sla.update_due"]);
    expect(
      due.map((e) => [(e.detail as { cycle: number }).cycle, (e.detail as { dueAt: string }).dueAt]),
    ).toEqual([
      [1, "2026-11-25T10:05:00Z"],
      [2, "2026-11-25T11:00:00Z"],
    ]);
  });

  it("writes each entry once when two runners race over many clocks", async () => {
    at("2026-11-26T09:00:00Z");
    const tenant = await createTenant(ctx, { plan: "alerts-24x7" });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await openTicket(tenant.client, "P1", `race ${i}`));
    // Every warning, at risk and the breach are due at once.
    at("2026-11-26T09:31:00Z");
    const a = timerRunner("worker-a");
    const b = timerRunner("worker-b");
    await Promise.all([a.runUntilIdle(), b.runUntilIdle(), a.runUntilIdle(), b.runUntilIdle()]);
    for (const id of ids) {
      const fired = await entries(id, ["sla.warning", "sla.at_risk", "sla.breached"]);
      // First seen after the due: the breach only, the warnings marked as passed.
      expect(fired.map((e) => e.kind)).toEqual(["sla.breached"]);
    }
    at("2026-11-26T09:40:00Z");
    const late: string[] = [];
    for (let i = 0; i < 8; i++) late.push(await openTicket(tenant.client, "P1", `race late ${i}`));
    at("2026-11-26T09:56:00Z"); // past 50 % (09:55) of every one of them
    await Promise.all([a.runUntilIdle(), b.runUntilIdle()]);
    at("2026-11-26T10:04:00Z"); // past 75 % (10:02:30) and 80 % (10:04)
    await Promise.all([a.runUntilIdle(), b.runUntilIdle(), a.runUntilIdle()]);
    for (const id of late) {
      const fired = await entries(id, ["sla.warning", "sla.at_risk", "sla.breached"]);
      expect(fired.map((e) => e.kind)).toEqual(["sla.warning", "sla.warning", "sla.at_risk"]);
    }
    const verification = await ctx.admin.get("/v1/ledger/verify");
    expect(verification.body.ok, verification.text).toBe(true);
  });
});

describe("automatic status updates (ServiceNow simulator receives them)", () => {
  let sim: ServiceNowSimulator;
  let simServer: Listening;

  beforeAll(async () => {
    sim = createServiceNowSimulator({});
    simServer = await listen(sim.app);
    sim.setInstanceUrl(simServer.url);
  });
  afterAll(async () => simServer?.close());

  async function tenantWithDesk(planId: string, slaAlerts?: Record<string, unknown>) {
    const tenant = await createTenant(ctx, { plan: planId });
    if (slaAlerts) {
      const res = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, { slaAlerts });
      expect(res.status, res.text).toBe(200);
    }
    const res = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "Client desk",
      role: "servicedesk",
      settings: {
        baseUrl: simServer.url,
        auth: {
          type: "basic",
          username: sim.integrationUser.username,
          password: sim.integrationUser.password,
        },
        webhookSecret: "auto-update-webhook-secret-0000000",
      },
    });
    expect(res.status, res.text).toBe(201);
    return tenant;
  }

  /** Opens a P1 ticket at `opened`, the provider acknowledges 5 minutes later: update cycle 1 due 1 h after that. */
  async function acknowledgedTicket(
    tenant: Awaited<ReturnType<typeof createTenant>>,
    opened: string,
    title: string,
  ) {
    at(opened);
    const id = await openTicket(tenant.client, "P1", title);
    clock.now = new Date(clock.now.getTime() + 5 * 60_000);
    expect((await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" })).status).toBe(200);
    await ctx.drain({ settle: () => sim.settled() });
    const incident = [...sim.state.incidents.values()].find((i) => i["short_description"] === title);
    expect(incident, title).toBeDefined();
    return { id, sysId: incident!["sys_id"]! };
  }

  const publicComments = (sysId: string) =>
    sim.state.journal
      .filter((j) => j["element_id"] === sysId && j["element"] === "comments")
      .map((j) => j["value"]);

  it("posts the plan's template as a public comment at the update-due warning, synced to the desk, ledgered as automatic; the clock keeps running", async () => {
    const tenant = await tenantWithDesk("auto-update-24x7");
    const { id, sysId } = await acknowledgedTicket(tenant, "2026-11-27T09:00:00Z", "Auto update router");
    at("2026-11-27T09:54:59Z");
    await runTimers();
    await ctx.drain({ settle: () => sim.settled() });
    expect(publicComments(sysId)).toEqual([]);

    at("2026-11-27T09:55:00Z");
    await Promise.all([timerRunner("worker-a").runUntilIdle(), timerRunner("worker-b").runUntilIdle()]);
    await runTimers();
    await ctx.drain({ settle: () => sim.settled() });
    const body = `Update on Auto update router (P1, in progress); next by 2026-11-27T10:05:00Z [${id}]`;
    // The connector signs a comment with its author's name, as for any provider comment.
    expect(publicComments(sysId)).toEqual([`[Automatic status update] ${body}`]);

    const comments = await ctx.admin.get(`/v1/tickets/${id}/comments`);
    expect(
      comments.body.items.map((c: { body: string; visibility: string }) => [c.body, c.visibility]),
    ).toEqual([[body, "public"]]);
    // The tenant sees it too: it is public.
    expect((await tenant.client.get(`/v1/tickets/${id}/comments`)).body.items).toHaveLength(1);
    const ledger = await entries(id, ["sla.update_due", "comment.added", "sla.auto_update_posted"]);
    expect(ledger.map((e) => e.kind)).toEqual(["sla.update_due", "comment.added", "sla.auto_update_posted"]);
    expect((await entries(id, ["sla.met"])).map((e) => (e.detail as { clock: string }).clock)).toEqual([
      "response",
    ]);
    expect(ledger[1]).toMatchObject({
      actor: { type: "system", id: "auto-status-update" },
      side: "provider",
      detail: { visibility: "public", automatic: true },
    });
    expect(ledger[2]!.detail).toMatchObject({ clock: "update", cycle: 1, meetsUpdateClock: false });
    // It does not meet the update clock: the cycle still breaches at 10:05.
    expect((await ctx.admin.get(`/v1/tickets/${id}`)).body.sla.update).toMatchObject({
      dueAt: "2026-11-27T10:05:00Z",
      state: "running",
    });
    at("2026-11-27T10:05:00Z");
    await runTimers();
    expect((await entries(id, ["sla.breached"])).map((e) => e.detail)).toEqual([
      { clock: "update", cycle: 1, dueAt: "2026-11-27T10:05:00Z", detectedAt: "2026-11-27T10:05:00Z" },
    ]);
    await ctx.drain({ settle: () => sim.settled() });
    expect(publicComments(sysId)).toHaveLength(1);
  });

  it("meets the update clock where the plan says so, starting the next cycle", async () => {
    const tenant = await tenantWithDesk("auto-update-meets");
    const { id, sysId } = await acknowledgedTicket(tenant, "2026-11-28T09:00:00Z", "Counted update");
    at("2026-11-28T09:55:00Z");
    await runTimers();
    await ctx.drain({ settle: () => sim.settled() });
    expect(publicComments(sysId)).toHaveLength(1);
    expect(publicComments(sysId)[0]).toContain("next update is due by 2026-11-28T10:55:00Z");
    const met = await entries(id, ["sla.met"]);
    expect(met.at(-1)).toMatchObject({
      actor: { type: "system", id: "auto-status-update" },
      detail: { clock: "update", cycle: 1, reason: "provider_update", late: false },
    });
    expect((await ctx.admin.get(`/v1/tickets/${id}`)).body.sla.update).toMatchObject({
      dueAt: "2026-11-28T10:55:00Z",
      state: "running",
    });
    // Cycle 2 gets its own warning and post at 10:45.
    at("2026-11-28T10:45:00Z");
    await runTimers();
    await ctx.drain({ settle: () => sim.settled() });
    expect(publicComments(sysId)).toHaveLength(2);
    expect(
      (await entries(id, ["sla.auto_update_posted"])).map((e) => (e.detail as { cycle: number }).cycle),
    ).toEqual([1, 2]);
  });

  it("follows the tenant's setting over the plan's, both ways", async () => {
    const off = await tenantWithDesk("auto-update-24x7", { autoStatusUpdate: { enabled: false } });
    const on = await tenantWithDesk("alerts-24x7", { autoStatusUpdate: { enabled: true } });
    const quiet = await acknowledgedTicket(off, "2026-11-29T09:00:00Z", "Tenant turned it off");
    const loud = await acknowledgedTicket(on, "2026-11-29T09:00:00Z", "Tenant turned it on");
    at("2026-11-29T09:56:00Z");
    await runTimers();
    await ctx.drain({ settle: () => sim.settled() });
    expect(publicComments(quiet.sysId)).toEqual([]);
    expect(await entries(quiet.id, ["sla.update_due"])).toHaveLength(1);
    expect(publicComments(loud.sysId)).toHaveLength(1);
    expect(publicComments(loud.sysId)[0]).toContain('your ticket "Tenant turned it on" (P1) is in progress');
  });

  it("refuses an unknown template variable and bad ratios (400 naming the path)", async () => {
    const tenant = await createTenant(ctx, { plan: "alerts-24x7" });
    const bad = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, {
      slaAlerts: {
        autoStatusUpdate: { enabled: true, template: "Hi {{customer}}" },
        warningRatios: [0.5, 0.5, 1],
      },
    });
    expect(bad.status, bad.text).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(["slaAlerts.autoStatusUpdate.template", "slaAlerts.warningRatios[2]"]),
    );
  });
});
