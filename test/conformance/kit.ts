import { and, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Priority } from "../../schemas/ticket.js";
import { externalLinks, ledgerEntries } from "../../src/db/schema/index.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

/** What the kit needs to drive one connector's simulator; each connector's conformance test supplies it. */
export interface ConformanceAdapter {
  type: "servicenow" | "jsm" | "zendesk";
  /** A fresh simulator (Hono app) and handles on its state. */
  createSimulator(): SimulatorHandle;
}

export interface SimulatorHandle {
  app: Pick<Hono, "fetch">;
  /** Connection settings pointing at the simulator's base URL, with this webhook secret. */
  settings(baseUrl: string, webhookSecret: string): Record<string, unknown>;
  /** Where the simulator sends webhooks (the connection's webhookUrl), once known. */
  setWebhookTarget(url: string, secret: string): void;
  setBaseUrl?(url: string): void;
  /** A human opens a record at the vendor; returns its external id. */
  agentCreate(input: { title: string; priority: Priority; comment?: string }): string;
  agentComment(externalId: string, body: string): void;
  /** The record as the vendor holds it, normalised for assertions. */
  read(externalId: string): { title: string; comments: { body: string; public: boolean }[] } | undefined;
  /** External id of the record carrying our canonical id. */
  findByCanonicalId(canonicalId: string): string | undefined;
  /** Makes the next `times` API calls fail with this status (429 carries Retry-After: 1). */
  failNext(status: 500 | 503 | 429, times: number): void;
  /** Makes the next writes fail permanently (a 4xx the connector must not retry). */
  rejectNextWrites(times: number): void;
  /** A webhook request the vendor would send for the record, and one tampered with. */
  webhook(externalId: string): { headers: Record<string, string>; body: string };
  settled(): Promise<void>;
}

const webhookSecret = "conformance-webhook-secret-0123456789";

/**
 * The shared conformance suite: every servicedesk connector passes it, in-process through msw and over real
 * HTTP against its simulator, driven through the gateway's own sync engine.
 */
export function describeConformance(adapter: ConformanceAdapter) {
  for (const transport of ["msw", "http"] as const) {
    describe(`${adapter.type} conformance (${transport})`, () => {
      let ctx: SyncTestContext;
      let sim: SimulatorHandle;
      let simServer: Listening | null = null;
      let mswServer: ReturnType<typeof setupServer> | null = null;
      let tenant: Awaited<ReturnType<typeof createTenant>>;
      let connectionId: string;
      let baseUrl: string;

      beforeAll(async () => {
        ctx = await createSyncTestApp();
        sim = adapter.createSimulator();
        if (transport === "http") {
          simServer = await listen(sim.app);
          baseUrl = simServer.url;
        } else {
          // msw hands every request for the fake host to the simulator in-process; anything else is an error.
          baseUrl = `https://${adapter.type}.conformance.test`;
          mswServer = setupServer(
            http.all(`${baseUrl}/*`, async ({ request }) => {
              const response = await sim.app.fetch(request);
              return new HttpResponse(response.body, { status: response.status, headers: response.headers });
            }),
          );
          mswServer.listen({ onUnhandledRequest: "bypass" });
        }
        sim.setBaseUrl?.(baseUrl);
        tenant = await createTenant(ctx);
        const res = await ctx.admin.post("/v1/connections", {
          type: adapter.type,
          name: `${adapter.type} conformance`,
          role: "servicedesk",
          tenantId: tenant.id,
          settings: sim.settings(baseUrl, webhookSecret),
        });
        if (res.status !== 201) throw new Error(`connection: ${res.status} ${res.text}`);
        connectionId = res.body.id;
        sim.setWebhookTarget(res.body.webhookUrl, webhookSecret);
      });
      afterAll(async () => {
        mswServer?.close();
        await simServer?.close();
        await ctx?.close();
      });

      const drain = () => ctx.drain({ settle: () => sim.settled(), timeoutMs: 30_000 });
      const linkOf = async (ticketId: string) =>
        (
          await ctx.database.db
            .select()
            .from(externalLinks)
            .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.ticketId, ticketId)))
        )[0];
      const kinds = async (ticketId: string) =>
        (await ctx.database.db.select().from(ledgerEntries).where(eq(ledgerEntries.ticketId, ticketId))).map(
          (e) => e.kind,
        );

      it("round-trips create, update and comments with their visibility", async () => {
        const ticket = (
          await ctx.admin.post("/v1/tickets", {
            tenantId: tenant.id,
            title: "Conformance ticket",
            priority: "P2",
          })
        ).body;
        await drain();
        const externalId = sim.findByCanonicalId(ticket.id);
        expect(externalId, "created at the vendor with our id").toBeDefined();
        await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { title: "Conformance ticket, renamed" });
        await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
          body: "Public from provider",
          visibility: "public",
        });
        await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
          body: "Provider-only note",
          visibility: "internal",
        });
        await drain();
        const record = sim.read(externalId!)!;
        expect(record.title).toBe("Conformance ticket, renamed");
        expect(record.comments.map((c) => c.body)).toContain("Public from provider");
        expect(record.comments.every((c) => !c.body.includes("Provider-only note"))).toBe(true);
        expect(record.comments.find((c) => c.body.includes("Public from provider"))?.public).toBe(true);

        const inbound = sim.agentCreate({
          title: "Opened at the vendor",
          priority: "P1",
          comment: "First words",
        });
        await drain();
        const link = (
          await ctx.database.db
            .select()
            .from(externalLinks)
            .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.externalId, inbound)))
        )[0];
        expect(link, "imported").toBeDefined();
        const imported = await tenant.client.get(`/v1/tickets/${link!.ticketId}`);
        expect(imported.body).toMatchObject({ title: "Opened at the vendor", priority: "P1" });
        sim.agentComment(inbound, "Customer follow-up");
        await drain();
        const comments = await tenant.client.get(`/v1/tickets/${link!.ticketId}/comments`);
        expect(comments.body.items.map((c: { body: string }) => c.body)).toEqual(
          expect.arrayContaining(["Customer follow-up"]),
        );
      });

      it("suppresses echoes: its own writes coming back change nothing", async () => {
        const ticket = (
          await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Echo", priority: "P3" })
        ).body;
        await drain();
        const externalId = sim.findByCanonicalId(ticket.id)!;
        const before = (await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.version;
        // Deliver the vendor's notice for our own write, as a vendor that notifies every change would.
        const hook = sim.webhook(externalId);
        const res = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
          method: "POST",
          headers: hook.headers,
          body: hook.body,
        });
        expect(res.status).toBe(202);
        await drain();
        expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.version).toBe(before);
        expect(await kinds(ticket.id)).toContain("sync.echo_suppressed");
      });

      it("creates idempotently: a retried create links the record instead of making a second one", async () => {
        const ticket = (
          await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Idempotent", priority: "P3" })
        ).body;
        await drain();
        const first = sim.findByCanonicalId(ticket.id)!;
        await ctx.database.db
          .delete(externalLinks)
          .where(and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.ticketId, ticket.id)));
        await ctx.admin.post(`/v1/connections/${connectionId}/backfill`);
        await drain();
        expect((await linkOf(ticket.id))?.externalId).toBe(first);
      });

      it("retries transient failures and dead-letters permanent ones", async () => {
        const ticket = (
          await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Retry", priority: "P3" })
        ).body;
        await drain();
        const externalId = sim.findByCanonicalId(ticket.id)!;
        sim.failNext(503, 2);
        sim.failNext(429, 1);
        await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
          body: "After the storm",
          visibility: "public",
        });
        await drain();
        expect(sim.read(externalId)!.comments.filter((c) => c.body.includes("After the storm"))).toHaveLength(
          1,
        );
        expect(await kinds(ticket.id)).toContain("sync.retry_scheduled");

        sim.rejectNextWrites(1);
        await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { title: "Rejected rename" });
        await drain();
        const dead = await ctx.admin.get(`/v1/dead-letters?ticketId=${ticket.id}`);
        expect(dead.body.items).toHaveLength(1);
        await ctx.admin.post(`/v1/dead-letters/${dead.body.items[0].id}/replay`);
        await drain();
        expect(sim.read(externalId)!.title).toBe("Rejected rename");
      });

      it("rejects webhooks that fail verification", async () => {
        const ticket = (
          await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title: "Webhook", priority: "P3" })
        ).body;
        await drain();
        const hook = sim.webhook(sim.findByCanonicalId(ticket.id)!);
        const tampered = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
          method: "POST",
          headers: hook.headers,
          body: `${hook.body} `,
        });
        const noAuth = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: hook.body,
        });
        expect(noAuth.status).toBe(401);
        // Shared-secret vendors cannot detect a changed body; signing vendors must.
        expect([202, 401]).toContain(tampered.status);
      });
    });
  }
}
