import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { externalLinks, jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { jobContext } from "../../src/runtime.js";
import { servicedeskClientFor } from "../../src/sync/clients.js";
import { loadConnection } from "../../src/sync/connections.js";
import { applyServicedeskRecord, linkStampOf } from "../../src/sync/inbound.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

const webhookSecret = "servicenow-webhook-secret-0123456789";
let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
const simOptions: Parameters<typeof createServiceNowSimulator>[0] = {};
let tenant: Awaited<ReturnType<typeof createTenant>>;
let connectionId: string;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sim = createServiceNowSimulator(simOptions);
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  tenant = await createTenant(ctx, { plan: "ombori-enterprise" });
  const res = await ctx.admin.post("/v1/connections", {
    type: "servicenow",
    name: "Acme ServiceNow",
    role: "servicedesk",
    tenantId: tenant.id,
    settings: {
      baseUrl: simServer.url,
      auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
      webhookSecret,
    },
  });
  expect(res.status, res.text).toBe(201);
  connectionId = res.body.id;
  expect(res.body.webhookUrl).toBe(`${ctx.gatewayUrl}/webhooks/${connectionId}`);
  expect(res.text).not.toContain(sim.integrationUser.password);
  expect(res.text).not.toContain(webhookSecret);
  simOptions.webhook = { url: res.body.webhookUrl, secret: webhookSecret };
});
afterAll(async () => {
  await simServer?.close();
  await ctx?.close();
});

const settle = () => sim.settled();
const incidentOf = (ticketId: string) =>
  [...sim.state.incidents.values()].find((row) => row["correlation_id"] === ticketId);
const journalOf = (sysId: string) => sim.state.journal.filter((entry) => entry["element_id"] === sysId);
async function linkOf(ticketId: string) {
  const [link] = await ctx.database.db
    .select()
    .from(externalLinks)
    .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.ticketId, ticketId)));
  return link;
}
async function ledgerKinds(ticketId: string, prefix = "sync.") {
  const rows = await ctx.database.db.select().from(ledgerEntries).where(eq(ledgerEntries.ticketId, ticketId));
  return rows.filter((r) => r.kind.startsWith(prefix)).map((r) => r.kind);
}

describe("ServiceNow, end to end through the simulator over real HTTP", () => {
  it("brings an incident opened in ServiceNow in as a canonical ticket with its priority, and writes our id back", async () => {
    const incident = sim.simulateAgentInsert({
      short_description: "Branch office VPN down",
      description: "Users at the Malmö office cannot reach the ERP.",
      impact: "1",
      urgency: "2",
      comments: "Started at 09:12 after the power cut.",
    });
    await ctx.drain({ settle });
    const [link] = await ctx.database.db
      .select()
      .from(externalLinks)
      .where(
        and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.externalId, incident["sys_id"]!)),
      );
    expect(link, "linked").toBeDefined();
    const ticket = await tenant.client.get(`/v1/tickets/${link!.ticketId}`);
    expect(ticket.body).toMatchObject({
      title: "Branch office VPN down",
      priority: "P2",
      status: "new",
      tenantId: tenant.id,
    });
    const comments = await tenant.client.get(`/v1/tickets/${link!.ticketId}/comments`);
    expect(comments.body.items).toMatchObject([
      { body: "Started at 09:12 after the power cut.", visibility: "public", side: "client" },
    ]);
    expect(sim.state.incidents.get(incident["sys_id"]!)!["correlation_id"]).toBe(link!.ticketId);
    expect(await ledgerKinds(link!.ticketId)).toEqual(
      expect.arrayContaining(["sync.linked", "sync.applied", "sync.sent"]),
    );
  });

  it("sends a provider ticket, its public comment and status change to ServiceNow, never an internal note", async () => {
    const ticket = (
      await ctx.admin.post("/v1/tickets", {
        tenantId: tenant.id,
        title: "Core switch flapping",
        priority: "P1",
      })
    ).body;
    await ctx.drain({ settle });
    const incident = incidentOf(ticket.id);
    expect(incident, "created in ServiceNow").toBeDefined();
    expect(incident).toMatchObject({
      short_description: "Core switch flapping",
      impact: "1",
      urgency: "1",
      state: "1",
    });

    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Engineer dispatched.",
      visibility: "public",
    });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Carrier ref 4471, internal.",
      visibility: "internal",
    });
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "in_progress" });
    await ctx.drain({ settle });
    const after = sim.state.incidents.get(incident!["sys_id"]!)!;
    expect(after["state"]).toBe("2");
    const journal = journalOf(incident!["sys_id"]!);
    expect(journal.map((j) => [j["element"], j["value"]])).toEqual([["comments", "Engineer dispatched."]]);
    expect(JSON.stringify(sim.state.journal)).not.toContain("internal.");
  });

  it("suppresses the echo of its own writes but applies a human edit that lands in between", async () => {
    simOptions.webhook = { ...simOptions.webhook!, includeIntegrationUser: true };
    try {
      const ticket = (
        await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Echo test", priority: "P3" })
      ).body;
      await ctx.drain({ settle });
      await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
        body: "First update",
        visibility: "public",
      });
      await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { priority: "P2" });
      await ctx.drain({ settle });
      const versionAfterOwnWrites = (await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.version;
      const kinds = await ledgerKinds(ticket.id);
      expect(kinds).toContain("sync.echo_suppressed");
      expect(kinds).not.toContain("sync.applied");
      const comments = await ctx.admin.get(`/v1/tickets/${ticket.id}/comments`);
      expect(comments.body.items).toHaveLength(1);

      const sysId = incidentOf(ticket.id)!["sys_id"]!;
      sim.simulateAgentUpdate(sysId, {
        short_description: "Echo test (customer edited)",
        comments: "Any ETA?",
      });
      await ctx.drain({ settle });
      const edited = await ctx.admin.get(`/v1/tickets/${ticket.id}`);
      expect(edited.body.title).toBe("Echo test (customer edited)");
      expect(edited.body.version).toBeGreaterThan(versionAfterOwnWrites);
      const after = await ctx.admin.get(`/v1/tickets/${ticket.id}/comments`);
      expect(after.body.items.map((c: { body: string }) => c.body)).toEqual(["First update", "Any ETA?"]);
      // No ping-pong: the applied edit is not written back.
      const requestsBefore = sim.requests.length;
      await ctx.drain({ settle });
      expect(sim.requests.filter((r) => r.method !== "GET").length).toBe(
        sim.requests.slice(0, requestsBefore).filter((r) => r.method !== "GET").length,
      );
    } finally {
      simOptions.webhook = { ...simOptions.webhook!, includeIntegrationUser: false };
    }
  });

  it("reads a record again when a delivery of ours committed while it was read, instead of undoing that delivery", async () => {
    const ticket = (
      await ctx.admin.post("/v1/tickets", {
        tenantId: tenant.id,
        title: "Read during a delivery",
        priority: "P3",
      })
    ).body;
    await ctx.drain({ settle });
    const sysId = incidentOf(ticket.id)!["sys_id"]!;
    const jobCtx = jobContext(ctx.deps, "reread-test", ctx.deps.fetch ? { fetch: ctx.deps.fetch } : {});
    const loaded = (await loadConnection(ctx.database.db, jobCtx.engine, connectionId))!;
    // An inbound read that starts before our priority change reaches ServiceNow ...
    const before = await linkStampOf(ctx.database.db, connectionId, sysId);
    const staleRead = await servicedeskClientFor(jobCtx.engine, loaded).getTicket(sysId);
    // ... and is applied after that delivery committed (its link moved on).
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { priority: "P2" });
    await ctx.drain({ settle });
    const apply = (stamp: string | null) =>
      ctx.database.db.transaction((tx) =>
        applyServicedeskRecord(tx, jobCtx, loaded, staleRead, "webhook", true, null, null, null, stamp),
      );
    expect(await apply(before)).toBe("reread");
    expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.priority).toBe("P2");
    expect(await ledgerKinds(ticket.id)).toContain("sync.reread");
    expect(await ledgerKinds(ticket.id)).not.toContain("sync.applied");
    // Without the guard the stale read would have taken P3 for the vendor's change and undone ours.
    const current = await linkStampOf(ctx.database.db, connectionId, sysId);
    await apply(current);
    expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.priority).toBe("P3");
  });

  it("delivers every change exactly once after 500s, then 429s, then a timeout", async () => {
    const ticket = (
      await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Flaky instance", priority: "P3" })
    ).body;
    await ctx.drain({ settle });
    const sysId = incidentOf(ticket.id)!["sys_id"]!;
    sim.faults.push({ kind: "status", status: 500, times: 3 });
    sim.faults.push({ kind: "status", status: 429, retryAfterSeconds: 1, times: 2 });
    sim.faults.push({ kind: "timeout", delayMs: 2500, times: 1 });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Update during the outage",
      visibility: "public",
    });
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "on_hold", priority: "P1" });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Second update",
      visibility: "public",
    });
    await ctx.drain({ settle, timeoutMs: 30_000 });
    expect(sim.faults).toHaveLength(0);
    const journal = journalOf(sysId).map((j) => j["value"]);
    expect(journal).toEqual(["Update during the outage", "Second update"]);
    expect(sim.state.incidents.get(sysId)).toMatchObject({ state: "3", impact: "1", urgency: "1" });
    const kinds = await ledgerKinds(ticket.id);
    expect(kinds.filter((k) => k === "sync.failed").length).toBeGreaterThanOrEqual(3);
    expect(kinds).toContain("sync.retry_scheduled");
    expect(kinds).not.toContain("sync.dead_lettered");
  }, 60_000);

  it("dead-letters a permanent failure, holds the later jobs of that ticket, and replays them in order", async () => {
    const ticket = (
      await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Blocked link", priority: "P3" })
    ).body;
    await ctx.drain({ settle });
    const sysId = incidentOf(ticket.id)!["sys_id"]!;
    // A data policy rejects resolving without a close code: a 4xx, not worth retrying.
    await ctx.admin
      .patch(`/v1/connections/${connectionId}`, { settings: { resolutionCode: "" } })
      .then((r) => {
        expect(r.status).toBe(400);
      });
    sim.state.incidents.get(sysId)!["sys_class_name"] = "incident";
    const originalDelete = sim.state.incidents.get(sysId)!;
    sim.state.incidents.delete(sysId); // the record vanished at the vendor: PATCH answers 404
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { title: "Blocked link, renamed" });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Queued behind the failure",
      visibility: "public",
    });
    await ctx.drain({ settle });
    const dead = await ctx.admin.get(`/v1/dead-letters?ticketId=${ticket.id}`);
    expect(dead.body.items).toHaveLength(1);
    expect(dead.body.items[0]).toMatchObject({ kind: "ticket.update", connectionId });
    const waiting = await ctx.database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.orderKey, ticket.id), eq(jobs.kind, "comment.add")));
    expect(waiting[0]!.status).toBe("pending");
    expect(waiting[0]!.attempts).toBe(0);
    expect(await tenant.client.post(`/v1/dead-letters/${dead.body.items[0].id}/replay`)).toMatchObject({
      status: 403,
    });

    sim.state.incidents.set(sysId, originalDelete);
    const replay = await ctx.admin.post(`/v1/dead-letters/${dead.body.items[0].id}/replay`);
    expect(replay.status, replay.text).toBe(200);
    await ctx.drain({ settle });
    expect(sim.state.incidents.get(sysId)!["short_description"]).toBe("Blocked link, renamed");
    expect(journalOf(sysId).map((j) => j["value"])).toEqual(["Queued behind the failure"]);
    expect(await ledgerKinds(ticket.id)).toEqual(
      expect.arrayContaining(["sync.dead_lettered", "sync.replayed"]),
    );
    expect((await ctx.admin.get(`/v1/dead-letters?ticketId=${ticket.id}`)).body.items).toHaveLength(0);
  });

  it("catches a missed webhook with the reconciliation poller", async () => {
    const ticket = (
      await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Poll me", priority: "P3" })
    ).body;
    await ctx.drain({ settle });
    const sysId = incidentOf(ticket.id)!["sys_id"]!;
    sim.faults.push({ kind: "drop-webhooks", times: 1 });
    sim.simulateAgentUpdate(sysId, { comments: "Did anyone see this?" });
    await ctx.drain({ settle });
    expect((await ctx.admin.get(`/v1/tickets/${ticket.id}/comments`)).body.items).toHaveLength(0);
    expect(sim.webhooks.dropped).toHaveLength(1);
    await ctx.poll();
    await ctx.drain({ settle });
    const comments = await ctx.admin.get(`/v1/tickets/${ticket.id}/comments`);
    expect(comments.body.items.map((c: { body: string }) => c.body)).toEqual(["Did anyone see this?"]);
    expect((await linkOf(ticket.id))?.externalId).toBe(sysId);
  });

  it("rejects webhooks with a wrong secret (401), records it without the body, and dedupes repeats", async () => {
    const body = JSON.stringify({ sys_id: "0".repeat(32) });
    const bad = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
      method: "POST",
      headers: { authorization: "Bearer wrong-secret-wrong-secret", "content-type": "application/json" },
      body,
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    const rejected = await ctx.admin.get(`/v1/ledger?kind=sync.rejected`);
    expect(rejected.body.items.length).toBeGreaterThan(0);
    expect(JSON.stringify(rejected.body)).not.toContain("0".repeat(32));
    for (let i = 0; i < 12; i++) {
      await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
        method: "POST",
        headers: { authorization: "Bearer nope" },
        body,
      });
    }
    const flood = await ctx.admin.get(`/v1/ledger?kind=sync.rejected&limit=200`);
    // Only the first 5 of a minute are ledgered. The 13 rejections may straddle a minute boundary (a run of
    // CI did), so: none recorded past its minute's fifth, and at most two minutes' worth.
    const counts = flood.body.items.map(
      (e: { detail: { countThisMinute: number } }) => e.detail.countThisMinute,
    );
    expect(
      counts.every((n: number) => n >= 1 && n <= 5),
      JSON.stringify(counts),
    ).toBe(true);
    expect(flood.body.items.length).toBeLessThanOrEqual(10);

    const payload = JSON.stringify({ sys_id: "a".repeat(32), sys_updated_on: "2026-11-22 10:00:00" });
    const headers = { authorization: `Bearer ${webhookSecret}`, "content-type": "application/json" };
    const first = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
      method: "POST",
      headers,
      body: payload,
    });
    const again = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
      method: "POST",
      headers,
      body: payload,
    });
    expect(first.status).toBe(202);
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const unknown = await fetch(`${ctx.gatewayUrl}/webhooks/con_nope`, {
      method: "POST",
      headers,
      body: payload,
    });
    expect(unknown.status).toBe(404);
    await ctx.drain({ settle });
  });

  it("imports only records within the connection's inboundQuery, from webhooks and polls alike", async () => {
    const group = "a".repeat(32);
    const patched = await ctx.admin.patch(`/v1/connections/${connectionId}`, {
      settings: { inboundQuery: `assignment_group=${group}` },
    });
    expect(patched.status, patched.text).toBe(200);
    try {
      const ours = sim.simulateAgentInsert({
        short_description: "For the provider's group",
        assignment_group: group,
      });
      const theirs = sim.simulateAgentInsert({ short_description: "For the client's own team" });
      await ctx.drain({ settle });
      const linked = async (sysId: string) =>
        (await ctx.database.db.select().from(externalLinks).where(eq(externalLinks.externalId, sysId)))
          .length;
      expect(await linked(ours["sys_id"]!)).toBe(1);
      expect(await linked(theirs["sys_id"]!)).toBe(0);
      const skipped = await ctx.admin.get("/v1/ledger?kind=sync.out_of_scope");
      expect(skipped.body.items.map((e: { externalId: string }) => e.externalId)).toContain(theirs["sys_id"]);
    } finally {
      await ctx.admin.patch(`/v1/connections/${connectionId}`, { settings: { inboundQuery: null } });
    }
  });
});

describe("ServiceNow text PostgreSQL cannot store", () => {
  it("stores vendor text PostgreSQL cannot hold by removing NUL and replacing lone surrogates, and ledgers it", async () => {
    const incident = sim.simulateAgentInsert({
      short_description: "VPN\u0000 down \ud800",
      description: "clean",
      impact: "2",
      urgency: "2",
    });
    await ctx.drain({ settle });
    const listed = await tenant.client.get("/v1/tickets?limit=200");
    const titles = (listed.body.items as { title: string }[]).map((t) => t.title);
    expect(titles).toContain("VPN down \ufffd");
    const repaired = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(
        and(eq(ledgerEntries.kind, "sync.text_repaired"), eq(ledgerEntries.externalId, incident["sys_id"]!)),
      );
    expect(repaired).toHaveLength(1);
    expect(repaired[0]!.detail).toMatchObject({ fields: ["title"], nulRemoved: 1, surrogatesReplaced: 1 });
  });
});
