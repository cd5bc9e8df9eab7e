import { createHash } from "node:crypto";
import { Hono } from "hono";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { ChangedRecord, OutboundTicket } from "../../sdk/index.js";
import { TransientHttpError } from "../../sdk/index.js";
import { loopbackServers } from "../../sdk/testing/loopback.js";
import { createZendeskClient, type ZendeskClientOptions } from "../client.js";
import { ZendeskSettings } from "../config.js";
import { zendesk } from "../index.js";
import { zendeskMappingContext } from "../mapping.js";
import {
  createZendeskSimulator,
  simulatorUsers,
  type ZendeskSimulator,
  type ZendeskSimulatorOptions,
} from "../simulator.js";
import { isOwnChange, type ZendeskInboundNotice } from "../webhook.js";
import { expectValidRequests, expectValidResponses } from "./spec.js";

const webhookSecret = "whsec-simulator-0123456789";
const loopback = loopbackServers();
const listen = loopback.listen;
const simulators: ZendeskSimulator[] = [];

afterEach(async () => {
  await loopback.closeAll();
});

afterAll(() => {
  // Everything the real client sent in this file, and everything the simulator answered, against oas.yaml.
  const exchanges = simulators.flatMap((sim) => sim.requests);
  expect(exchanges.length).toBeGreaterThan(50);
  expectValidRequests(exchanges);
  expectValidResponses(exchanges);
});

function settingsFor(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return ZendeskSettings.parse({
    baseUrl,
    auth: {
      type: "basic",
      username: `${simulatorUsers.integration.email}/token`,
      password: "simulator-api-token",
    },
    integrationUserId: simulatorUsers.integration.id,
    webhookSecret,
    ...overrides,
  });
}

/** A gateway stand-in that verifies and parses deliveries with the connector, as the webhook route does. */
async function startReceiver(secret = webhookSecret) {
  const notices: ZendeskInboundNotice[] = [];
  const rejected: string[] = [];
  const receiver = new Hono();
  receiver.post("/webhooks/zendesk", async (c) => {
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const verdict = zendesk.verifyWebhook(
      { headers: c.req.raw.headers, rawBody },
      settingsFor("http://unused", { webhookSecret: secret }),
      new Date(),
    );
    if (!verdict.ok) {
      rejected.push(verdict.reason);
      return c.json(verdict, 401);
    }
    notices.push(...zendesk.parseWebhook(rawBody, c.req.raw.headers));
    return c.body(null, 202);
  });
  const url = await listen(receiver.fetch);
  return { url: `${url}/webhooks/zendesk`, notices, rejected };
}

/** One clock for simulator and client; it moves when the test or the client's limiter says so. */
function virtualClock(start = "2024-05-01T10:00:00Z") {
  let clockMs = Date.parse(start);
  const waits: number[] = [];
  return {
    waits,
    now: () => new Date(clockMs),
    advance: (ms: number) => {
      clockMs += ms;
    },
    sleep: async (ms: number) => {
      waits.push(ms);
      clockMs += ms;
    },
  };
}

interface StartOptions {
  simulator?: ZendeskSimulatorOptions;
  settings?: Record<string, unknown>;
  client?: ZendeskClientOptions & { timeoutMs?: number; now?: () => Date; fetch?: typeof fetch };
}

async function startSimulator(options: StartOptions = {}) {
  const sim = createZendeskSimulator(options.simulator);
  simulators.push(sim);
  const url = await listen(sim.app.fetch);
  sim.setAccountUrl(url);
  const clientFor = (overrides: Record<string, unknown> = {}) => {
    const settings = settingsFor(url, { ...options.settings, ...overrides });
    return createZendeskClient(
      settings,
      {
        mapping: zendeskMappingContext(settings),
        timeoutMs: options.client?.timeoutMs ?? 2_000,
        retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 1_500 },
        ...(options.client?.now ? { now: options.client.now } : {}),
        ...(options.client?.fetch ? { fetch: options.client.fetch } : {}),
      },
      options.client,
    );
  };
  return { sim, url, client: clientFor(), clientFor };
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since 09:00",
  priority: "P3",
  status: "new",
  requester: { name: "Dana Ops", email: "dana@example.com" },
  category: null,
  affectedService: null,
};

describe("Zendesk simulator driven by the real client over HTTP", () => {
  it("creates, reads and links instead of duplicating", async () => {
    const { sim, client } = await startSimulator();
    const created = await client.createTicket(ticket);
    expect(created).toMatchObject({ externalId: "1001", externalKey: "#1001", action: "created" });

    const external = await client.getTicket(created.externalId);
    expect(external).toMatchObject({
      title: ticket.title,
      description: ticket.description,
      status: "new",
      canonicalStatus: "new",
      priority: "normal",
      canonicalPriority: "P3",
      correlationId: ticket.canonicalId,
      requester: { name: "Dana Ops", email: "dana@example.com" },
      updatedBy: String(simulatorUsers.integration.id),
    });
    expect(external.comments.map(({ body, visibility }) => ({ body, visibility }))).toEqual([
      { body: ticket.description, visibility: "public" },
    ]);

    expect(await client.createTicket(ticket)).toMatchObject({ externalId: "1001", action: "linked" });
    expect(sim.state.tickets.size).toBe(1);
  });

  it("updates status and priority with safe_update, assigning itself when solving", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    await client.updateTicket(externalId, { status: "pending_customer", priority: "P1" });
    expect(sim.state.tickets.get(1001)).toMatchObject({ status: "pending", priority: "urgent" });
    expect(await client.getTicket(externalId)).toMatchObject({
      canonicalStatus: "pending_customer",
      canonicalPriority: "P1",
    });

    await client.updateTicket(externalId, { status: "resolved" });
    expect(sim.state.tickets.get(1001)).toMatchObject({
      status: "solved",
      assignee_id: simulatorUsers.integration.id,
    });
    const puts = sim.requests.filter((request) => request.method === "PUT");
    expect(
      puts.map((request) => (request.body as { ticket: Record<string, unknown> }).ticket["safe_update"]),
    ).toEqual([true, true]);
  });

  it("round-trips comments with their visibility, whatever the first comment was", async () => {
    const { sim, clientFor } = await startSimulator();
    // The first comment is internal: Zendesk would make later comments internal too unless told otherwise.
    const internalFirst = clientFor({ publicCommentsAsInternal: true });
    const { externalId } = await internalFirst.createTicket(ticket);
    const client = clientFor();
    const reply = await client.addComment(
      externalId,
      { canonicalId: "cmt_1", body: "Access point replaced.", visibility: "public", authorName: "Dana Ops" },
      { attempt: 1, since: new Date() },
    );
    const note = await client.addComment(
      externalId,
      { canonicalId: "cmt_2", body: "Spare AP taken from stock.", visibility: "internal" },
      { attempt: 1, since: new Date() },
    );
    sim.simulateAgentComment(1001, { body: "Caller confirmed, thanks!", public: true });

    const external = await client.getTicket(externalId);
    expect(
      external.comments.map(({ externalId: id, body, visibility, author }) => ({
        id,
        body,
        visibility,
        author,
      })),
    ).toEqual([
      { id: expect.any(String), body: ticket.description, visibility: "internal", author: "9001" },
      {
        id: reply.externalId,
        body: "On behalf of Dana Ops:\nAccess point replaced.",
        visibility: "public",
        author: "9001",
      },
      { id: note.externalId, body: "Spare AP taken from stock.", visibility: "internal", author: "9001" },
      { id: expect.any(String), body: "Caller confirmed, thanks!", visibility: "public", author: "9002" },
    ]);
    expect(external.updatedBy).toBe(String(simulatorUsers.agent.id));
  });

  it("re-reads, merges and retries when an agent saves between our read and our write", async () => {
    const clock = virtualClock();
    let interfered = false;
    const { sim, client } = await startSimulator({
      simulator: { now: clock.now },
      client: {
        now: clock.now,
        sleep: clock.sleep,
        // Just before our first safe_update PUT reaches Zendesk, an agent saves the ticket.
        fetch: async (input, init) => {
          if (init?.method === "PUT" && !interfered) {
            interfered = true;
            clock.advance(2_000);
            sim.simulateAgentUpdate(1001, { priority: "urgent", subject: "Wifi down on floor 3" });
          }
          return fetch(input, init);
        },
      },
    });
    const { externalId } = await client.createTicket(ticket);
    const ref = await client.updateTicket(externalId, { priority: "P1", status: "pending_customer" });
    expect(ref.action).toBe("updated");
    const puts = sim.requests.filter((request) => request.method === "PUT");
    expect(puts.map((request) => request.status)).toEqual([409, 200]);
    expect(puts.map((request) => request.body)).toEqual([
      {
        ticket: {
          priority: "urgent",
          status: "pending",
          safe_update: true,
          updated_stamp: "2024-05-01T10:00:00Z",
        },
      },
      { ticket: { status: "pending", safe_update: true, updated_stamp: "2024-05-01T10:00:02Z" } },
    ]);
    // The agent's subject survives: we never write fields the engine did not name.
    expect(sim.state.tickets.get(1001)).toMatchObject({
      subject: "Wifi down on floor 3",
      priority: "urgent",
      status: "pending",
    });
  });

  it("reopens a closed ticket as a follow-up and links to it from then on", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    sim.simulateAgentUpdate(1001, { status: "closed", assignee_id: simulatorUsers.agent.id });

    const ref = await client.updateTicket(externalId, { status: "in_progress" });
    expect(ref).toMatchObject({ externalId: "1002", action: "created" });
    expect(sim.state.tickets.get(1002)).toMatchObject({
      followup_source_id: 1001,
      external_id: ticket.canonicalId,
      status: "open",
      requester_id: sim.state.tickets.get(1001)!.requester_id,
    });
    expect(sim.state.tickets.get(1001)?.status).toBe("closed");
    // A later update or create finds the follow-up, not the closed ticket.
    expect(await client.updateTicket(externalId, { status: "in_progress" })).toMatchObject({
      externalId: "1002",
    });
    expect(await client.createTicket(ticket)).toMatchObject({ externalId: "1002", action: "linked" });
    expect(sim.state.tickets.size).toBe(2);
  });

  it("refuses wrong credentials", async () => {
    const { clientFor } = await startSimulator();
    const result = await clientFor({
      auth: { type: "basic", username: `${simulatorUsers.integration.email}/token`, password: "wrong" },
    }).testConnection();
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toContain("401");
  });

  it("accepts an OAuth bearer token", async () => {
    const { clientFor } = await startSimulator();
    const result = await clientFor({
      auth: { type: "bearer", token: "simulator-oauth-token" },
    }).testConnection();
    expect(result).toEqual({ ok: true, detail: "signed in as Ticket Sync Integration (user 9001, admin)" });
  });

  it("moves attachments both ways, streamed and hashed", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    const content = new TextEncoder().encode("%PDF-1.7 fake report\n".repeat(2_000));
    const sha256 = createHash("sha256").update(content).digest("hex");
    const uploaded = await client.uploadAttachment(new Blob([content]).stream(), {
      fileName: "report.pdf",
      contentType: "application/pdf",
    });
    expect(uploaded).toMatchObject({ sizeBytes: content.byteLength, sha256 });
    await client.addComment(
      externalId,
      {
        canonicalId: "cmt_1",
        body: "Report attached.",
        visibility: "public",
        uploadTokens: [uploaded.token],
      },
      { attempt: 1, since: new Date() },
    );
    const attachment = (await client.getTicket(externalId)).comments.at(-1)?.attachments[0];
    expect(attachment).toMatchObject({
      fileName: "report.pdf",
      contentType: "application/pdf",
      sizeBytes: content.byteLength,
    });
    const download = await client.downloadAttachment(attachment!);
    await new Response(download.stream).arrayBuffer();
    expect(await download.completed).toEqual({ sizeBytes: content.byteLength, sha256 });
    expect(sim.state.uploads.size).toBe(0);
  });

  it("lists, opens and puts attachments through the SDK methods", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    const content = new TextEncoder().encode("log line\n".repeat(500));
    const sha256 = createHash("sha256").update(content).digest("hex");
    const put = await client.putAttachment(
      externalId,
      { fileName: "app.log", contentType: "text/plain", sizeBytes: null, body: new Blob([content]).stream() },
      { maxBytes: 1_000_000, visibility: "internal", note: "Attachment from Jira Service Management" },
    );
    expect(put).toMatchObject({ sizeBytes: content.byteLength, sha256 });
    const carrier = sim.state.comments.at(-1)!;
    expect(carrier).toMatchObject({ body: "Attachment from Jira Service Management", public: false });
    const listed = await client.listAttachments(externalId);
    expect(listed).toEqual([
      {
        externalId: put.externalId,
        fileName: "app.log",
        contentType: "text/plain",
        sizeBytes: content.byteLength,
        author: String(carrier.author_id),
        visibility: "internal",
        createdAt: expect.any(String),
      },
    ]);
    const opened = await client.openAttachment(externalId, put.externalId!, { maxBytes: 1_000_000 });
    const read = new Uint8Array(await new Response(opened.body).arrayBuffer());
    expect(createHash("sha256").update(read).digest("hex")).toBe(sha256);
    // Over the cap: refused before the download when the size is declared, and nothing is put.
    await expect(client.openAttachment(externalId, put.externalId!, { maxBytes: 100 })).rejects.toMatchObject(
      {
        retryable: false,
      },
    );
    await expect(
      client.putAttachment(
        externalId,
        { fileName: "big.bin", contentType: null, sizeBytes: null, body: new Blob([content]).stream() },
        { maxBytes: 100, visibility: "public" },
      ),
    ).rejects.toMatchObject({ retryable: false });
    expect(await client.listAttachments(externalId)).toHaveLength(1);
  });
});

describe("simulator faults", () => {
  it("retries injected 503s and succeeds", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    sim.faults.push({
      kind: "status",
      status: 503,
      times: 2,
      match: { method: "GET", pathIncludes: "/tickets/1001" },
    });
    expect((await client.getTicket(externalId)).externalId).toBe("1001");
    const reads = sim.requests.filter(
      (request) => request.method === "GET" && request.path === "/api/v2/tickets/1001",
    );
    expect(reads.map((request) => request.status)).toEqual([503, 503, 200]);
    expect(sim.faults).toHaveLength(0);
  });

  it("honours Retry-After on an injected 429", async () => {
    const { sim, client } = await startSimulator();
    sim.faults.push({ kind: "status", status: 429, retryAfterSeconds: 1, times: 1 });
    const started = performance.now();
    expect((await client.testConnection()).ok).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it("retries an injected safe_update conflict", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    sim.faults.push({ kind: "conflict", times: 1 });
    await client.updateTicket(externalId, { status: "on_hold" });
    expect(
      sim.requests.filter((request) => request.method === "PUT").map((request) => request.status),
    ).toEqual([409, 200]);
    expect(sim.state.tickets.get(1001)?.status).toBe("hold");
  });

  it("waits for the account budget instead of running into 429s", async () => {
    const clock = virtualClock("2024-05-01T10:00:50Z");
    const { sim, client } = await startSimulator({
      simulator: { now: clock.now, requestsPerMinute: 3 },
      client: { now: clock.now, sleep: clock.sleep },
    });
    for (let call = 0; call < 5; call++) expect((await client.testConnection()).ok).toBe(true);
    expect(sim.requests.map((request) => request.status)).toEqual([200, 200, 200, 200, 200]);
    expect(clock.waits).toEqual([10_000]);
  });

  it("links the ticket when a create times out after Zendesk applied it", async () => {
    const { sim, client } = await startSimulator({ client: { timeoutMs: 300 } });
    sim.faults.push({ kind: "timeout", delayMs: 600, times: 1, match: { method: "POST" } });
    const ref = await client.createTicket(ticket);
    expect(ref).toMatchObject({ externalId: "1001", action: "linked" });
    expect(sim.state.tickets.size).toBe(1);
  });

  it("does not duplicate a comment whose write timed out when the engine retries it", async () => {
    const { sim, client } = await startSimulator({ client: { timeoutMs: 300 } });
    const { externalId } = await client.createTicket(ticket);
    const comment = { canonicalId: "cmt_1", body: "Engineer dispatched.", visibility: "public" } as const;
    const since = new Date();
    sim.faults.push({ kind: "timeout", delayMs: 600, times: 1, match: { method: "PUT" } });

    const firstAttempt = await client
      .addComment(externalId, comment, { attempt: 1, since })
      .catch((error: unknown) => error);
    expect(firstAttempt).toBeInstanceOf(TransientHttpError);
    expect(firstAttempt).toMatchObject({ maybeProcessed: true, attempts: 1 });

    const retried = await client.addComment(externalId, comment, { attempt: 2, since });
    const written = sim.state.comments.filter((entry) => entry.body === "Engineer dispatched.");
    expect(written).toHaveLength(1);
    expect(retried.externalId).toBe(String(written[0]?.id));
  });
});

describe("simulator changed-since (incremental export)", () => {
  it("holds back the latest minute, pages with after_cursor and stops at end_of_stream", async () => {
    const clock = virtualClock();
    const { sim, client } = await startSimulator({
      simulator: { now: clock.now },
      client: { now: clock.now, sleep: clock.sleep },
    });
    const created = [0, 1, 2].map((index) => sim.simulateAgentCreate({ subject: `ticket ${index}` }));

    const early = await client.listChangedSince(null, 2);
    expect(early).toEqual({ items: [], nextCursor: "1970-01-01T00:00:00Z" });

    clock.advance(61_000);
    const collected = new Map<string, ChangedRecord>();
    let cursor: string | null = early.nextCursor;
    for (let poll = 0; poll < 6; poll++) {
      const page = await client.listChangedSince(cursor, 2);
      for (const item of page.items) collected.set(`${item.externalId}@${item.updatedAt}`, item);
      if (page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    expect([...collected.values()].map((item) => item.externalId)).toEqual(
      created.map((row) => String(row.id)),
    );
    expect(cursor).toMatch(/^cursor:/);

    sim.simulateAgentUpdate(created[0]!.id, { priority: "high" });
    expect((await client.listChangedSince(cursor, 10)).items).toEqual([]);
    clock.advance(61_000);
    expect((await client.listChangedSince(cursor, 10)).items).toEqual([
      { externalId: String(created[0]!.id), updatedAt: "2024-05-01T10:01:01Z" },
    ]);
    const incremental = sim.requests.filter((request) => request.path.includes("/incremental/"));
    expect(incremental.every((request) => request.status === 200)).toBe(true);
  });
});

describe("simulator webhooks", () => {
  it("posts a signed trigger body for an agent's edit, not for the integration user's writes", async () => {
    const receiver = await startReceiver();
    const { sim, client } = await startSimulator({
      simulator: { webhook: { url: receiver.url, secret: webhookSecret, kind: "trigger" } },
    });
    const { externalId } = await client.createTicket(ticket);
    await client.updateTicket(externalId, { priority: "P2" });
    sim.simulateAgentUpdate(1001, { status: "open" });
    await sim.settled();

    expect(receiver.rejected).toEqual([]);
    expect(receiver.notices).toEqual([
      {
        externalId: "1001",
        deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/),
        operation: "update",
        actorId: String(simulatorUsers.agent.id),
      },
    ]);
  });

  it("posts ticket events for each change, with the actor that made it", async () => {
    const receiver = await startReceiver();
    const { sim, client } = await startSimulator({
      simulator: {
        webhook: { url: receiver.url, secret: webhookSecret, kind: "event", includeIntegrationUser: true },
      },
    });
    const { externalId } = await client.createTicket(ticket);
    sim.simulateAgentComment(1001, { body: "Any update?", public: true });
    sim.simulateAgentUpdate(1001, { priority: "urgent", status: "open" });
    await sim.settled();

    expect(receiver.rejected).toEqual([]);
    const types = sim.webhooks.delivered.map((delivery) => delivery.body["type"]).sort();
    expect(types).toEqual([
      "zen:event-type:ticket.comment_added",
      "zen:event-type:ticket.created",
      "zen:event-type:ticket.priority_changed",
      "zen:event-type:ticket.status_changed",
    ]);
    expect(receiver.notices.every((notice) => notice.externalId === externalId)).toBe(true);
    const own = receiver.notices.filter((notice) => isOwnChange(notice, settingsFor("http://unused")));
    expect(own.map((notice) => notice.operation)).toEqual(["insert"]);
    expect(new Set(receiver.notices.map((notice) => notice.deliveryId)).size).toBe(4);
  });

  it("drops deliveries on a drop-webhooks fault and is rejected with a wrong secret", async () => {
    const receiver = await startReceiver("another-signing-secret-value");
    const { sim, client } = await startSimulator({
      simulator: { webhook: { url: receiver.url, secret: webhookSecret, kind: "trigger" } },
    });
    await client.createTicket(ticket);
    sim.faults.push({ kind: "drop-webhooks", times: 1 });
    sim.simulateAgentUpdate(1001, { priority: "low" });
    sim.simulateAgentUpdate(1001, { priority: "high" });
    await sim.settled();
    expect(sim.webhooks.dropped).toHaveLength(1);
    expect(sim.webhooks.delivered.map((delivery) => delivery.status)).toEqual([401]);
    expect(receiver.rejected).toEqual(["signature does not match"]);
    expect(receiver.notices).toEqual([]);
  });
});
