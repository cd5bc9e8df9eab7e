import { and, eq } from "drizzle-orm";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectors } from "../../connectors/index.js";
import type { Connector } from "../../connectors/sdk/index.js";
import type { ConformanceAdapter, SimulatorHandle } from "../../connectors/sdk/testing/conformance.js";
import { externalLinks, jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

export type { ConformanceAdapter, SimulatorHandle } from "../../connectors/sdk/testing/conformance.js";

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
      let webhookUrl: string;
      let baseUrl: string;
      const connector = (connectors as Record<string, unknown>)[adapter.type] as Connector;

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
        webhookUrl = res.body.webhookUrl;
        sim.setWebhookTarget(webhookUrl, webhookSecret);
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
      const linkByExternalId = async (externalId: string) =>
        (
          await ctx.database.db
            .select()
            .from(externalLinks)
            .where(
              and(eq(externalLinks.connectionId, connectionId), eq(externalLinks.externalId, externalId)),
            )
        )[0];
      /** Fails with each dead letter's error, which carries the vendor's answer. */
      const expectNoDeadLetters = async () => {
        const dead = await ctx.database.db
          .select({ kind: jobs.kind, lastError: jobs.lastError })
          .from(jobs)
          .where(and(eq(jobs.connectionId, connectionId), eq(jobs.status, "dead")));
        expect(dead, dead.map((d) => `${d.kind}: ${d.lastError}`).join("\n")).toEqual([]);
      };
      /** The connector's own client on the simulator, to read records back as the engine does. */
      const vendorClient = () => {
        const settings = connector.settingsSchema.parse(sim.settings(baseUrl, webhookSecret));
        return {
          client: connector.createClient(settings, { mapping: connector.mappingContext(settings) }),
          settings,
        };
      };
      const createdTicket = async (title: string) => {
        const ticket = (await ctx.admin.post("/v1/tickets", { tenantId: tenant.id, title, priority: "P3" }))
          .body;
        await drain();
        await expectNoDeadLetters();
        const externalId = sim.findByCanonicalId(ticket.id);
        expect(externalId, `${title}: created at the vendor with our id`).toBeDefined();
        return { ticket, externalId: externalId! };
      };
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
        await expectNoDeadLetters();
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
        await expectNoDeadLetters();
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
        // The dead letter shows why: the vendor's own error body, not just its status.
        expect(dead.body.items[0].lastError).toContain(sim.rejectionText);
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
        if (adapter.webhookAuth === "signature") {
          expect(tampered.status, "a signed body that was changed is refused").toBe(401);
        } else {
          // A shared secret cannot tell a changed body: it is only a notice, and the engine re-reads the record.
          expect(tampered.status).toBe(202);
          const before = (await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.version;
          await drain();
          expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.version).toBe(before);
        }
      });

      it("polls: finds a record whose webhook never arrived (listChangedSince)", async () => {
        // Webhooks go nowhere while the agent works: only the poll can find the record.
        sim.setWebhookTarget("http://127.0.0.1:9/webhook-lost", webhookSecret);
        let externalId: string;
        try {
          externalId = sim.agentCreate({ title: "Only a poll finds this", priority: "P2" });
          await sim.settled();
        } finally {
          sim.setWebhookTarget(webhookUrl, webhookSecret);
        }
        await drain();
        expect(await linkByExternalId(externalId), "not imported before the poll").toBeUndefined();
        sim.advanceVendorClock?.(61_000);
        const { client } = vendorClient();
        const page = await client.listChangedSince(null, 100);
        expect(page.items.map((item) => item.externalId)).toContain(externalId);
        await ctx.poll();
        await drain();
        const link = await linkByExternalId(externalId);
        expect(link, "imported by the poll").toBeDefined();
        const imported = await tenant.client.get(`/v1/tickets/${link!.ticketId}`);
        expect(imported.body).toMatchObject({ title: "Only a poll finds this", priority: "P2" });
      });

      it("keeps internal notes internal, both ways", async () => {
        const { ticket, externalId } = await createdTicket("Internal notes");
        await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
          body: "Provider internal note",
          visibility: "internal",
        });
        await drain();
        await expectNoDeadLetters();
        const publicAtVendor = sim.read(externalId)!.comments.filter((c) => c.public);
        expect(publicAtVendor.map((c) => c.body).join("\n")).not.toContain("Provider internal note");

        sim.agentComment(externalId, "Agent internal note", { internal: true });
        sim.agentComment(externalId, "Agent public reply");
        await drain();
        const comments = (await ctx.admin.get(`/v1/tickets/${ticket.id}/comments`)).body.items as {
          body: string;
          visibility: string;
        }[];
        const find = (text: string) => comments.find((c) => c.body.includes(text));
        expect(find("Agent internal note")?.visibility, JSON.stringify(comments)).toBe("internal");
        expect(find("Agent public reply")?.visibility, JSON.stringify(comments)).toBe("public");
      });

      it("maps statuses both ways as its status table says", async () => {
        const { ticket, externalId } = await createdTicket("Status mapping");
        const patched = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "in_progress" });
        expect(patched.status, patched.text).toBe(200);
        await drain();
        await expectNoDeadLetters();
        const { client, settings } = vendorClient();
        const atVendor = await client.getTicket(externalId);
        expect(atVendor.status).toBe(connector.mapping.fromCanonicalStatus("in_progress", settings));
        expect(atVendor.canonicalStatus).toBe("in_progress");
        const row = connector.mapping.statuses.find((r) => r.vendor === atVendor.status);
        if (row) expect(row.canonical).toBe("in_progress");

        sim.agentSetStatus(externalId, "resolved");
        await drain();
        expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.status).toBe("resolved");
        const resolved = await client.getTicket(externalId);
        expect(connector.mapping.toCanonicalStatus(resolved.status, settings)).toBe("resolved");
      });
    });
  }
}
