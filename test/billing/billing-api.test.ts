import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerEntries } from "../../src/db/schema/index.js";
import { signCheckpoints } from "../../src/ledger/checkpoints.js";
import { createOperator, createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

const clock = { now: new Date("2026-11-16T15:00:00Z") };
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({ now: () => clock.now });
});
afterAll(async () => ctx?.close());

const minutesLater = (iso: string, minutes: number) =>
  new Date(Date.parse(iso) + minutes * 60_000).toISOString();

async function appointment(ticketId: string) {
  const res = await ctx.admin.post(`/v1/tickets/${ticketId}/appointments`, {
    scheduledFor: "2026-11-17T15:00:00Z",
  });
  expect(res.status, res.text).toBe(201);
  return res.body.appointmentId as string;
}

describe("seed 003 help desk billing through the API", () => {
  let tenant: Awaited<ReturnType<typeof createTenant>>;
  let ticketId: string;
  beforeAll(async () => {
    tenant = await createTenant(ctx, { plan: "helpdesk-incidents" });
    const bought = await ctx.admin.post(`/v1/tenants/${tenant.id}/billing/purchases`, {
      kind: "incident_pack",
      incidents: 20,
    });
    expect(bought.status, bought.text).toBe(201);
    ticketId = (await openTicket(tenant.client)).id;
  });

  it("POST /v1/tickets/:id/handover charges one incident, once; a tenant key may not hand over", async () => {
    expect((await tenant.client.post(`/v1/tickets/${ticketId}/handover`, {})).status).toBe(403);
    const res = await ctx.admin.post(`/v1/tickets/${ticketId}/handover`, {});
    expect(res.status, res.text).toBe(201);
    expect(res.body.charges).toMatchObject([
      { kind: "billing.consumed", account: "incidents", delta: -1, rule: "handover" },
    ]);
    expect(res.body.charges[0].sequence).toBeGreaterThan(res.body.sequence);
    expect((await ctx.admin.post(`/v1/tickets/${ticketId}/handover`, {})).status).toBe(409);
  });

  it.each([
    [20, 2],
    [60, 2],
    [61, 3],
    [90, 3],
    [91, 4],
  ])("an appointment concluded after %i minutes charges %i incidents", async (minutes, incidents) => {
    const id = await appointment(ticketId);
    const start = "2026-11-17T15:00:00Z";
    expect((await ctx.admin.post(`/v1/tickets/${ticketId}/appointments/${id}/conclusion`, {})).status).toBe(
      409,
    );
    const started = await ctx.admin.post(`/v1/tickets/${ticketId}/appointments/${id}/start`, { at: start });
    expect(started.status, started.text).toBe(201);
    const res = await ctx.admin.post(`/v1/tickets/${ticketId}/appointments/${id}/conclusion`, {
      at: minutesLater(start, minutes),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.charges).toMatchObject([
      { account: "incidents", delta: -incidents, rule: "appointment" },
    ]);
    expect((await ctx.admin.post(`/v1/tickets/${ticketId}/appointments/${id}/conclusion`, {})).status).toBe(
      409,
    );
  });

  it("derives the balance from the chain: 20 bought, 1 + 14 consumed", async () => {
    const res = await tenant.client.get(`/v1/tenants/${tenant.id}/billing`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.incidents).toMatchObject({ purchased: 20, consumed: 15, balance: 5 });
  });

  it("a correction is a reversing entry, once; the tenant may not correct", async () => {
    const ledger = await ctx.admin.get(`/v1/ledger?tenantId=${tenant.id}&kind=billing.*`);
    const consumed = ledger.body.items.find((e: { kind: string }) => e.kind === "billing.consumed");
    expect(
      (
        await tenant.client.post(`/v1/tenants/${tenant.id}/billing/corrections`, {
          reverses: consumed.sequence,
          reason: "x",
        })
      ).status,
    ).toBe(403);
    const res = await ctx.admin.post(`/v1/tenants/${tenant.id}/billing/corrections`, {
      reverses: consumed.sequence,
      reason: "handover charged in error",
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ kind: "billing.reversed", delta: 1 });
    const again = await ctx.admin.post(`/v1/tenants/${tenant.id}/billing/corrections`, {
      reverses: consumed.sequence,
      reason: "twice",
    });
    expect(again.status).toBe(409);
    expect((await ctx.admin.get(`/v1/tenants/${tenant.id}/billing`)).body.incidents.balance).toBe(6);
  });

  it("the statement is readable by the provider and the tenant's own key only, and recomputes identically", async () => {
    const other = await createTenant(ctx, { plan: "helpdesk-incidents" });
    const path = `/v1/tenants/${tenant.id}/statements/2026-11`;
    expect((await other.client.get(path)).status).toBe(404);
    const first = await tenant.client.get(path);
    expect(first.status, first.text).toBe(200);
    const second = await ctx.admin.get(path);
    expect(second.body.billingDigest).toBe(first.body.billingDigest);
    expect(second.body.lines).toEqual(first.body.lines);
    expect(first.body).toMatchObject({
      zone: "America/New_York",
      from: "2026-11-01T04:00:00.000Z",
      to: "2026-12-01T05:00:00.000Z",
      incidents: { opening: 0, purchased: 20, consumed: 14, remaining: 6 },
      chain: { verified: true },
    });
    // Every consumption names the provider act it charges for, in the ticket's ledger.
    const ticketLedger = await ctx.admin.get(`/v1/tickets/${ticketId}/ledger?limit=200`);
    const sequences = new Set(ticketLedger.body.items.map((e: { sequence: number }) => e.sequence));
    for (const line of first.body.lines.filter((l: { kind: string }) => l.kind === "billing.consumed")) {
      expect(sequences.has(line.source), JSON.stringify(line)).toBe(true);
    }
    const csv = await tenant.client.get(path, { accept: "text/csv" });
    expect(csv.text.split("\n")[0]).toBe(
      "sequence,occurredAt,ticketId,kind,account,rule,delta,unit,source,reverses",
    );
    const html = await tenant.client.get(path, { accept: "text/html" });
    expect(html.text).toContain("Ledger chain: verified");
    // No checkpoint signed yet; once one is, the statement carries the tenant's newest one.
    expect(first.body.checkpoint).toBeNull();
    await signCheckpoints(ctx.database.db, { keyring: ctx.deps.config.ledger.keyring, now: () => clock.now });
    const signed = await tenant.client.get(path);
    expect(signed.body.checkpoint).toMatchObject({
      scope: tenant.id,
      keyId: ctx.deps.config.ledger.keyring.keyId,
    });
    expect(signed.body.billingDigest).toBe(first.body.billingDigest);
    expect((await tenant.client.get(path, { accept: "text/html" })).text).toContain("Signed checkpoint lcp_");
  });
});

describe("rollover at the contract year boundary", () => {
  it("carries at most fifteen incidents into the next calendar year (tenant zone)", async () => {
    const tenant = await createTenant(ctx, { plan: "helpdesk-incidents" });
    clock.now = new Date("2026-12-20T15:00:00Z");
    await ctx.admin.post(`/v1/tenants/${tenant.id}/billing/purchases`, {
      kind: "incident_pack",
      incidents: 30,
    });
    const ticket = await openTicket(tenant.client);
    await ctx.admin.post(`/v1/tickets/${ticket.id}/handover`, {});
    clock.now = new Date("2027-01-01T04:30:00Z"); // still 2026 in New York
    expect((await ctx.admin.get(`/v1/tenants/${tenant.id}/billing`)).body.incidents.balance).toBe(29);
    clock.now = new Date("2027-01-01T05:30:00Z");
    const after = await ctx.admin.get(`/v1/tenants/${tenant.id}/billing`);
    expect(after.body.incidents).toMatchObject({
      balance: 15,
      rollovers: [{ yearStart: "2027-01-01", carried: 15, forfeited: 14 }],
    });
    const statement = await ctx.admin.get(`/v1/tenants/${tenant.id}/statements/2027-01`);
    expect(statement.body.incidents).toMatchObject({
      opening: 29,
      remaining: 15,
      rollovers: [{ carried: 15, forfeited: 14 }],
    });
    clock.now = new Date("2026-11-16T15:00:00Z");
  });
});

describe("ROI time and materials, block of hours and SPP-SA", () => {
  it("T&M: billable work-log time at the rate, trip fee and travel time per dispatch", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-time-and-materials" });
    const terms = await ctx.admin.put(`/v1/tenants/${tenant.id}/billing/terms`, {
      hourlyRateCents: 12_000,
      tripFeeCents: 7_500,
    });
    expect(terms.status, terms.text).toBe(200);
    const ticket = await openTicket(tenant.client);
    const dispatched = await ctx.admin.post(`/v1/tickets/${ticket.id}/dispatches`, { travelMinutes: 30 });
    expect(dispatched.status, dispatched.text).toBe(201);
    expect(dispatched.body.charges).toMatchObject([
      { rule: "trip-fee", delta: 7_500 },
      { rule: "travel-time", delta: 6_000 },
    ]);
    const work = { author: "tech-7", startedAt: "2026-11-16T16:00:00Z", durationMinutes: 45 };
    const billable = await ctx.admin.post(`/v1/tickets/${ticket.id}/worklogs`, { ...work, billable: true });
    expect(billable.status, billable.text).toBe(201);
    expect(billable.body.charges).toMatchObject([{ rule: "labor", delta: 9_000 }]);
    const free = await ctx.admin.post(`/v1/tickets/${ticket.id}/worklogs`, { ...work, billable: false });
    expect(free.body.charges).toEqual([]);
    expect((await tenant.client.post(`/v1/tickets/${ticket.id}/worklogs`, work)).status).toBe(403);
    const list = await tenant.client.get(`/v1/tickets/${ticket.id}/worklogs`);
    expect(list.body.items.map((w: { billable: boolean }) => w.billable)).toEqual([true, false]);
    const statement = await tenant.client.get(`/v1/tenants/${tenant.id}/statements/2026-11`);
    expect(statement.body.timeAndMaterials.chargedCents).toBe(22_500);
  });

  it("block of hours: billable time draws on the block", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-block-of-hours" });
    await ctx.admin.post(`/v1/tenants/${tenant.id}/billing/purchases`, {
      kind: "hour_block",
      hours: 10,
      expiresOn: "2027-06-30",
    });
    const ticket = await openTicket(tenant.client);
    await ctx.admin.post(`/v1/tickets/${ticket.id}/worklogs`, {
      author: "tech-7",
      startedAt: "2026-11-16T16:00:00Z",
      durationMinutes: 90,
    });
    const balances = await tenant.client.get(`/v1/tenants/${tenant.id}/billing`);
    expect(balances.body.hours).toMatchObject({ remainingMinutes: 510, consumedMinutes: 90 });
    expect(balances.body.hours.blocks[0].expiresAt).toBe("2027-07-01T07:00:00.000Z");
  });

  it("SPP-SA: a dispatch bills no trip fee or travel time", async () => {
    const tenant = await createTenant(ctx, { plan: "roi-protection-plan-advantage" });
    await ctx.admin.put(`/v1/tenants/${tenant.id}/billing/terms`, {
      hourlyRateCents: 12_000,
      tripFeeCents: 7_500,
    });
    const ticket = await openTicket(tenant.client);
    const res = await ctx.admin.post(`/v1/tickets/${ticket.id}/dispatches`, { travelMinutes: 30 });
    expect(res.status, res.text).toBe(201);
    expect(res.body.charges).toEqual([]);
  });
});

describe("billing errors", () => {
  it("answers problem+json for an end before the start, a bad month, and tenants out of reach", async () => {
    const tenant = await createTenant(ctx, { plan: "helpdesk-incidents" });
    const other = await createTenant(ctx, { plan: "helpdesk-incidents" });
    const ticket = await openTicket(tenant.client);
    const id = await appointment(ticket.id);
    await ctx.admin.post(`/v1/tickets/${ticket.id}/appointments/${id}/start`, { at: "2026-11-17T15:00:00Z" });
    const backwards = await ctx.admin.post(`/v1/tickets/${ticket.id}/appointments/${id}/conclusion`, {
      at: "2026-11-17T14:00:00Z",
    });
    expect(backwards.status, backwards.text).toBe(400);
    expect(backwards.headers.get("content-type")).toContain("application/problem+json");
    expect((await ctx.admin.post(`/v1/tickets/${ticket.id}/appointments/apt_nope/start`, {})).status).toBe(
      404,
    );
    expect((await ctx.admin.get(`/v1/tenants/${tenant.id}/statements/2026-13`)).status).toBe(404);
    const operator = await createOperator(ctx, [other.id]);
    const bought = await operator.client.post(`/v1/tenants/${tenant.id}/billing/purchases`, {
      kind: "incident_pack",
      incidents: 1,
    });
    expect(bought.status, bought.text).toBe(404);
    expect((await other.client.get(`/v1/tenants/${tenant.id}/billing`)).status).toBe(404);
    expect((await other.client.get(`/v1/tickets/${ticket.id}/worklogs`)).status).toBe(404);
    expect(
      (await ctx.admin.put("/v1/tenants/ten_missing/billing/terms", { hourlyRateCents: 1 })).status,
    ).toBe(404);
    const written = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.tenantId, "ten_missing"));
    expect(written).toEqual([]);
    expect(
      (
        await ctx.admin.post(`/v1/tenants/${tenant.id}/billing/corrections`, {
          reverses: 1,
          reason: "not ours",
        })
      ).status,
    ).toBe(404);
  });
});
