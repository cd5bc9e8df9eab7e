/**
 * The seeds' remaining service promises (issue 14), each with worked instants across a weekend, a
 * holiday and a DST change. Every expected instant is reasoned by hand in docs/sla.md ("Worked examples",
 * 12-17) and was cross-checked with the engine.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { inboundPriority, planDefaultPriority } from "../../src/services/default-priority.js";
import { runSlaTimers } from "../../src/services/sla-timers.js";
import { getPlan, loadPlanCatalog, mergePlanCatalogs } from "../../src/sla/catalog.js";
import { type Client, createTenant, createTestApp, type TestContext } from "../harness.js";

const clock = { now: new Date("2026-11-23T09:00:00Z") };
const at = (iso: string) => {
  clock.now = new Date(iso);
};
let ctx: TestContext;
// The presets plus one operator plan that gives an Ombori plan an escalation step.
const presets = loadPlanCatalog();
const pilot = getPlan(presets, "ombori-pilot")!;
const catalog = mergePlanCatalogs(presets, {
  plans: [
    {
      ...pilot,
      id: "ombori-pilot-escalating",
      escalations: [{ name: "duty-manager", role: "Duty Manager", after: { P2: { minutes: 60 } } }],
    },
  ],
});

beforeAll(async () => {
  ctx = await createTestApp({ now: () => clock.now, catalog });
});
afterAll(async () => ctx?.close());

async function open(api: Client, priority: string | undefined, when: string) {
  at(when);
  const res = await api.post("/v1/tickets", { title: "Circuit down", ...(priority ? { priority } : {}) });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}
const sla = async (id: string) => (await ctx.admin.get(`/v1/tickets/${id}`)).body.sla;
const ledger = async (id: string) =>
  (await ctx.admin.get(`/v1/tickets/${id}/ledger?limit=200`)).body.items as {
    kind: string;
    detail: Record<string, unknown>;
  }[];
const slaKinds = async (id: string) =>
  (await ledger(id)).filter((e) => e.kind.startsWith("sla.")).map((e) => `${e.kind}:${e.detail.clock}`);
const timers = (workerId = "test-worker") =>
  runSlaTimers(ctx.database.db, { catalog, now: () => clock.now, workerId, leaseMs: 30_000, batchSize: 100 });
async function holidays(tenantId: string, country: string) {
  const res = await ctx.admin.put(`/v1/tenants/${tenantId}/holidays`, { dates: [], country });
  expect(res.status, res.text).toBe(200);
}

describe("ROI resolution objectives on every ServiceWorks plan (seed 000)", () => {
  it("T&M P1 across a weekend: 4 h resolution with T&M's own 8 h response (Fri 15:00 PST)", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-time-and-materials" });
    const id = await open(tenant.client, "P1", "2026-11-27T23:00:00Z"); // Fri 27 Nov 15:00 PST
    const view = await sla(id);
    // 2 h on Friday, 2 h from Monday 08:00 PST.
    expect(view.resolution).toMatchObject({ dueAt: "2026-11-30T18:00:00Z", state: "running" });
    // T&M's own response: 2 h Friday + 6 h Monday.
    expect(view.response.dueAt).toBe("2026-11-30T22:00:00Z");
  });

  it("SPP P1 across the US autumn change: Friday 16:00 PDT + 4 h is Monday 11:00 PST", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-protection-plan" });
    const id = await open(tenant.client, "P1", "2026-10-30T23:00:00Z"); // Fri 30 Oct 16:00 PDT
    const view = await sla(id);
    expect(view.resolution.dueAt).toBe("2026-11-02T19:00:00Z"); // not 18:00Z (a fixed UTC-7)
    expect(view.response.dueAt).toBe("2026-11-02T17:00:00Z"); // SPP's 2 h: 1 h Fri + 1 h Mon
  });

  it("SPP P3 over Thanksgiving: 5 business days skip the public holiday", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-protection-plan" });
    await holidays(tenant.id, "US");
    const id = await open(tenant.client, "P3", "2026-11-23T17:00:00Z"); // Mon 23 Nov 09:00 PST
    // Tue 24, Wed 25, (Thu 26 closed), Fri 27, Mon 30, Tue 1 Dec, at 09:00 PST.
    expect((await sla(id)).resolution.dueAt).toBe("2026-12-01T17:00:00Z");
  });

  it("SPP-SA runs around the clock: 4 h are 4 real hours across DST; 5 business days are 5 local days", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-protection-plan-advantage" });
    const p1 = await open(tenant.client, "P1", "2026-11-01T06:00:00Z"); // Sat 31 Oct 23:00 PDT
    expect((await sla(p1)).resolution.dueAt).toBe("2026-11-01T10:00:00Z");
    const p3 = await open(tenant.client, "P3", "2026-10-31T19:00:00Z"); // Sat 31 Oct 12:00 PDT
    // Thu 5 Nov 12:00 PST: 121 real hours, the repeated hour included.
    expect((await sla(p3)).resolution.dueAt).toBe("2026-11-05T20:00:00Z");
  });

  it("meets the resolution clock on resolved and breaches it from the timer otherwise", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-time-and-materials" });
    const met = await open(tenant.client, "P2", "2026-11-23T17:00:00Z");
    const late = await open(tenant.client, "P1", "2026-11-23T17:00:00Z");
    at("2026-11-23T18:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${met}`, { status: "in_progress" });
    await ctx.admin.patch(`/v1/tickets/${met}`, { status: "resolved" });
    at("2026-11-23T21:00:30Z");
    await timers();
    expect((await sla(met)).resolution).toMatchObject({ state: "met", metAt: "2026-11-23T18:00:00Z" });
    expect(await slaKinds(late)).toContain("sla.breached:resolution");
  });

  it("keeps roi-priority as it was", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-priority" });
    const id = await open(tenant.client, "P1", "2026-11-23T17:00:00Z");
    const view = await sla(id);
    expect(view.response.dueAt).toBe("2026-11-23T18:00:00Z");
    expect(view.resolution.dueAt).toBe("2026-11-23T21:00:00Z");
  });
});

describe("ROI Advanced Replacement: next business day replacement (seed 000)", () => {
  const fail = (id: string, as = ctx.admin) =>
    as.post(`/v1/tickets/${id}/replacements`, { part: "PSU-48V", serialNumber: "SN-1" });
  const ship = (id: string, as = ctx.admin) =>
    as.post(`/v1/tickets/${id}/replacements/shipment`, { carrier: "UPS", trackingNumber: "1Z999" });

  it("has no clock until the failure is confirmed, then is due the next business day across a weekend", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-advanced-replacement" });
    const id = await open(tenant.client, "P2", "2026-11-27T16:00:00Z");
    let view = await sla(id);
    expect(view.replacement).toMatchObject({ state: "none", dueAt: null });
    expect(view.response.state).toBe("none");
    expect(view.resolution.state).toBe("none");

    at("2026-11-27T18:00:00Z"); // Fri 27 Nov 10:00 PST
    const res = await fail(id);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ ticketId: id, part: "PSU-48V", serialNumber: "SN-1" });
    view = await sla(id);
    expect(view.replacement).toMatchObject({ state: "running", dueAt: "2026-11-30T18:00:00Z" }); // Mon 10:00 PST

    at("2026-11-30T17:00:00Z");
    const shipped = await ship(id);
    expect(shipped.status, shipped.text).toBe(201);
    view = await sla(id);
    expect(view.replacement).toMatchObject({ state: "met", metAt: "2026-11-30T17:00:00Z" });
    const entries = await ledger(id);
    expect(entries.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["ticket.part_failure_recorded", "ticket.replacement_shipped"]),
    );
    expect(
      entries.find((e) => e.kind === "sla.target_set" && e.detail.clock === "extra:replacement")?.detail,
    ).toMatchObject({
      reason: "part_failure_recorded",
      targetBusinessDays: 1,
      dueAt: "2026-11-30T18:00:00Z",
    });
    expect(
      entries.find((e) => e.kind === "sla.met" && e.detail.clock === "extra:replacement")?.detail,
    ).toMatchObject({ reason: "replacement_shipped", late: false });
  });

  it("skips Thanksgiving with the tenant's US holidays, and breaches from the timer when nothing ships", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-advanced-replacement" });
    await holidays(tenant.id, "US");
    const id = await open(tenant.client, "P3", "2026-11-25T17:00:00Z");
    at("2026-11-25T18:00:00Z"); // Wed 25 Nov 10:00 PST
    await fail(id);
    expect((await sla(id)).replacement.dueAt).toBe("2026-11-27T18:00:00Z"); // Fri 10:00 PST
    at("2026-11-27T18:00:30Z");
    await timers();
    expect((await sla(id)).replacement.state).toBe("breached");
    const breach = (await ledger(id)).find((e) => e.kind === "sla.breached");
    expect(breach?.detail).toMatchObject({ clock: "extra:replacement", dueAt: "2026-11-27T18:00:00Z" });
  });

  it("crosses the US autumn change at the same local time (Fri 10:00 PDT -> Mon 10:00 PST)", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-advanced-replacement" });
    const id = await open(tenant.client, "P3", "2026-10-30T16:00:00Z");
    at("2026-10-30T17:00:00Z");
    await fail(id);
    expect((await sla(id)).replacement.dueAt).toBe("2026-11-02T18:00:00Z");
  });

  it("keeps the running due on a second failure, and starts cycle 2 after the shipment", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-advanced-replacement" });
    const id = await open(tenant.client, "P3", "2026-11-23T17:00:00Z");
    at("2026-11-23T18:00:00Z"); // Mon 10:00 PST
    await fail(id);
    at("2026-11-23T22:00:00Z");
    await fail(id);
    expect((await sla(id)).replacement.dueAt).toBe("2026-11-24T18:00:00Z");
    at("2026-11-24T16:00:00Z");
    await ship(id);
    at("2026-11-24T20:00:00Z"); // Tue 12:00 PST
    await fail(id);
    expect((await sla(id)).replacement).toMatchObject({ state: "running", dueAt: "2026-11-25T20:00:00Z" });
    const starts = (await ledger(id)).filter(
      (e) => e.kind === "sla.target_set" && e.detail.clock === "extra:replacement",
    );
    expect(starts.map((e) => e.detail.cycle)).toEqual([1, 2]);
  });

  it("is the provider's act: a tenant key gets 403 and the clock does not start", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-advanced-replacement" });
    const id = await open(tenant.client, "P3", "2026-11-23T17:00:00Z");
    expect((await fail(id, tenant.client)).status).toBe(403);
    expect((await ship(id, tenant.client)).status).toBe(403);
    expect((await sla(id)).replacement.state).toBe("none");
    const other = await createTenant(ctx, { plan: "roi-advanced-replacement" });
    expect((await fail(id, other.client)).status).toBe(403);
    const bad = await ctx.admin.post(`/v1/tickets/${id}/replacements`, { part: "" });
    expect(bad.status, bad.text).toBe(400);
  });
});

describe("Roxen activation and default priority (seed 001)", () => {
  it("High: one business day after the response, across a weekend and the Swedish autumn change", async () => {
    const tenant = await createTenant(ctx, { plan: "roxen-support" });
    const id = await open(tenant.client, "P2", "2026-10-23T13:00:00Z"); // Fri 23 Oct 15:00 CEST
    expect((await sla(id)).activation.state).toBe("none");
    at("2026-10-23T14:00:00Z"); // acknowledged Fri 16:00 CEST
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" });
    expect((await sla(id)).activation).toMatchObject({ state: "running", dueAt: "2026-10-26T15:00:00Z" });
    at("2026-10-26T14:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    expect((await sla(id)).activation).toMatchObject({ state: "met", metAt: "2026-10-26T14:00:00Z" });
    const met = (await ledger(id)).find((e) => e.kind === "sla.met" && e.detail.clock === "extra:activation");
    expect(met?.detail).toMatchObject({ reason: "status_in_progress", late: false });
  });

  it("High over Christmas with the tenant's SE holidays: Thu 24 Dec 10:00 CET -> Mon 28 Dec 10:00 CET", async () => {
    const tenant = await createTenant(ctx, { plan: "roxen-support" });
    await holidays(tenant.id, "SE");
    const id = await open(tenant.client, "P2", "2026-12-24T08:30:00Z");
    at("2026-12-24T09:00:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "We are on it", visibility: "public" });
    expect((await sla(id)).activation.dueAt).toBe("2026-12-28T09:00:00Z");
  });

  it("Critical: due at the response itself; met only when work starts with the response", async () => {
    const tenant = await createTenant(ctx, { plan: "roxen-support" });
    const straight = await open(tenant.client, "P1", "2026-11-23T09:00:00Z"); // Mon 10:00 CET
    const later = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:20:00Z");
    await ctx.admin.patch(`/v1/tickets/${straight}`, { status: "in_progress" });
    await ctx.admin.patch(`/v1/tickets/${later}`, { status: "acknowledged" });
    expect((await sla(straight)).activation).toMatchObject({
      state: "met",
      dueAt: "2026-11-23T09:20:00Z",
      metAt: "2026-11-23T09:20:00Z",
    });
    expect((await sla(straight)).response.state).toBe("met");
    await timers();
    expect(await slaKinds(later)).toContain("sla.breached:extra:activation");
    at("2026-11-23T09:30:00Z");
    await ctx.admin.patch(`/v1/tickets/${later}`, { status: "in_progress" });
    expect((await sla(later)).activation).toMatchObject({ state: "breached", metAt: "2026-11-23T09:30:00Z" });
  });

  it("Critical answered on a Saturday is due at Monday's opening", async () => {
    const tenant = await createTenant(ctx, { plan: "roxen-support" });
    const id = await open(tenant.client, "P1", "2026-11-27T15:30:00Z"); // Fri 16:30 CET
    at("2026-11-28T09:00:00Z"); // Sat 10:00 CET
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" });
    expect((await sla(id)).activation.dueAt).toBe("2026-11-30T07:00:00Z"); // Mon 08:00 CET
    at("2026-11-30T07:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    expect((await sla(id)).activation.state).toBe("met");
  });

  it("Normal and Low have no activation clock; a client's reopen to in_progress meets nothing", async () => {
    const tenant = await createTenant(ctx, { plan: "roxen-support" });
    const normal = await open(tenant.client, "P3", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:10:00Z");
    await ctx.admin.patch(`/v1/tickets/${normal}`, { status: "in_progress" });
    expect((await sla(normal)).activation.state).toBe("none");
    expect(await slaKinds(normal)).not.toContain("sla.target_set:extra:activation");
  });

  it("keeps the response and feedback times unchanged", async () => {
    const tenant = await createTenant(ctx, { plan: "roxen-support" });
    const id = await open(tenant.client, "P2", "2026-10-23T13:00:00Z"); // Fri 15:00 CEST
    expect((await sla(id)).response.dueAt).toBe("2026-10-26T09:00:00Z"); // 2 h Fri + 2 h Mon (CET)
  });

  it("gives a ticket without a priority Normal (P3) on Roxen, and refuses it on a plan without a default", async () => {
    const roxen = await createTenant(ctx, { plan: "roxen-support" });
    const id = await open(roxen.client, undefined, "2026-11-27T15:30:00Z"); // Fri 16:30 CET
    const ticket = (await ctx.admin.get(`/v1/tickets/${id}`)).body;
    expect(ticket.priority).toBe("P3");
    expect(ticket.sla.response.dueAt).toBe("2026-11-30T15:30:00Z"); // 1 business day: Mon 16:30 CET

    const ombori = await createTenant(ctx, { plan: "ombori-production" });
    const res = await ombori.client.post("/v1/tickets", { title: "No priority" });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: "priority" })]);
    const provider = await ctx.admin.post("/v1/tickets", { title: "x", tenantId: roxen.id });
    expect(provider.status, provider.text).toBe(201);
    expect(provider.body.priority).toBe("P3");
  });

  it("gives an inbound record without a mapped priority the plan's default, else P3 as before", async () => {
    const roxen = await createTenant(ctx, { plan: "roxen-support" });
    const ombori = await createTenant(ctx, { plan: "ombori-pilot" });
    const db = ctx.database.db;
    expect(await planDefaultPriority(db, catalog, roxen.id)).toBe("P3");
    expect(await planDefaultPriority(db, catalog, ombori.id)).toBeNull();
    expect(await inboundPriority(db, catalog, roxen.id, null)).toBe("P3");
    expect(await inboundPriority(db, catalog, roxen.id, "P1")).toBe("P1");
    expect(await inboundPriority(db, catalog, ombori.id, null)).toBe("P3");
    const lowDefault = {
      plans: catalog.plans.map((p) =>
        p.id === "roxen-support" ? { ...p, defaultPriority: "P4" as const } : p,
      ),
    };
    expect(await inboundPriority(db, lowDefault, roxen.id, null)).toBe("P4");
    expect(await inboundPriority(db, lowDefault, roxen.id, "P2")).toBe("P2");
  });
});

describe("Ombori level names (seed 004)", () => {
  it.each([
    ["Critical", "P1"],
    ["major", "P2"],
    ["  MINOR ", "P3"],
    ["Cosmetic", "P4"],
    ["Level 1", "P1"],
    ["4", "P4"],
  ])("translates %j to %s, exactly", async (value, priority) => {
    const res = await ctx.admin.post("/v1/priority/translate", { scheme: "ombori-level", value });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ scheme: "ombori-level", priority, exact: true });
  });

  it("still sends the level number, and lists the names in /v1/priority-schemes", async () => {
    const out = await ctx.admin.post("/v1/priority/translate", { scheme: "ombori-level", priority: "P2" });
    expect(out.body).toMatchObject({ value: "2", lossy: false });
    const list = await ctx.admin.get("/v1/priority-schemes");
    const ombori = list.body.items.find((s: { id: string }) => s.id === "ombori-level");
    expect(ombori.values[0]).toEqual({ value: "1", aliases: ["Level 1", "Critical"], priority: "P1" });
    expect(ombori.lossless).toEqual({ P1: true, P2: true, P3: true, P4: true });
  });

  it("applies a tenant's inbound override given by name to the level and all its spellings", async () => {
    const res = await ctx.admin.post("/v1/tenants", {
      name: "Ombori client",
      plan: "ombori-production",
      priorityOverrides: { "ombori-level": { inbound: [{ value: "Cosmetic", priority: "P3" }] } },
    });
    expect(res.status, res.text).toBe(201);
    for (const value of ["4", "Level 4", "cosmetic"]) {
      const read = await ctx.admin.post("/v1/priority/translate", {
        scheme: "ombori-level",
        value,
        tenantId: res.body.id,
      });
      expect(read.body.priority, value).toBe("P3");
    }
  });

  it("still refuses an unknown name", async () => {
    const res = await ctx.admin.post("/v1/priority/translate", { scheme: "ombori-level", value: "Blocker" });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("value");
  });
});

describe("status-update compliance in /v1/reports/sla (seed 004, Analytics and reports)", () => {
  it("counts update cycles met and missed and the longest silence, per ticket, in JSON and CSV", async () => {
    const tenant = await createTenant(ctx, { name: "Updates", plan: "ombori-production" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z"); // Mon 10:00 CET, updates every 1 h
    at("2026-11-23T09:10:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" }); // cycle 1 due 10:10Z
    at("2026-11-23T10:00:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "update 1", visibility: "public" }); // met, 50 min
    at("2026-11-23T11:30:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "update 2", visibility: "public" }); // late, 90 min
    at("2026-11-23T12:40:00Z");
    await timers(); // cycle 3 (due 12:30Z) breached
    at("2026-11-23T13:10:00Z"); // cycle 3 silent for 100 min so far

    const query = `from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z&tenantId=${tenant.id}`;
    const json = await ctx.admin.get(`/v1/reports/sla?${query}&groupBy=ticket`);
    expect(json.status, json.text).toBe(200);
    expect(json.body.groups).toEqual([
      expect.objectContaining({
        group: id,
        tickets: 1,
        updateMet: 1,
        updateMissed: 2,
        longestSilenceBusinessMinutes: 100,
      }),
    ]);
    const byPlan = await ctx.admin.get(`/v1/reports/sla?${query}&groupBy=plan`);
    expect(byPlan.body.groups).toEqual([
      expect.objectContaining({ group: "ombori-production", updateMet: 1, updateMissed: 2 }),
    ]);
    const csv = await ctx.admin.get(`/v1/reports/sla?${query}&groupBy=priority`, { accept: "text/csv" });
    const [header, row] = csv.text.trim().split("\n");
    const cells = Object.fromEntries(header!.split(",").map((name, i) => [name, row!.split(",")[i]]));
    expect(cells).toMatchObject({
      group: "P1",
      updateMet: "1",
      updateMissed: "2",
      longestSilenceBusinessMinutes: "100",
    });
  });

  it("measures silence in business time: across a weekend and the autumn change it is 4 h, not 66 h", async () => {
    const tenant = await createTenant(ctx, { name: "Pilot", plan: "ombori-pilot" }); // Mon-Fri 08-18, 4 h
    const id = await open(tenant.client, "P1", "2026-10-23T13:00:00Z"); // Fri 23 Oct 15:00 CEST
    at("2026-10-23T14:00:00Z"); // Fri 16:00 CEST: cycle 1 due Mon 26 Oct 10:00 CET
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "first", visibility: "public" });
    expect((await sla(id)).update.dueAt).toBe("2026-10-26T09:00:00Z");
    at("2026-10-26T09:00:00Z"); // an update exactly at the due is in time
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "second", visibility: "public" });
    at("2026-10-26T09:30:00Z");
    const query = `from=2026-10-23T00:00:00Z&to=2026-10-24T00:00:00Z&tenantId=${tenant.id}&groupBy=ticket`;
    const report = await ctx.admin.get(`/v1/reports/sla?${query}`);
    expect(report.body.groups).toEqual([
      expect.objectContaining({ updateMet: 1, updateMissed: 0, longestSilenceBusinessMinutes: 240 }),
    ]);
  });

  it("shows nothing for tickets without an update clock, and another tenant's tickets not at all", async () => {
    const tenant = await createTenant(ctx, { name: "No updates", plan: "roi-priority" });
    await open(tenant.client, "P1", "2026-11-23T17:00:00Z");
    const query = "from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z&groupBy=plan";
    const own = await tenant.client.get(`/v1/reports/sla?${query}`);
    expect(own.body.groups).toEqual([
      expect.objectContaining({
        group: "roi-priority",
        updateMet: 0,
        updateMissed: 0,
        longestSilenceBusinessMinutes: null,
      }),
    ]);
  });
});

describe("Active SoftSwitch: two-day Low resolution and escalation steps (seed 002)", () => {
  it("Lite Low: two business days of the 7-day UK desk across the autumn change", async () => {
    const tenant = await createTenant(ctx, { plan: "activesoftswitch-lite" });
    const id = await open(tenant.client, "P3", "2026-10-24T13:00:00Z"); // Sat 24 Oct 14:00 BST
    const view = await sla(id);
    expect(view.resolution.dueAt).toBe("2026-10-26T14:00:00Z"); // Mon 26 Oct 14:00 GMT
    expect(view.response.dueAt).toBe("2026-10-29T12:00:00Z"); // the 48 h response, unchanged
  });

  it("Technical Low over Christmas with GB holidays: resolution and the Account Manager step at 2 days", async () => {
    const tenant = await createTenant(ctx, { plan: "activesoftswitch-technical" });
    await holidays(tenant.id, "GB");
    const id = await open(tenant.client, "P4", "2026-12-25T10:00:00Z"); // Christmas Day, closed
    // Closed 25, 26 and 28 (Boxing Day substitute): starts Sun 27 00:00, counts Tue 29 and Wed 30.
    expect((await sla(id)).resolution.dueAt).toBe("2026-12-30T00:00:00Z");
    at("2026-12-30T00:00:30Z");
    await timers();
    const escalated = (await ledger(id)).filter((e) => e.kind === "sla.escalated");
    expect(escalated.map((e) => e.detail)).toEqual([
      expect.objectContaining({
        clock: "escalation:account-manager",
        step: "account-manager",
        role: "Account Manager",
        priority: "P4",
        afterBusinessDays: 2,
        dueAt: "2026-12-30T00:00:00Z",
      }),
    ]);
  });

  it("Technical Immediate: Account Manager after 2 h, Technical Director after 4 h, once each, across DST", async () => {
    const tenant = await createTenant(ctx, { plan: "activesoftswitch-technical" });
    const id = await open(tenant.client, "P1", "2026-10-24T22:30:00Z"); // Sat 24 Oct 23:30 BST
    at("2026-10-25T00:29:00Z");
    await timers();
    expect(await slaKinds(id)).not.toContain("sla.escalated:escalation:account-manager");
    at("2026-10-25T00:30:00Z"); // 2 real hours on the 24/7 desk, whatever the local clocks say
    await timers();
    await timers();
    at("2026-10-25T02:30:00Z");
    await timers();
    const escalations = (await ledger(id)).filter((e) => e.kind === "sla.escalated");
    expect(escalations.map((e) => [e.detail.role, e.detail.dueAt])).toEqual([
      ["Account Manager", "2026-10-25T00:30:00Z"],
      ["Technical Director", "2026-10-25T02:30:00Z"],
    ]);
    const entry = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.ticketId, id), eq(ledgerEntries.kind, "sla.escalated")));
    expect(entry[0]!.actorType).toBe("system");
    expect(await slaKinds(id)).not.toContain("sla.at_risk:escalation:account-manager");
  });

  it("stops the steps on resolve, resumes the unfired ones on a reopen, and counts pending_customer as a pause", async () => {
    const tenant = await createTenant(ctx, { plan: "activesoftswitch-technical" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:30:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "pending_customer" });
    at("2026-11-23T10:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    at("2026-11-23T11:15:00Z"); // 1 h 45 min unresolved (30 min paused): no step yet
    await timers();
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "resolved" });
    at("2026-11-23T15:00:00Z");
    await timers();
    expect(await slaKinds(id)).not.toContain("sla.escalated:escalation:account-manager");
    await tenant.client.patch(`/v1/tickets/${id}`, { status: "in_progress" }); // reopen: 15 min left
    at("2026-11-23T15:15:00Z");
    await timers();
    const kinds = await slaKinds(id);
    expect(kinds).toContain("sla.stopped:escalation:account-manager");
    expect(kinds).toContain("sla.resumed:escalation:account-manager");
    const fired = (await ledger(id)).filter((e) => e.kind === "sla.escalated");
    expect(fired.map((e) => [e.detail.step, e.detail.dueAt])).toEqual([
      ["account-manager", "2026-11-23T15:15:00Z"],
    ]);
  });

  it("are available to every plan: an operator's step on an Ombori plan fires the same way", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-pilot-escalating" });
    const id = await open(tenant.client, "P2", "2026-10-23T15:30:00Z"); // Fri 17:30 CEST
    at("2026-10-26T07:29:59Z");
    await timers();
    at("2026-10-26T07:30:00Z"); // 30 min on Friday, 30 min from Monday 08:00 CET
    await timers();
    const fired = (await ledger(id)).filter((e) => e.kind === "sla.escalated");
    expect(fired.map((e) => e.detail)).toEqual([
      expect.objectContaining({ role: "Duty Manager", dueAt: "2026-10-26T07:30:00Z", afterMinutes: 60 }),
    ]);
    // No step for P1 on this plan: nothing is started.
    const p1 = await open(tenant.client, "P1", "2026-10-26T08:00:00Z");
    expect(await slaKinds(p1)).toEqual(["sla.target_set:response"]);
  });
});
