import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { runSlaTimers } from "../../src/services/sla-timers.js";
import { loadPlanCatalog } from "../../src/sla/catalog.js";
import { type Client, createTenant, createTestApp, type TestContext } from "../harness.js";

const clock = { now: new Date("2026-11-23T09:00:00Z") };
const at = (iso: string) => {
  clock.now = new Date(iso);
};
let ctx: TestContext;
const catalog = loadPlanCatalog();

beforeAll(async () => {
  ctx = await createTestApp({ now: () => clock.now });
});
afterAll(async () => ctx?.close());

async function open(api: Client, priority: string, when: string) {
  at(when);
  const res = await api.post("/v1/tickets", { title: "Circuit down", priority });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}
const sla = async (id: string) => (await ctx.admin.get(`/v1/tickets/${id}`)).body.sla;
const slaKinds = async (id: string) =>
  (await ctx.admin.get(`/v1/tickets/${id}/ledger?limit=200`)).body.items
    .filter((e: { kind: string }) => e.kind.startsWith("sla."))
    .map((e: { kind: string; detail: { clock: string; reason?: string } }) => `${e.kind}:${e.detail.clock}`);
const timers = (workerId = "test-worker") =>
  runSlaTimers(ctx.database.db, { catalog, now: () => clock.now, workerId, leaseMs: 30_000, batchSize: 100 });

describe("response and update clocks (ombori-production, Mon-Sun 08:00-21:00 Europe/Stockholm)", () => {
  it("sets targets from the plan and priority when the ticket opens", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z"); // Monday 10:00 CET
    const view = await sla(id);
    expect(view.plan).toBe("ombori-production");
    expect(view.response).toMatchObject({ dueAt: "2026-11-23T09:30:00Z", state: "running", metAt: null });
    expect(view.response.remainingBusinessSeconds).toBe(1800);
    expect(view.update.state).toBe("none");
    expect(view.resolution).toMatchObject({ state: "none", dueAt: null });
    expect(await slaKinds(id)).toEqual(["sla.target_set:response"]);
  });

  it("meets the response on the provider's acknowledgement and starts the update clock from it", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:10:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" });
    let view = await sla(id);
    expect(view.response).toMatchObject({ state: "met", metAt: "2026-11-23T09:10:00Z" });
    expect(view.update).toMatchObject({ state: "running", dueAt: "2026-11-23T10:10:00Z" });

    at("2026-11-23T09:40:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "internal only" });
    expect((await sla(id)).update.dueAt).toBe("2026-11-23T10:10:00Z");
    await tenant.client.post(`/v1/tickets/${id}/comments`, { body: "any news?", visibility: "public" });
    expect((await sla(id)).update.dueAt).toBe("2026-11-23T10:10:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "Carrier dispatched", visibility: "public" });
    view = await sla(id);
    expect(view.update).toMatchObject({ state: "running", dueAt: "2026-11-23T10:40:00Z" });
    expect(await slaKinds(id)).toEqual([
      "sla.target_set:response",
      "sla.met:response",
      "sla.target_set:update",
      "sla.met:update",
      "sla.target_set:update",
    ]);
  });

  it("meets the response with the first provider public comment, not a client's or an internal one", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P2", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:05:00Z");
    await tenant.client.post(`/v1/tickets/${id}/comments`, { body: "hello?", visibility: "public" });
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "note", visibility: "internal" });
    expect((await sla(id)).response.state).toBe("running");
    at("2026-11-23T09:20:00Z");
    await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: "Looking into it", visibility: "public" });
    const view = await sla(id);
    expect(view.response).toMatchObject({ state: "met", metAt: "2026-11-23T09:20:00Z" });
    expect(view.update.dueAt).toBe("2026-11-23T11:20:00Z");
  });

  it("does not count a client's status change as the provider's acknowledgement", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P2", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:05:00Z");
    await tenant.client.patch(`/v1/tickets/${id}`, { status: "cancelled" });
    const view = await sla(id);
    expect(view.response.state).toBe("none");
    expect(await slaKinds(id)).toEqual(["sla.target_set:response", "sla.stopped:response"]);
  });
});

describe("breach detection from durable timers", () => {
  it("records at risk at 80 % and the breach once, however often the timers run", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:23:00Z");
    await timers();
    expect(await slaKinds(id)).toEqual(["sla.target_set:response"]);
    at("2026-11-23T09:25:00Z");
    await timers();
    expect(await slaKinds(id)).toEqual(["sla.target_set:response", "sla.at_risk:response"]);
    at("2026-11-23T09:30:30Z");
    await timers();
    await timers();
    expect(await slaKinds(id)).toEqual([
      "sla.target_set:response",
      "sla.at_risk:response",
      "sla.breached:response",
    ]);
    const view = await sla(id);
    expect(view.response).toMatchObject({ state: "breached", remainingBusinessSeconds: 0 });
    const breach = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.ticketId, id), eq(ledgerEntries.kind, "sla.breached")));
    expect(breach[0]!.detail).toMatchObject({ clock: "response", dueAt: "2026-11-23T09:30:00Z" });
    expect(breach[0]!.actorType).toBe("system");

    at("2026-11-23T09:40:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "acknowledged" });
    expect((await sla(id)).response).toMatchObject({ state: "breached", metAt: "2026-11-23T09:40:00Z" });
  });

  it("does not fire for a clock met before its due time", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:10:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    at("2026-11-23T09:45:00Z");
    await timers();
    expect(await slaKinds(id)).not.toContain("sla.breached:response");
    expect((await sla(id)).response.state).toBe("met");
  });
});

describe("pauses, resolution and reopen (roi-priority, Mon-Fri 08:00-17:00 America/Los_Angeles)", () => {
  it("pauses every running clock while pending_customer and keeps the elapsed time across a reopen", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-priority" });
    const id = await open(tenant.client, "P1", "2026-11-23T17:00:00Z"); // Monday 09:00 PST
    let view = await sla(id);
    expect(view.response.dueAt).toBe("2026-11-23T18:00:00Z");
    expect(view.resolution.dueAt).toBe("2026-11-23T21:00:00Z");

    at("2026-11-23T17:30:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    at("2026-11-23T18:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "pending_customer" });
    at("2026-11-23T18:30:00Z");
    view = await sla(id);
    expect(view.resolution).toMatchObject({ state: "paused", dueAt: null, pausedSeconds: 1800 });
    at("2026-11-23T19:00:00Z");
    await tenant.client.patch(`/v1/tickets/${id}`, { description: "more info" });
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    view = await sla(id);
    expect(view.resolution).toMatchObject({
      state: "running",
      dueAt: "2026-11-23T22:00:00Z",
      pausedSeconds: 3600,
    });

    at("2026-11-23T20:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "resolved" });
    view = await sla(id);
    expect(view.resolution).toMatchObject({ state: "met", metAt: "2026-11-23T20:00:00Z" });

    at("2026-11-23T21:00:00Z");
    await tenant.client.patch(`/v1/tickets/${id}`, { status: "in_progress" });
    view = await sla(id);
    expect(view.resolution).toMatchObject({ state: "running", metAt: null, dueAt: "2026-11-23T23:00:00Z" });
    at("2026-11-23T21:30:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "resolved" });
    expect((await sla(id)).resolution).toMatchObject({ state: "met", metAt: "2026-11-23T21:30:00Z" });
    const kinds = await slaKinds(id);
    expect(kinds.filter((k: string) => k.startsWith("sla.paused"))).toEqual(["sla.paused:resolution"]);
    expect(kinds).toContain("sla.resumed:resolution");
  });

  it("recomputes targets from the opening time when the priority changes, recorded in the ledger", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-priority" });
    const id = await open(tenant.client, "P3", "2026-11-23T17:00:00Z");
    let view = await sla(id);
    // 8 business hours from 09:00 ends exactly at 17:00 closing: due then, not at the next opening.
    expect(view.response.dueAt).toBe("2026-11-24T01:00:00Z");
    // 5 business days: the same local time on the fifth following business day.
    expect(view.resolution.dueAt).toBe("2026-11-30T17:00:00Z");
    at("2026-11-23T17:30:00Z");
    await tenant.client.patch(`/v1/tickets/${id}`, { priority: "P1" });
    view = await sla(id);
    expect(view.response.dueAt).toBe("2026-11-23T18:00:00Z");
    expect(view.resolution.dueAt).toBe("2026-11-23T21:00:00Z");
    const entries = (await ctx.admin.get(`/v1/tickets/${id}/ledger?kind=sla.target_set`)).body.items;
    expect(
      entries.filter((e: { detail: { reason: string } }) => e.detail.reason === "priority_changed"),
    ).toHaveLength(2);
  });
});

describe("business days, tenant zone, holidays", () => {
  it("counts N business days to the same local time (ombori-pilot P4)", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-pilot" });
    const id = await open(tenant.client, "P4", "2026-11-25T14:00:00Z"); // Wednesday 15:00 CET
    expect((await sla(id)).response.dueAt).toBe("2026-12-02T14:00:00Z");
  });

  it("recomputes open clocks when the tenant's time zone changes", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-pilot" });
    const id = await open(tenant.client, "P1", "2026-11-23T14:00:00Z"); // 15:00 in Stockholm, 09:00 in New York
    expect((await sla(id)).response.dueAt).toBe("2026-11-24T08:00:00Z");
    await ctx.admin.patch(`/v1/tenants/${tenant.id}`, { timezone: "America/New_York" });
    expect((await sla(id)).response.dueAt).toBe("2026-11-23T18:00:00Z");
    expect(await slaKinds(id)).toEqual(["sla.target_set:response", "sla.target_set:response"]);
  });

  it("recomputes when the plan changes", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-free" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    expect((await sla(id)).response.state).toBe("none");
    await ctx.admin.patch(`/v1/tenants/${tenant.id}`, { plan: "ombori-enterprise" });
    expect((await sla(id)).response).toMatchObject({ state: "running", dueAt: "2026-11-23T09:30:00Z" });
  });

  it("skips tenant holidays and a country's public holidays", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-pilot" });
    const friday = await open(tenant.client, "P1", "2026-12-11T16:00:00Z"); // Friday 17:00 CET
    expect((await sla(friday)).response.dueAt).toBe("2026-12-14T10:00:00Z");
    const christmasEve = await open(tenant.client, "P1", "2026-12-24T16:00:00Z");
    expect((await sla(christmasEve)).response.dueAt).toBe("2026-12-25T10:00:00Z");

    const put = await ctx.admin.put(`/v1/tenants/${tenant.id}/holidays`, {
      dates: ["2026-12-14"],
      country: "SE",
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ dates: ["2026-12-14"], country: "SE" });
    expect((await sla(friday)).response.dueAt).toBe("2026-12-15T10:00:00Z");
    // 25 December is a Swedish public holiday, 26 December a Saturday.
    expect((await sla(christmasEve)).response.dueAt).toBe("2026-12-28T10:00:00Z");
    expect((await ctx.admin.get(`/v1/tenants/${tenant.id}/holidays`)).body.country).toBe("SE");
  });

  it("rejects bad holiday input", async () => {
    const tenant = await createTenant(ctx);
    const bad = await ctx.admin.put(`/v1/tenants/${tenant.id}/holidays`, { dates: ["2026-13-40"] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("dates[0]");
    const country = await ctx.admin.put(`/v1/tenants/${tenant.id}/holidays`, { dates: [], country: "XX" });
    expect(country.status).toBe(400);
    expect(country.body.errors[0].path).toBe("country");
    expect((await tenant.client.put(`/v1/tenants/${tenant.id}/holidays`, { dates: [] })).status).toBe(403);
  });
});

describe("extra named clocks and stops", () => {
  it("meets the help desk's appointment clock when an appointment is recorded", async () => {
    const tenant = await createTenant(ctx, { plan: "helpdesk-incidents" });
    const id = await open(tenant.client, "P3", "2026-11-23T15:00:00Z"); // Monday 10:00 New York
    let view = await sla(id);
    expect(view.appointment).toMatchObject({ state: "running", dueAt: "2026-11-25T15:00:00Z" });
    expect(
      (await tenant.client.post(`/v1/tickets/${id}/appointments`, { scheduledFor: "2026-11-24T15:00:00Z" }))
        .status,
    ).toBe(403);
    at("2026-11-24T14:00:00Z");
    const res = await ctx.admin.post(`/v1/tickets/${id}/appointments`, {
      scheduledFor: "2026-11-26T15:00:00Z",
    });
    expect(res.status, res.text).toBe(201);
    view = await sla(id);
    expect(view.appointment).toMatchObject({ state: "met", metAt: "2026-11-24T14:00:00Z" });
  });

  it("stops the appointment clock when the ticket is resolved without one", async () => {
    const tenant = await createTenant(ctx, { plan: "helpdesk-incidents" });
    const id = await open(tenant.client, "P3", "2026-11-23T15:00:00Z");
    at("2026-11-23T16:00:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "resolved" });
    at("2026-11-30T15:00:00Z");
    await timers();
    const view = await sla(id);
    expect(view.appointment.state).toBe("none");
    expect(await slaKinds(id)).not.toContain("sla.breached:extra:appointment");
  });

  it("shows a clock stopped in time as none, also after its old due time passed", async () => {
    const tenant = await createTenant(ctx, { plan: "ombori-production" });
    const id = await open(tenant.client, "P1", "2026-11-23T09:00:00Z");
    at("2026-11-23T09:05:00Z");
    await tenant.client.patch(`/v1/tickets/${id}`, { status: "cancelled" });
    at("2026-11-23T12:00:00Z");
    expect((await sla(id)).response.state).toBe("none");
  });

  it("stops open clocks when a ticket is closed", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-priority" });
    const id = await open(tenant.client, "P2", "2026-11-23T17:00:00Z");
    at("2026-11-23T17:10:00Z");
    await ctx.admin.patch(`/v1/tickets/${id}`, { status: "resolved" });
    await tenant.client.patch(`/v1/tickets/${id}`, { status: "closed" });
    const view = await sla(id);
    expect(view.response.state).toBe("met");
    expect(view.resolution.state).toBe("met");
    at("2026-11-30T17:00:00Z");
    await timers();
    expect(await slaKinds(id)).not.toContain("sla.breached:resolution");
  });
});
