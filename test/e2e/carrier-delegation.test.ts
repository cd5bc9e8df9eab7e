import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMefSonataSimulator, type MefSonataSimulator } from "../../connectors/mef-sonata/simulator.js";
import { simulatorContract } from "../../connectors/mef-sonata/test/contract.js";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { createTmf621Simulator, type Tmf621Simulator } from "../../connectors/tmf621/simulator.js";
import { tmf621Contracts } from "../../connectors/tmf621/test/contract.js";
import { externalLinks, ledgerEntries } from "../../src/db/schema/index.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

const snSecret = "servicenow-webhook-secret-for-carriers";
let ctx: SyncTestContext;
let sn: ServiceNowSimulator;
let tmf: Tmf621Simulator;
let mef: MefSonataSimulator;
const servers: Listening[] = [];
const snOptions: Parameters<typeof createServiceNowSimulator>[0] = {};
let tenant: Awaited<ReturnType<typeof createTenant>>;
let tmfConnection: { id: string; webhookUrl: string };
let mefConnection: { id: string; webhookUrl: string };

const settleAll = async () => {
  await Promise.all([sn.settled(), tmf.settled(), mef.settled()]);
};

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sn = createServiceNowSimulator(snOptions);
  tmf = createTmf621Simulator({ contract: tmf621Contracts() });
  mef = createMefSonataSimulator({ contract: simulatorContract });
  const [snServer, tmfServer, mefServer] = await Promise.all([
    listen(sn.app),
    listen(tmf.app),
    listen(mef.app),
  ]);
  servers.push(snServer!, tmfServer!, mefServer!);
  sn.setInstanceUrl(snServer!.url);
  tmf.setOrigin(tmfServer!.url);
  mef.setServerUrl(mefServer!.url);
  tenant = await createTenant(ctx, { name: "Acme", plan: "roi-protection-plan-advantage" });
  const snRes = await ctx.admin.post("/v1/connections", {
    type: "servicenow",
    name: "Acme ServiceNow",
    role: "servicedesk",
    tenantId: tenant.id,
    settings: {
      baseUrl: snServer!.url,
      auth: { type: "basic", username: sn.integrationUser.username, password: sn.integrationUser.password },
      webhookSecret: snSecret,
    },
  });
  expect(snRes.status, snRes.text).toBe(201);
  snOptions.webhook = { url: snRes.body.webhookUrl, secret: snSecret };
  const olaCalendar = {
    timezone: "UTC",
    hours: Object.fromEntries(
      ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, [["00:00", "24:00"]]]),
    ),
  };
  const tmfRes = await ctx.admin.post("/v1/connections", {
    type: "tmf621",
    name: "Carrier One (TMF621 v5)",
    role: "carrier",
    carrier: {
      ola: {
        calendar: olaCalendar,
        targets: {
          P1: { acknowledgeMinutes: 15, restoreMinutes: 240 },
          P2: { acknowledgeMinutes: 30, restoreMinutes: 480 },
        },
      },
    },
    settings: {
      baseUrl: `${tmfServer!.url}/tmf-api/troubleTicket/v5`,
      auth: { type: "bearer", token: "simulator-token" },
      version: "v5",
      webhookSecret: "tmf-carrier-path-secret-000000",
    },
  });
  expect(tmfRes.status, tmfRes.text).toBe(201);
  tmfConnection = tmfRes.body;
  const mefRes = await ctx.admin.post("/v1/connections", {
    type: "mef-sonata",
    name: "Carrier Two (MEF)",
    role: "carrier",
    settings: {
      baseUrl: `${mefServer!.url}/mefApi/sonata/troubleTicket/v4`,
      auth: { type: "bearer", token: "simulator-token" },
      webhookSecret: "mef-carrier-path-secret-000000",
      reporterContact: {
        name: "Provider NOC",
        emailAddress: "noc@provider.example",
        number: "+44 20 7946 0000",
      },
    },
  });
  expect(mefRes.status, mefRes.text).toBe(201);
  mefConnection = mefRes.body;
  await ctx.drain({ settle: settleAll });
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await ctx?.close();
});

async function ticketFromServiceNow(title: string) {
  const incident = sn.simulateAgentInsert({ short_description: title, impact: "1", urgency: "1" });
  await ctx.drain({ settle: settleAll });
  const [link] = await ctx.database.db
    .select()
    .from(externalLinks)
    .where(eq(externalLinks.externalId, incident["sys_id"]!));
  expect(link).toBeDefined();
  return { ticketId: link!.ticketId, sysId: incident["sys_id"]! };
}
const carrierKinds = async (ticketId: string) =>
  (await ctx.database.db.select().from(ledgerEntries).where(eq(ledgerEntries.ticketId, ticketId)))
    .filter((e) => e.kind.startsWith("carrier.") || e.kind.startsWith("delegation."))
    .map((e) => e.kind);
const journalValues = (sysId: string) =>
  sn.state.journal.filter((j) => j["element_id"] === sysId).map((j) => `${j["element"]}:${j["value"]}`);

describe("delegation to carriers, end to end", () => {
  it("registers a hub listener at each carrier when the connection is created", async () => {
    expect([...tmf.hubs.values()].map((h) => h.callback)).toEqual([tmfConnection.webhookUrl]);
    expect(tmfConnection.webhookUrl).toMatch(new RegExp(`/webhooks/${tmfConnection.id}/[A-Za-z0-9_-]{20,}$`));
    expect(mef.hubs.size).toBe(1);
  });

  it("delegates a ServiceNow ticket to a TMF621 v5 carrier that acknowledges, asks for information and resolves", async () => {
    const { ticketId, sysId } = await ticketFromServiceNow("Leased line down at site 7");
    const created = await ctx.admin.post(`/v1/tickets/${ticketId}/delegations`, {
      connectionId: tmfConnection.id,
      reason: "Carrier circuit fault",
      service: { id: "CIR-7781", type: "circuit" },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ state: "requested", carrierTicketId: null, ticketId });
    const delegationId = created.body.id as string;
    await ctx.drain({ settle: settleAll });
    let delegation = (await ctx.admin.get(`/v1/delegations/${delegationId}`)).body;
    expect(delegation.carrierTicketId).toBeTruthy();
    expect((await ctx.admin.get(`/v1/tickets/${ticketId}`)).body.status).toBe("pending_carrier");
    const carrierId = delegation.carrierTicketId as string;

    tmf.carrier.acknowledge(carrierId);
    await ctx.drain({ settle: settleAll });
    delegation = (await ctx.admin.get(`/v1/delegations/${delegationId}`)).body;
    expect(delegation.state).toBe("open");
    expect(delegation.acknowledgedAt).not.toBeNull();

    tmf.carrier.progress(carrierId);
    // The carrier's text carries a NUL and a lone surrogate: stored repaired, the repair ledgered.
    tmf.carrier.requestInformation(
      carrierId,
      "Please confirm the site contact\u0000 and access hours.\ud800",
    );
    await ctx.drain({ settle: settleAll });
    expect((await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state).toBe("pending");
    const internal = (await ctx.admin.get(`/v1/tickets/${ticketId}/comments`)).body.items;
    const asked = internal.find(
      (c: { body: string; visibility: string }) =>
        c.visibility === "internal" && c.body.includes("site contact"),
    );
    expect(asked?.body, JSON.stringify(internal)).toContain("site contact and access hours.\ufffd");
    const repaired = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.kind, "sync.text_repaired"));
    expect(
      repaired.some((e) => e.connectionId === tmfConnection.id && Number(e.detail["nulRemoved"]) >= 1),
    ).toBe(true);
    const tenantView = (await tenant.client.get(`/v1/tickets/${ticketId}/comments`)).body.items;
    expect(tenantView.some((c: { body: string }) => c.body.includes("site contact"))).toBe(false);

    const note = await ctx.admin.post(`/v1/delegations/${delegationId}/notes`, {
      text: "Contact: Ada, 08:00-16:00 weekdays.",
    });
    expect(note.status, note.text).toBe(202);
    await ctx.drain({ settle: settleAll });
    const carrierNotes = (tmf.tickets.get(carrierId)!.ticket["note"] as { text: string }[]).map(
      (n) => n.text,
    );
    expect(carrierNotes).toContain("Contact: Ada, 08:00-16:00 weekdays.");

    tmf.carrier.progress(carrierId);
    tmf.carrier.resolve(carrierId, "Line card replaced at the exchange.");
    await ctx.drain({ settle: settleAll });
    delegation = (await ctx.admin.get(`/v1/delegations/${delegationId}`)).body;
    expect(delegation.state).toBe("resolved");
    // Not resolving the client's ticket automatically: the provider decides.
    expect((await ctx.admin.get(`/v1/tickets/${ticketId}`)).body.status).toBe("pending_carrier");

    const kinds = await carrierKinds(ticketId);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "delegation.requested",
        "carrier.acknowledged",
        "carrier.paused",
        "carrier.resumed",
        "carrier.resolved",
      ]),
    );
    const acknowledged = (
      await ctx.database.db.select().from(ledgerEntries).where(eq(ledgerEntries.kind, "carrier.acknowledged"))
    ).find((e) => e.ticketId === ticketId);
    expect(acknowledged!.detail).toMatchObject({ targetSeconds: 15 * 60, met: true });
    // The client's ServiceNow hears the carrier leg's progress in the provider's words, not the carrier's notes.
    const journal = journalValues(sysId);
    expect(
      journal.some((j) => j.startsWith("comments:Update: the issue was acknowledged by our carrier")),
    ).toBe(true);
    expect(journal.some((j) => j.includes("site contact"))).toBe(false);

    expect((await ctx.admin.post(`/v1/delegations/${delegationId}/close`, {})).status).toBe(202);
    await ctx.drain({ settle: settleAll });
    expect((await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state).toBe("closed");
    expect(tmf.contractViolations).toEqual([]);
  });

  it("lets a tenant read its delegations but not create or steer them", async () => {
    const { ticketId } = await ticketFromServiceNow("Tenant rights check");
    expect(
      (await tenant.client.post(`/v1/tickets/${ticketId}/delegations`, { connectionId: tmfConnection.id }))
        .status,
    ).toBe(403);
    const created = await ctx.admin.post(`/v1/tickets/${ticketId}/delegations`, {
      connectionId: tmfConnection.id,
      pendingCarrier: false,
    });
    const list = await tenant.client.get(`/v1/tickets/${ticketId}/delegations`);
    expect(list.body.items.map((d: { id: string }) => d.id)).toEqual([created.body.id]);
    expect((await tenant.client.post(`/v1/delegations/${created.body.id}/cancel`, {})).status).toBe(403);
    expect((await ctx.admin.post(`/v1/delegations/${created.body.id}/close`, {})).status).toBe(409);
    expect(
      (await ctx.admin.post(`/v1/tickets/${ticketId}/delegations`, { connectionId: "con_nope" })).status,
    ).toBe(400);
    await ctx.drain({ settle: settleAll });
  });

  it("runs the MEF flow including a reopen, and the poller catches a missed notification", async () => {
    const { ticketId } = await ticketFromServiceNow("Voice trunk one-way audio");
    const created = await ctx.admin.post(`/v1/tickets/${ticketId}/delegations`, {
      connectionId: mefConnection.id,
      service: { id: "SIP-TRUNK-22", type: "voice" },
    });
    expect(created.status, created.text).toBe(201);
    await ctx.drain({ settle: settleAll });
    const delegationId = created.body.id as string;
    const carrierId = (await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.carrierTicketId as string;
    expect(carrierId).toBeTruthy();
    mef.seller.acknowledge(carrierId);
    mef.seller.progress(carrierId);
    mef.seller.resolve(carrierId, "Codec mismatch fixed.");
    await ctx.drain({ settle: settleAll });
    expect((await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state).toBe("resolved");

    expect(
      (
        await ctx.admin.post(`/v1/delegations/${delegationId}/reopen`, {
          reason: "Still one-way from site B.",
        })
      ).status,
    ).toBe(202);
    await ctx.drain({ settle: settleAll });
    expect((await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state).toBe("in_progress");

    // The seller resolves again but its notification is lost: the poller re-reads open delegations.
    mef.faults.push({ kind: "drop-notifications", times: 10 });
    mef.seller.progress(carrierId);
    mef.seller.resolve(carrierId, "Second fix: NAT rule corrected.");
    await settleAll();
    await ctx.drain({ settle: settleAll });
    await ctx.poll();
    await ctx.drain({ settle: settleAll });
    expect((await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state).toBe("resolved");
    await ctx.admin.post(`/v1/delegations/${delegationId}/close`, {});
    await ctx.drain({ settle: settleAll });
    expect((await ctx.admin.get(`/v1/delegations/${delegationId}`)).body.state).toBe("closed");
    expect(mef.contractViolations).toEqual([]);
  });

  it("delivers every note and action once through carrier 5xx and 429", async () => {
    const { ticketId } = await ticketFromServiceNow("Flaky carrier");
    tmf.faults.push({ kind: "status", status: 503, times: 2 });
    tmf.faults.push({ kind: "status", status: 429, retryAfterSeconds: 1, times: 1 });
    const created = await ctx.admin.post(`/v1/tickets/${ticketId}/delegations`, {
      connectionId: tmfConnection.id,
    });
    await ctx.admin.post(`/v1/delegations/${created.body.id}/notes`, { text: "Note one" });
    await ctx.admin.post(`/v1/delegations/${created.body.id}/notes`, { text: "Note two" });
    await ctx.drain({ settle: settleAll, timeoutMs: 30_000 });
    const carrierId = (await ctx.admin.get(`/v1/delegations/${created.body.id}`)).body
      .carrierTicketId as string;
    const ticketsForUs = [...tmf.tickets.values()].filter((t) =>
      JSON.stringify(t.ticket).includes(created.body.id),
    );
    expect(ticketsForUs).toHaveLength(1);
    const notes = (tmf.tickets.get(carrierId)!.ticket["note"] as { text: string }[]).map((n) => n.text);
    expect(notes.filter((n) => n === "Note one")).toHaveLength(1);
    expect(notes.filter((n) => n === "Note two")).toHaveLength(1);
  }, 60_000);

  it("reports carriers: acknowledge and resolve times, breaches, waiting", async () => {
    const report = await ctx.admin.get(
      "/v1/reports/carriers?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
    );
    expect(report.status, report.text).toBe(200);
    const one = report.body.carriers.find(
      (c: { connectionId: string }) => c.connectionId === tmfConnection.id,
    );
    expect(one.delegations).toBeGreaterThanOrEqual(3);
    expect(one.acknowledged).toBeGreaterThanOrEqual(1);
    expect(one.medianAcknowledgeBusinessMinutes).not.toBeNull();
    expect(
      (await tenant.client.get("/v1/reports/carriers?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"))
        .status,
    ).toBe(403);
  });
});
