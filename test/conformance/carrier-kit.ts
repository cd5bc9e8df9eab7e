import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  CarrierConformanceAdapter,
  CarrierSimulatorHandle,
} from "../../connectors/sdk/testing/carrier-conformance.js";
import { connections, delegations } from "../../src/db/schema/index.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

/** One request the simulator answered, as the kit saw it on the wire. */
interface Exchange {
  method: string;
  path: string;
  /** 0 until the simulator answers. */
  status: number;
  /** Provoked by the test itself (a refusal it asked for). */
  expected: boolean;
  body?: string;
}

interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the gateway API
  body: any;
  text: string;
}

/** A client of the gateway's HTTP API over a real socket. */
function httpApi(baseUrl: string, token: string) {
  const send = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, text };
  };
  return {
    get: (path: string) => send("GET", path),
    post: (path: string, body: unknown = {}) => send("POST", path, body),
    patch: (path: string, body: unknown) => send("PATCH", path, body),
    delete: (path: string) => send("DELETE", path),
  };
}
type HttpApi = ReturnType<typeof httpApi>;

interface LedgerView {
  kind: string;
  occurredAt: string;
  detail: Record<string, unknown>;
}
interface CommentView {
  body: string;
  visibility: string;
}
interface DelegationView {
  id: string;
  state: string;
  carrierTicketId: string | null;
  carrierStatus: string | null;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  createdAt: string;
}

const show = (value: unknown) => JSON.stringify(value, null, 1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const mainSecret = "carrier-conformance-path-secret-0123456789";
const listenerSecret = "carrier-conformance-listener-secret-9876543210";
const relaySecret = "carrier-conformance-relay-secret-abcdefghij";
const olaCalendar = {
  timezone: "UTC",
  hours: Object.fromEntries(
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, [["00:00", "24:00"]]]),
  ),
};
/** Acknowledge within 30 and restore within 480 business minutes, every priority, around the clock. */
const ola = {
  calendar: olaCalendar,
  targets: Object.fromEntries(
    ["P1", "P2", "P3", "P4"].map((p) => [p, { acknowledgeMinutes: 30, restoreMinutes: 480 }]),
  ),
};

/**
 * The shared carrier conformance suite: every carrier connector passes it over real HTTP against its
 * simulator (on a loopback port), driven through the gateway's own HTTP API and sync engine.
 */
export function describeCarrierConformance(adapter: CarrierConformanceAdapter) {
  describe(`${adapter.name} carrier conformance (http)`, () => {
    let ctx: SyncTestContext;
    // Made while the suite is collected, so tests can depend on what the simulator offers.
    const sim: CarrierSimulatorHandle = adapter.createSimulator();
    let simServer: Listening;
    let simUrl: string;
    let admin: HttpApi;
    let tenantApi: HttpApi;
    let tenantId: string;
    let connection: { id: string; webhookUrl: string };
    const exchanges: Exchange[] = [];
    /** Armed by a test: after the next create, the next read of a ticket answers 404 (a lagging carrier). */
    let readAfterCreate: "armed" | "created" | null = null;

    beforeAll(async () => {
      ctx = await createSyncTestApp();
      simServer = await listen({
        fetch: async (request: Request) => {
          const url = new URL(request.url);
          const path = `${url.pathname}${url.search}`;
          if (
            readAfterCreate === "created" &&
            request.method === "GET" &&
            /\/troubleTicket\/[^/]+$/.test(url.pathname)
          ) {
            readAfterCreate = null;
            exchanges.push({ method: request.method, path, status: 404, expected: true });
            return new Response(
              JSON.stringify({ code: "notFound", reason: "Not Found", message: "not visible yet" }),
              { status: 404, headers: { "content-type": "application/json" } },
            );
          }
          // Recorded on arrival (status 0 until answered): a held answer still counts as received.
          const exchange: Exchange = { method: request.method, path, status: 0, expected: false };
          exchanges.push(exchange);
          const response = await sim.app.fetch(request);
          exchange.status = response.status;
          if (response.status >= 400) exchange.body = (await response.clone().text()).slice(0, 500);
          if (
            readAfterCreate === "armed" &&
            request.method === "POST" &&
            /\/troubleTicket$/.test(url.pathname) &&
            response.ok
          ) {
            readAfterCreate = "created";
          }
          return response;
        },
      });
      simUrl = simServer.url;
      sim.setOrigin(simUrl);
      admin = httpApi(ctx.gatewayUrl, ctx.deps.config.adminToken);
      const tenant = await createTenant(ctx, { name: "Conformance Co" });
      tenantId = tenant.id;
      tenantApi = httpApi(ctx.gatewayUrl, tenant.apiKey);
      const res = await admin.post("/v1/connections", {
        type: adapter.type,
        name: `${adapter.name} carrier`,
        role: "carrier",
        carrier: { ola },
        settings: sim.settings(simUrl, mainSecret),
      });
      if (res.status !== 201) throw new Error(`carrier connection: ${res.status} ${res.text}`);
      connection = res.body;
      await drain();
    });
    afterAll(async () => {
      await sim?.settled();
      await simServer?.close();
      await ctx?.close();
    });

    const drain = () => ctx.drain({ settle: () => sim.settled(), timeoutMs: 20_000 });

    async function delegation(id: string): Promise<DelegationView> {
      const res = await admin.get(`/v1/delegations/${id}`);
      expect(res.status, res.text).toBe(200);
      return res.body;
    }

    async function ledger(ticketId: string): Promise<LedgerView[]> {
      const items: LedgerView[] = [];
      let cursor: string | null = null;
      do {
        const res: ApiResponse = await admin.get(
          `/v1/tickets/${ticketId}/ledger?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        expect(res.status, res.text).toBe(200);
        items.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor);
      return items;
    }
    /** Entries of one kind (or `prefix.*`) since an instant, across tickets (delegation jobs have none). */
    async function ledgerSince(kind: string, since: string): Promise<LedgerView[]> {
      const items: LedgerView[] = [];
      let cursor: string | null = null;
      do {
        const res: ApiResponse = await admin.get(
          `/v1/ledger?limit=200&kind=${encodeURIComponent(kind)}&since=${encodeURIComponent(since)}${
            cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
          }`,
        );
        expect(res.status, res.text).toBe(200);
        items.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor);
      return items;
    }
    const carrierKinds = async (ticketId: string) =>
      (await ledger(ticketId)).map((e) => e.kind).filter((k) => k.startsWith("carrier."));

    async function comments(api: HttpApi, ticketId: string): Promise<CommentView[]> {
      const res = await api.get(`/v1/tickets/${ticketId}/comments?limit=200`);
      expect(res.status, res.text).toBe(200);
      return res.body.items;
    }

    /** Opens a ticket for the tenant and delegates it; the carrier ticket is opened by the next drain. */
    async function delegate(title: string, connectionId = connection.id) {
      const ticket = await admin.post("/v1/tickets", { tenantId, title, priority: "P2" });
      expect(ticket.status, ticket.text).toBe(201);
      const created = await admin.post(`/v1/tickets/${ticket.body.id}/delegations`, {
        connectionId,
        reason: "Carrier-side fault suspected",
        service: { id: "CIR-4471", type: "circuit" },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body.state, show(created.body)).toBe("requested");
      return { ticketId: ticket.body.id as string, delegationId: created.body.id as string };
    }

    /** Delegates and drains: the carrier ticket exists and the delegation carries its id. */
    async function delegated(title: string, connectionId = connection.id) {
      const ids = await delegate(title, connectionId);
      await drain();
      const d = await delegation(ids.delegationId);
      expect(d.carrierTicketId, `no carrier ticket after the drain: ${show(d)}`).toBeTruthy();
      const carrierId = d.carrierTicketId!;
      expect(sim.ticketsCarrying(ids.delegationId), `carrier tickets carrying ${ids.delegationId}`).toEqual([
        carrierId,
      ]);
      return { ...ids, carrierId };
    }

    /** One poller pass with the carrier connection due (a pass right after another waits the interval out). */
    async function pollNow() {
      const deadline = Date.now() + 3_000;
      let polled = await ctx.poll();
      while (polled === 0 && Date.now() < deadline) {
        await sleep(100);
        polled = await ctx.poll();
      }
      expect(polled, "connections the poller read").toBeGreaterThan(0);
    }

    async function expectState(delegationId: string, state: string) {
      const d = await delegation(delegationId);
      expect(d.state, `delegation ${show(d)}`).toBe(state);
      return d;
    }

    async function action(delegationId: string, name: "cancel" | "close" | "reopen", reason?: string) {
      const res = await admin.post(`/v1/delegations/${delegationId}/${name}`, reason ? { reason } : {});
      expect(res.status, `${name}: ${res.text}`).toBe(202);
    }

    async function note(delegationId: string, text: string) {
      const res = await admin.post(`/v1/delegations/${delegationId}/notes`, { text });
      expect(res.status, `note: ${res.text}`).toBe(202);
    }

    /** Where a test starts, so its checks cover its own traffic only. */
    interface Mark {
      exchanges: number;
      requestViolations: number;
      contractViolations: number;
    }
    const start = (): Mark => ({
      exchanges: exchanges.length,
      requestViolations: sim.requestViolations().length,
      contractViolations: sim.contractViolations().length,
    });

    /** Nothing the simulator saw since `mark` was refused, broke its spec, or failed inside it. */
    function expectCleanTraffic(mark: Mark) {
      const refused = exchanges
        .slice(mark.exchanges)
        .filter(
          (e) =>
            !e.expected &&
            ((e.status >= 400 && e.status < 500 && e.status !== 429) ||
              (e.status >= 500 && e.status !== 503)),
        );
      expect(refused, "requests the carrier refused or failed on (not provoked by the test)").toEqual([]);
      expect(
        sim.requestViolations().slice(mark.requestViolations),
        "requests that break the carrier's official spec",
      ).toEqual([]);
      expect(
        sim.contractViolations().slice(mark.contractViolations),
        "simulator answers and events that break the official spec",
      ).toEqual([]);
    }

    /** Marks the refusals a test provoked, after checking there are exactly as many as it provoked. */
    function allowRefusals(mark: Mark, predicate: (e: Exchange) => boolean, count: number) {
      const matching = exchanges.slice(mark.exchanges).filter((e) => e.status >= 400 && predicate(e));
      expect(matching, "the refusals this test provoked").toHaveLength(count);
      for (const e of matching) e.expected = true;
    }

    it("registers the hub listener at connection create with the connection's webhookUrl and removes it on DELETE", async () => {
      const mark = start();
      expect(connection.webhookUrl).toMatch(new RegExp(`/webhooks/${connection.id}/[^/]+$`));
      const main = sim.listeners().filter((l) => l.callback === connection.webhookUrl);
      expect(main, `listeners: ${show(sim.listeners())}`).toHaveLength(1);
      const [mainRow] = await ctx.database.db
        .select()
        .from(connections)
        .where(eq(connections.id, connection.id));
      expect(mainRow?.remoteListenerId, "the listener id the gateway keeps").toBe(main[0]!.id);

      const created = await admin.post("/v1/connections", {
        type: adapter.type,
        name: `${adapter.name} carrier (listener check)`,
        role: "carrier",
        settings: sim.settings(simUrl, listenerSecret),
      });
      expect(created.status, created.text).toBe(201);
      const other = created.body as { id: string; webhookUrl: string };
      expect(other.webhookUrl, "a second connection has its own callback").not.toBe(connection.webhookUrl);
      await drain();
      const registered = sim.listeners().filter((l) => l.callback === other.webhookUrl);
      expect(registered, `listeners: ${show(sim.listeners())}`).toHaveLength(1);

      const deleted = await admin.delete(`/v1/connections/${other.id}`);
      expect(deleted.status, deleted.text).toBe(204);
      await drain();
      expect(
        sim.listeners().filter((l) => l.callback === other.webhookUrl),
        `listeners after DELETE: ${show(sim.listeners())}`,
      ).toEqual([]);
      expect(
        sim.listeners().filter((l) => l.callback === connection.webhookUrl),
        "the main connection's listener stays",
      ).toHaveLength(1);
      expectCleanTraffic(mark);
    });

    it("opens the carrier ticket once when the create's response is lost", async () => {
      const mark = start();
      const since = new Date().toISOString();
      const { delegationId } = await delegate("Create with a lost response");
      sim.loseNextResponse("POST");
      await drain();
      const d = await delegation(delegationId);
      const carrying = sim.ticketsCarrying(delegationId);
      expect(carrying, `carrier tickets carrying ${delegationId}`).toHaveLength(1);
      expect(d.carrierTicketId, show(d)).toBe(carrying[0]);
      const creates = exchanges
        .slice(mark.exchanges)
        .filter((e) => e.method === "POST" && /\/troubleTicket(\?|$)/.test(e.path));
      expect(creates, "creates the carrier received").toHaveLength(1);
      const sent = (await ledgerSince("sync.sent", since)).filter(
        (e) => e.detail["delegationId"] === delegationId,
      );
      expect(
        sent.map((e) => e.detail["action"]),
        `the open job found the ticket its lost create made: ${show(sent)}`,
      ).toEqual(["linked"]);
      expectCleanTraffic(mark);
    });

    it("links instead of creating again when a dead-lettered create is replayed", async () => {
      const mark = start();
      const { delegationId } = await delegate("Create that lands, then dead-letters");
      // The create lands, but the carrier does not show the new ticket yet (404): permanent, dead-lettered.
      readAfterCreate = "armed";
      await drain();
      expect(readAfterCreate, "the create and the read after it happened").toBeNull();
      expect(sim.ticketsCarrying(delegationId), "the create landed").toHaveLength(1);
      expect((await delegation(delegationId)).carrierTicketId, "not linked yet").toBeNull();
      const dead = await admin.get(`/v1/dead-letters?ticketId=${delegationId}`);
      expect(dead.status, dead.text).toBe(200);
      expect(
        dead.body.items.map((i: { kind: string }) => i.kind),
        show(dead.body),
      ).toEqual(["delegation.open"]);
      const replay = await admin.post(`/v1/dead-letters/${dead.body.items[0].id}/replay`);
      expect(replay.status, replay.text).toBeLessThan(300);
      await drain();
      const d = await delegation(delegationId);
      const carrying = sim.ticketsCarrying(delegationId);
      expect(carrying, `carrier tickets carrying ${delegationId} after the replay`).toHaveLength(1);
      expect(d.carrierTicketId, show(d)).toBe(carrying[0]);
      expect((await admin.get(`/v1/dead-letters?ticketId=${delegationId}`)).body.items).toEqual([]);
      expectCleanTraffic(mark);
    });

    it("delivers each note once through 503s, a 429 and a lost response, never altering the carrier's notes", async () => {
      const mark = start();
      const since = new Date().toISOString();
      const { ticketId, delegationId, carrierId } = await delegated("Notes through a storm");
      sim.acknowledge(carrierId);
      sim.progress(carrierId);
      sim.requestInformation(carrierId, "Which port is the circuit on?");
      await drain();
      const before = sim.notesOf(carrierId);
      expect(
        before.map((n) => n.text),
        "the carrier's question is on its ticket",
      ).toContain("Which port is the circuit on?");

      // The reads before the first note fail, then its write twice: 503, then 429 with Retry-After.
      sim.failNext(503, 2);
      sim.failNext(503, 1, "PATCH");
      sim.failNext(429, 1, "PATCH");
      await note(delegationId, "Port 3 on the left rack.");
      await note(delegationId, "Site access 08:00-16:00.");
      await drain();
      sim.loseNextResponse("PATCH");
      await note(delegationId, "Ask for Ada at reception.");
      await drain();

      const after = sim.notesOf(carrierId);
      const texts = after.map((n) => n.text);
      for (const text of [
        "Port 3 on the left rack.",
        "Site access 08:00-16:00.",
        "Ask for Ada at reception.",
      ]) {
        expect(
          texts.filter((t) => t === text),
          `"${text}" on the carrier ticket: ${show(texts)}`,
        ).toHaveLength(1);
      }
      expect(after.slice(0, before.length), "notes that were there before, unchanged and in place").toEqual(
        before,
      );
      const retried = (await ledgerSince("sync.retry_scheduled", since)).filter(
        (e) => e.detail["job"] === "delegation.note",
      );
      expect(retried.length, "note jobs retried after the faults").toBeGreaterThanOrEqual(5);
      const patchFaults = exchanges
        .slice(mark.exchanges)
        .filter((e) => e.method === "PATCH" && (e.status === 503 || e.status === 429));
      expect(
        patchFaults.map((e) => e.status),
        "note writes the carrier failed",
      ).toEqual([503, 429]);
      // Our own notes, read back from the carrier, are not imported as the carrier's.
      const ours = (await comments(admin, ticketId)).filter((c) =>
        c.body.includes("Port 3 on the left rack."),
      );
      expect(ours, `comments carrying our note: ${show(ours)}`).toHaveLength(1);
      expectCleanTraffic(mark);
    });

    it("follows acknowledge, information request (a pause) and resolve, with OLA business seconds, then closes", async () => {
      const mark = start();
      const { ticketId, delegationId, carrierId } = await delegated("Leased line down");
      sim.acknowledge(carrierId);
      await drain();
      const acknowledged = await expectState(delegationId, "open");
      expect(acknowledged.acknowledgedAt, show(acknowledged)).not.toBeNull();

      sim.progress(carrierId);
      await drain();
      await expectState(delegationId, "in_progress");

      sim.requestInformation(carrierId, "Please confirm the site contact and access hours.");
      await drain();
      await expectState(delegationId, "pending");
      expect(await carrierKinds(ticketId), "pending stops the OLA clock").toContain("carrier.paused");
      const internal = (await comments(admin, ticketId)).filter((c) => c.body.includes("site contact"));
      expect(internal, `the carrier's question as a comment: ${show(internal)}`).toHaveLength(1);
      expect(internal[0]!.visibility).toBe("internal");
      const tenantView = (await comments(tenantApi, ticketId)).map((c) => c.body);
      expect(
        tenantView.filter((b) => b.includes("site contact")),
        "the carrier's note is not the tenant's to read",
      ).toEqual([]);

      await sleep(1100);
      await note(delegationId, "Contact: Ada, 08:00-16:00 weekdays.");
      await drain();
      sim.progress(carrierId);
      await drain();
      await expectState(delegationId, "in_progress");
      expect(await carrierKinds(ticketId)).toContain("carrier.resumed");

      sim.resolve(carrierId, "Line card replaced at the exchange.");
      await drain();
      const resolved = await expectState(delegationId, "resolved");
      expect(resolved.resolvedAt, show(resolved)).not.toBeNull();
      expect(sim.statusOf(carrierId)).toBe("resolved");

      const entries = await ledger(ticketId);
      const acks = entries.filter((e) => e.kind === "carrier.acknowledged");
      const resolutions = entries.filter((e) => e.kind === "carrier.resolved");
      expect(acks, show(acks)).toHaveLength(1);
      expect(resolutions, show(resolutions)).toHaveLength(1);
      const [row] = await ctx.database.db.select().from(delegations).where(eq(delegations.id, delegationId));
      const createdAt = row!.createdAt.getTime();
      const pausedMs = row!.pauses.reduce((sum, p) => sum + ((p.to ?? p.from) - p.from), 0);
      expect(row!.pauses, "one closed pause of at least the second waited").toHaveLength(1);
      expect(pausedMs, show(row!.pauses)).toBeGreaterThanOrEqual(1000);
      expect(acks[0]!.detail, "carrier.acknowledged").toMatchObject({
        delegationId,
        businessSeconds: Math.round((row!.acknowledgedAt!.getTime() - createdAt) / 1000),
        targetSeconds: 30 * 60,
        met: true,
      });
      const resolvedAt = row!.resolvedAt!.getTime();
      expect(resolutions[0]!.detail, "carrier.resolved: business seconds without the pause").toMatchObject({
        delegationId,
        businessSeconds: Math.round((resolvedAt - createdAt - pausedMs) / 1000),
        targetSeconds: 480 * 60,
        met: true,
      });
      expect(resolutions[0]!.detail["businessSeconds"] as number).toBeLessThan(
        Math.round((resolvedAt - createdAt) / 1000),
      );
      expect(await carrierKinds(ticketId)).not.toContain("carrier.ola_breached");

      const all = await comments(admin, ticketId);
      for (const text of ["site contact", "Line card replaced"]) {
        expect(
          all.filter((c) => c.body.includes(text)).map((c) => c.visibility),
          `the carrier's note "${text}", once and internal: ${show(all)}`,
        ).toEqual(["internal"]);
      }
      const tenantAll = (await comments(tenantApi, ticketId)).map((c) => c.body);
      expect(
        tenantAll.filter((b) => /site contact|Line card|Ada/.test(b)),
        "nothing between provider and carrier reaches the tenant",
      ).toEqual([]);

      await action(delegationId, "close");
      await drain();
      const closed = await expectState(delegationId, "closed");
      expect(closed.closedAt, show(closed)).not.toBeNull();
      expect(sim.statusOf(carrierId), "the carrier ticket is closed").toBe("closed");
      expectCleanTraffic(mark);
    });

    it.runIf(adapter.reopens)(
      "reopens a resolution that did not hold, and closes the second one",
      async () => {
        const mark = start();
        const { ticketId, delegationId, carrierId } = await delegated("Voice trunk one-way audio");
        sim.acknowledge(carrierId);
        sim.progress(carrierId);
        sim.resolve(carrierId, "Codec mismatch fixed.");
        await drain();
        await expectState(delegationId, "resolved");

        await action(delegationId, "reopen", "Still one-way from site B.");
        await drain();
        const reopened = await expectState(delegationId, "in_progress");
        expect(reopened.resolvedAt, "the resolution no longer counts").toBeNull();
        expect(sim.statusOf(carrierId), "the carrier ticket is back at work").not.toBe("resolved");

        sim.progress(carrierId);
        sim.resolve(carrierId, "NAT rule corrected.");
        await drain();
        await expectState(delegationId, "resolved");
        await action(delegationId, "close");
        await drain();
        await expectState(delegationId, "closed");
        expect(sim.statusOf(carrierId)).toBe("closed");
        const kinds = await carrierKinds(ticketId);
        expect(
          kinds.filter((k) => k === "carrier.resolved"),
          show(kinds),
        ).toHaveLength(2);
        expect(
          kinds.filter((k) => k === "carrier.acknowledged"),
          show(kinds),
        ).toHaveLength(1);
        expectCleanTraffic(mark);
      },
    );

    it("cancels before work starts, and a cancelled delegation takes no more notes", async () => {
      const mark = start();
      const { delegationId, carrierId } = await delegated("Raised by mistake");
      const early = await delegation(delegationId);
      expect(["requested", "open"], `before any work: ${show(early)}`).toContain(early.state);
      await action(delegationId, "cancel", "Raised in error: the customer's power was off.");
      await drain();
      await expectState(delegationId, "cancelled");
      expect(sim.statusOf(carrierId), "the carrier ticket is cancelled").toBe("cancelled");
      const late = await admin.post(`/v1/delegations/${delegationId}/notes`, { text: "One more thing" });
      expect(late.status, late.text).toBe(409);
      const refusedClose = await admin.post(`/v1/delegations/${delegationId}/close`, {});
      expect(refusedClose.status, refusedClose.text).toBe(409);
      expectCleanTraffic(mark);
    });

    it("catches missed events with the poller", async () => {
      const mark = start();
      const { ticketId, delegationId, carrierId } = await delegated("Missed notification");
      sim.acknowledge(carrierId);
      await drain();
      await expectState(delegationId, "open");

      /** The carrier acts, but every notification it sends is lost; the gateway does not hear of it. */
      const unheard = async (act: () => void, stillState: string) => {
        const droppedBefore = sim.droppedEvents();
        sim.dropEvents(1000);
        act();
        await sim.settled();
        sim.clearFaults();
        expect(sim.droppedEvents(), "the carrier's events were lost").toBeGreaterThan(droppedBefore);
        await drain();
        await expectState(delegationId, stillState);
      };
      await unheard(() => sim.progress(carrierId), "open");
      await pollNow();
      await drain();
      await expectState(delegationId, "in_progress");

      // A second miss after the first poll moved the connection's cursor.
      await unheard(() => sim.resolve(carrierId, "Fibre spliced at the cabinet."), "in_progress");
      await pollNow();
      await drain();
      await expectState(delegationId, "resolved");
      expect(await carrierKinds(ticketId)).toContain("carrier.resolved");
      const resolution = (await comments(admin, ticketId)).filter((c) => c.body.includes("Fibre spliced"));
      expect(resolution, "the carrier's resolution note arrived with the poll").toHaveLength(1);
      expectCleanTraffic(mark);
    });

    it("answers events with a wrong or missing path secret 401, and unknown event paths as documented", async () => {
      const mark = start();
      const { carrierId } = await delegated("Webhook checks");
      sim.acknowledge(carrierId);
      sim.progress(carrierId);
      await drain();
      const delivered = sim.deliveries().filter((d) => d.url.startsWith(`${connection.webhookUrl}/`));
      expect(delivered.length, "events the carrier sent to our callback").toBeGreaterThan(0);
      const notAccepted = delivered.filter((d) => d.status !== 202);
      expect(notAccepted, "every event the carrier sent was accepted").toEqual([]);

      const sample = delivered.at(-1)!;
      const suffix = sample.url.slice(connection.webhookUrl.length);
      const body = JSON.stringify(sample.body);
      const post = async (url: string) =>
        (await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })).status;
      const base = `${ctx.gatewayUrl}/webhooks/${connection.id}`;
      const wrongSecret = `${base}/${mainSecret.slice(0, -1)}${mainSecret.endsWith("x") ? "y" : "x"}`;
      const unknownSuffix = suffix.replace(/[^/]+$/, "troubleTicketExplodedEvent");
      const statuses = {
        replayed: await post(sample.url),
        wrongSecret: await post(`${wrongSecret}${suffix}`),
        missingSecret: await post(`${base}${suffix}`),
        bare: await post(base),
        unknownEvent: await post(`${connection.webhookUrl}${unknownSuffix}`),
        unknownPath: await post(`${connection.webhookUrl}/not-a-listener`),
        unknownEventWrongSecret: await post(`${wrongSecret}${unknownSuffix}`),
      };
      // The secret is checked first (401); with the right secret, a path the connector does not define is
      // a malformed event (400), as docs/connectors.md and the connector's docs say.
      expect(statuses, show(statuses)).toEqual({
        replayed: 202,
        wrongSecret: 401,
        missingSecret: 401,
        bare: 401,
        unknownEvent: 400,
        unknownPath: 400,
        unknownEventWrongSecret: 401,
      });
      expectCleanTraffic(mark);
    });

    it("relays the carrier's notes to the client only when relayNotesToClient is set", async () => {
      const mark = start();
      const created = await admin.post("/v1/connections", {
        type: adapter.type,
        name: `${adapter.name} carrier (relaying notes)`,
        role: "carrier",
        settings: { ...sim.settings(simUrl, relaySecret), relayNotesToClient: true },
      });
      expect(created.status, created.text).toBe(201);
      const relay = created.body as { id: string; webhookUrl: string };
      try {
        await drain();
        const relayed = await delegated("Relayed notes", relay.id);
        const kept = await delegated("Notes kept inside");
        for (const { carrierId } of [relayed, kept]) {
          sim.acknowledge(carrierId);
          sim.progress(carrierId);
          sim.requestInformation(carrierId, `Engineer visit window? (${carrierId})`);
        }
        await drain();
        const relayedText = `Engineer visit window? (${relayed.carrierId})`;
        const keptText = `Engineer visit window? (${kept.carrierId})`;
        const tenantRelayed = (await comments(tenantApi, relayed.ticketId)).filter((c) =>
          c.body.includes(relayedText),
        );
        expect(tenantRelayed, "relayed: the tenant reads the carrier's note").toEqual([
          expect.objectContaining({ body: relayedText, visibility: "public" }),
        ]);
        const adminKept = (await comments(admin, kept.ticketId)).filter((c) => c.body.includes(keptText));
        expect(adminKept, "kept: an internal comment").toEqual([
          expect.objectContaining({ visibility: "internal" }),
        ]);
        const tenantKept = (await comments(tenantApi, kept.ticketId)).filter((c) =>
          c.body.includes(keptText),
        );
        expect(tenantKept, "kept: not the tenant's to read").toEqual([]);
      } finally {
        const deleted = await admin.delete(`/v1/connections/${relay.id}`);
        expect(deleted.status, deleted.text).toBe(204);
        await drain();
      }
      expectCleanTraffic(mark);
    });

    it.runIf(sim.rejectNextCreate !== undefined)(
      "marks a delegation the carrier refuses at create as rejected",
      async () => {
        const mark = start();
        const { ticketId, delegationId } = await delegate("Not the carrier's circuit");
        sim.rejectNextCreate!();
        await drain();
        allowRefusals(mark, (e) => e.method === "POST" && /\/troubleTicket(\?|$)/.test(e.path), 1);
        const d = await expectState(delegationId, "rejected");
        expect(d.carrierTicketId, show(d)).toBeNull();
        expect(sim.ticketsCarrying(delegationId)).toEqual([]);
        expect(await carrierKinds(ticketId)).toContain("carrier.rejected");
        const internal = (await comments(admin, ticketId)).filter(
          (c) => c.visibility === "internal" && c.body.includes("rejected"),
        );
        expect(internal, "the provider is told").toHaveLength(1);
        expectCleanTraffic(mark);
      },
    );

    it.runIf(sim.reject !== undefined)(
      `marks a delegation the carrier declines later as ${adapter.declinedState ?? "rejected"}`,
      async () => {
        const mark = start();
        const declined = adapter.declinedState ?? "rejected";
        const { ticketId, delegationId, carrierId } = await delegated("Declined by the carrier");
        sim.acknowledge(carrierId);
        await drain();
        const reason = "Not our network: the fault is in the customer's LAN.";
        sim.reject!(carrierId, reason);
        await drain();
        const d = await expectState(delegationId, declined);
        expect(d.carrierStatus, show(d)).toBe(sim.statusOf(carrierId));
        const changes = (await ledger(ticketId)).filter((e) => e.kind === "carrier.status_changed");
        expect(changes.at(-1)?.detail, show(changes)).toMatchObject({ to: declined });
        if (declined === "resolved") {
          // Declining by resolution says why in a note, which the provider reads.
          const why = (await comments(admin, ticketId)).filter((c) => c.body.includes(reason));
          expect(
            why.map((c) => c.visibility),
            show(why),
          ).toEqual(["internal"]);
        }
        expectCleanTraffic(mark);
      },
    );

    it("kept every request it sent within the carrier's official spec", async () => {
      await drain();
      expect(exchanges.length, "requests the simulator answered").toBeGreaterThan(20);
      expectCleanTraffic({ exchanges: 0, requestViolations: 0, contractViolations: 0 });
      const notAccepted = sim
        .deliveries()
        .filter((d) => d.url.startsWith(`${ctx.gatewayUrl}/`) && d.status !== 202);
      expect(notAccepted, "events the gateway did not accept").toEqual([]);
    });
  });
}
