import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conformance as jsmConformanceAdapter } from "../../connectors/jsm/test/conformance.js";
import { conformance as serviceNowAdapter } from "../../connectors/servicenow/test/conformance.js";
import {
  createZendeskSimulator,
  simulatorUsers,
  type ZendeskSimulator,
} from "../../connectors/zendesk/simulator.js";
import { externalLinks, ledgerEntries } from "../../src/db/schema/index.js";
import type { SimulatorHandle } from "../conformance/kit.js";
import { createTenant } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

const secret = "three-desks-webhook-secret-000000";
let ctx: SyncTestContext;
let sn: SimulatorHandle;
let jsm: SimulatorHandle;
let zd: ZendeskSimulator;
const zdOptions: Parameters<typeof createZendeskSimulator>[0] = {};
const servers: Listening[] = [];
const tenants: Record<"a" | "b" | "c", Awaited<ReturnType<typeof createTenant>>> = {} as never;
const connections: Record<"a" | "b" | "c", string> = {} as never;

const settle = async () => {
  await Promise.all([sn.settled(), jsm.settled(), zd.settled()]);
};

beforeAll(async () => {
  ctx = await createSyncTestApp();
  sn = serviceNowAdapter.createSimulator();
  jsm = jsmConformanceAdapter.createSimulator();
  zd = createZendeskSimulator(zdOptions);
  const [snServer, jsmServer, zdServer] = await Promise.all([
    listen(sn.app),
    listen(jsm.app),
    listen(zd.app),
  ]);
  servers.push(snServer!, jsmServer!, zdServer!);
  sn.setBaseUrl?.(snServer!.url);
  jsm.setBaseUrl?.(jsmServer!.url);
  zd.setAccountUrl(zdServer!.url);
  tenants.a = await createTenant(ctx, { name: "Tenant A (ServiceNow)" });
  tenants.b = await createTenant(ctx, { name: "Tenant B (Zendesk)" });
  tenants.c = await createTenant(ctx, { name: "Tenant C (JSM)" });
  const connect = async (key: "a" | "b" | "c", type: string, settings: Record<string, unknown>) => {
    const res = await tenants[key].client.post("/v1/connections", {
      type,
      name: `${type} of ${key}`,
      role: "servicedesk",
      settings,
    });
    expect(res.status, res.text).toBe(201);
    connections[key] = res.body.id;
    return res.body.webhookUrl as string;
  };
  sn.setWebhookTarget(await connect("a", "servicenow", sn.settings(snServer!.url, secret)), secret);
  const zdHook = await connect("b", "zendesk", {
    baseUrl: zdServer!.url,
    auth: { type: "basic", username: `${simulatorUsers.integration.email}/token`, password: zd.apiToken },
    integrationUserId: simulatorUsers.integration.id,
    webhookSecret: secret,
  });
  zdOptions.webhook = { url: zdHook, secret, kind: "trigger" };
  jsm.setWebhookTarget(await connect("c", "jsm", jsm.settings(jsmServer!.url, secret)), secret);
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await ctx?.close();
});

const drain = () => ctx.drain({ settle, timeoutMs: 30_000 });
const zdTicketFor = (canonicalId: string) =>
  [...zd.state.tickets.values()].filter((t) => t.external_id === canonicalId).sort((x, y) => x.id - y.id);

describe("three tenants, three servicedesks, at once", () => {
  it("sends each tenant's tickets and comments to its own servicedesk only, with their visibility", async () => {
    const made: Record<string, string> = {};
    for (const key of ["a", "b", "c"] as const) {
      const ticket = (
        await tenants[key].client.post("/v1/tickets", { title: `Ticket of ${key}`, priority: "P2" })
      ).body;
      made[key] = ticket.id;
      await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
        body: `Public reply to ${key}`,
        visibility: "public",
      });
      await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
        body: `Internal note on ${key}`,
        visibility: "internal",
      });
    }
    await drain();
    const snId = sn.findByCanonicalId(made["a"]!);
    const jsmId = jsm.findByCanonicalId(made["c"]!);
    expect(snId).toBeDefined();
    expect(jsmId).toBeDefined();
    expect(zdTicketFor(made["b"]!)).toHaveLength(1);
    // Nothing crosses: each simulator holds only its tenant's ticket.
    expect(sn.findByCanonicalId(made["b"]!)).toBeUndefined();
    expect(sn.findByCanonicalId(made["c"]!)).toBeUndefined();
    expect(jsm.findByCanonicalId(made["a"]!)).toBeUndefined();
    expect(zdTicketFor(made["a"]!)).toHaveLength(0);
    expect(zdTicketFor(made["c"]!)).toHaveLength(0);
    expect(sn.read(snId!)!.comments).toEqual([{ body: "Public reply to a", public: true }]);
    expect(jsm.read(jsmId!)!.comments.map((c) => [c.body, c.public])).toEqual([["Public reply to c", true]]);
    const zdComments = zd.state.comments.filter((c) => c.ticket_id === zdTicketFor(made["b"]!)[0]!.id);
    expect(zdComments.some((c) => c.body.includes("Public reply to b") && c.public)).toBe(true);
    expect(zdComments.some((c) => c.body.includes("Internal note"))).toBe(false);
  });

  it("brings records opened at each vendor into the right tenant, and no tenant sees another's", async () => {
    const snRecord = sn.agentCreate({
      title: "Opened in A's ServiceNow",
      priority: "P1",
      comment: "A speaks",
    });
    const jsmRecord = jsm.agentCreate({ title: "Opened in C's JSM", priority: "P3", comment: "C speaks" });
    const zdRecord = zd.simulateAgentCreate({
      subject: "Opened in B's Zendesk",
      priority: "urgent",
      comment: { body: "B speaks", public: true },
    });
    await drain();
    const ticketFor = async (key: "a" | "b" | "c", externalId: string) => {
      const [link] = await ctx.database.db
        .select()
        .from(externalLinks)
        .where(
          and(eq(externalLinks.connectionId, connections[key]), eq(externalLinks.externalId, externalId)),
        );
      expect(link, `${key} ${externalId}`).toBeDefined();
      return link!.ticketId;
    };
    const a = await ticketFor("a", snRecord);
    const b = await ticketFor("b", String(zdRecord.id));
    const c = await ticketFor("c", jsmRecord);
    expect((await tenants.a.client.get(`/v1/tickets/${a}`)).body).toMatchObject({
      tenantId: tenants.a.id,
      priority: "P1",
    });
    expect((await tenants.b.client.get(`/v1/tickets/${b}`)).body).toMatchObject({
      tenantId: tenants.b.id,
      priority: "P1",
    });
    expect((await tenants.c.client.get(`/v1/tickets/${c}`)).body).toMatchObject({
      tenantId: tenants.c.id,
      priority: "P3",
    });
    for (const [key, others] of [
      ["a", [b, c]],
      ["b", [a, c]],
      ["c", [a, b]],
    ] as const) {
      for (const other of others)
        expect((await tenants[key].client.get(`/v1/tickets/${other}`)).status).toBe(404);
      const listed = (await tenants[key].client.get("/v1/tickets?limit=200")).body.items.map(
        (t: { id: string }) => t.id,
      );
      for (const other of others) expect(listed).not.toContain(other);
    }
    const cComments = (await tenants.c.client.get(`/v1/tickets/${c}/comments`)).body.items;
    expect(cComments.map((x: { body: string }) => x.body)).toEqual(expect.arrayContaining(["C speaks"]));
  });

  it("opens a linked Zendesk follow-up when a ticket is reopened after its Zendesk twin closed", async () => {
    const ticket = (
      await tenants.b.client.post("/v1/tickets", { title: "Printer queue stuck", priority: "P3" })
    ).body;
    await drain();
    const [twin] = zdTicketFor(ticket.id);
    expect(twin).toBeDefined();
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "resolved" });
    await drain();
    expect(zd.state.tickets.get(twin!.id)!.status).toBe("solved");
    // Zendesk closes solved tickets on its own schedule; closed tickets can no longer be updated.
    zd.simulateAgentUpdate(twin!.id, { status: "closed" });
    await drain();
    const reopened = await tenants.b.client.patch(`/v1/tickets/${ticket.id}`, { status: "in_progress" });
    expect(reopened.status, reopened.text).toBe(200);
    await drain();
    const twins = zdTicketFor(ticket.id);
    expect(twins).toHaveLength(2);
    const followUp = twins[1]!;
    expect(followUp.followup_source_id).toBe(twin!.id);
    expect(followUp.status).not.toBe("closed");
    const [link] = await ctx.database.db
      .select()
      .from(externalLinks)
      .where(and(eq(externalLinks.connectionId, connections.b), eq(externalLinks.ticketId, ticket.id)));
    expect(link!.externalId).toBe(String(followUp.id));
    const relinked = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.ticketId, ticket.id), eq(ledgerEntries.kind, "sync.relinked")));
    expect(relinked).toHaveLength(1);
    // Later comments go to the follow-up.
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Looking again",
      visibility: "public",
    });
    await drain();
    expect(
      zd.state.comments.some((c) => c.ticket_id === followUp.id && c.body.includes("Looking again")),
    ).toBe(true);
  });
});
