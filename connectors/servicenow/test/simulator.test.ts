import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { ChangedRecord, InboundNotice, OutboundTicket } from "../../sdk/index.js";
import { parseLinkHeader, TransientHttpError } from "../../sdk/index.js";
import { loopbackServers } from "../../sdk/testing/loopback.js";
import { createServiceNowClient } from "../client.js";
import { ServiceNowSettings } from "../config.js";
import { servicenow } from "../index.js";
import { createServiceNowSimulator, type ServiceNowSimulatorOptions, simulatorUsers } from "../simulator.js";
import { testMappingContext } from "./priority-stub.js";

const webhookSecret = "whsec-simulator-0123456789";
const loopback = loopbackServers();
const listen = loopback.listen;

afterEach(async () => {
  await loopback.closeAll();
});

/** A gateway stand-in that verifies and parses deliveries with the connector, as the webhook route will. */
async function startReceiver() {
  const notices: InboundNotice[] = [];
  const rejected: string[] = [];
  const receiver = new Hono();
  receiver.post("/webhooks/servicenow", async (c) => {
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const verdict = servicenow.verifyWebhook(
      { headers: c.req.raw.headers, rawBody },
      settingsFor("http://unused"),
      new Date(),
    );
    if (!verdict.ok) {
      rejected.push(verdict.reason);
      return c.json(verdict, 401);
    }
    notices.push(...servicenow.parseWebhook(rawBody, c.req.raw.headers));
    return c.body(null, 202);
  });
  const url = await listen(receiver.fetch);
  return { url: `${url}/webhooks/servicenow`, notices, rejected };
}

function settingsFor(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return ServiceNowSettings.parse({
    baseUrl,
    auth: { type: "basic", username: "svc.ticketsync", password: "simulator-password" },
    webhookSecret,
    ...overrides,
  });
}

async function startSimulator(
  options: ServiceNowSimulatorOptions = {},
  clientOptions: { timeoutMs?: number } = {},
) {
  const sim = createServiceNowSimulator(options);
  const url = await listen(sim.app.fetch);
  sim.setInstanceUrl(url);
  const client = createServiceNowClient(settingsFor(url), {
    mapping: testMappingContext,
    timeoutMs: clientOptions.timeoutMs ?? 2_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 1_500 },
  });
  return { sim, url, client };
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since 09:00",
  priority: "P3",
  status: "new",
  requester: null,
  category: null,
  affectedService: null,
};

describe("ServiceNow simulator driven by the real client over HTTP", () => {
  it("creates, reads and links instead of duplicating", async () => {
    const { sim, client } = await startSimulator();
    const created = await client.createTicket(ticket);
    expect(created).toMatchObject({ externalKey: "INC0010001", action: "created" });
    expect(created.externalId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    const external = await client.getTicket(created.externalId);
    expect(external).toMatchObject({
      title: ticket.title,
      description: ticket.description,
      status: "1",
      canonicalStatus: "new",
      priority: "3",
      canonicalPriority: "P3",
      correlationId: ticket.canonicalId,
      updatedBy: "svc.ticketsync",
      version: "0",
      comments: [],
    });

    const again = await client.createTicket(ticket);
    expect(again).toMatchObject({ externalId: created.externalId, action: "linked" });
    expect(sim.state.incidents.size).toBe(1);
  });

  it("updates status and priority the way the instance stores them", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);

    await client.updateTicket(externalId, { status: "pending_customer", priority: "P1" });
    expect(sim.state.incidents.get(externalId)).toMatchObject({
      state: "3",
      hold_reason: "1",
      priority: "1",
    });
    expect(await client.getTicket(externalId)).toMatchObject({
      canonicalStatus: "pending_customer",
      canonicalPriority: "P1",
    });

    await client.updateTicket(externalId, {
      status: "resolved",
      resolutionNote: "Replaced the access point",
    });
    const row = sim.state.incidents.get(externalId);
    expect(row).toMatchObject({
      state: "6",
      hold_reason: "",
      close_code: "Solution provided",
      close_notes: "Replaced the access point",
    });
    expect(row?.["resolved_at"]).not.toBe("");
    expect((await client.getTicket(externalId)).canonicalStatus).toBe("resolved");
  });

  it("round-trips comments through the journal; journal fields read back empty on the record", async () => {
    const { sim, client, url } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    const added = await client.addComment(
      externalId,
      { canonicalId: "cmt_1", body: "Access point replaced.", visibility: "public", authorName: "Dana Ops" },
      { attempt: 1, since: new Date() },
    );
    sim.simulateAgentUpdate(externalId, { work_notes: "Caller confirmed, closing soon." });

    const external = await client.getTicket(externalId);
    expect(
      external.comments.map(({ externalId: id, body, visibility, author }) => ({
        id,
        body,
        visibility,
        author,
      })),
    ).toEqual([
      {
        id: added.externalId,
        body: "[Dana Ops] Access point replaced.",
        visibility: "public",
        author: "svc.ticketsync",
      },
      {
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        body: "Caller confirmed, closing soon.",
        visibility: "internal",
        author: simulatorUsers.agent.user_name,
      },
    ]);

    const raw = await fetch(
      `${url}/api/now/table/incident/${externalId}?sysparm_fields=comments,work_notes,sys_mod_count`,
      {
        headers: {
          authorization: `Basic ${Buffer.from("svc.ticketsync:simulator-password").toString("base64")}`,
        },
      },
    );
    expect(await raw.json()).toEqual({ result: { comments: "", work_notes: "", sys_mod_count: "2" } });
  });

  it("rejects a resolve without resolution fields, like the baseline data policy", async () => {
    const { sim } = await startSimulator();
    const row = sim.simulateAgentInsert({ short_description: "x" });
    expect(() => sim.simulateAgentUpdate(row["sys_id"]!, { state: "6" })).toThrow("Resolution code");
  });

  it("answers unsupported queries with 400 instead of ignoring them", async () => {
    const { url } = await startSimulator();
    const response = await fetch(`${url}/api/now/table/incident?sysparm_query=corelation_id=tkt_1`, {
      headers: {
        authorization: `Basic ${Buffer.from("svc.ticketsync:simulator-password").toString("base64")}`,
      },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("unknown field corelation_id");
  });

  it("refuses wrong credentials", async () => {
    const { url } = await startSimulator();
    const client = createServiceNowClient(
      settingsFor(url, { auth: { type: "basic", username: "svc.ticketsync", password: "wrong" } }),
      {
        mapping: testMappingContext,
      },
    );
    const result = await client.testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("401");
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
      match: { method: "GET", pathIncludes: externalId },
    });
    const external = await client.getTicket(externalId);
    expect(external.externalId).toBe(externalId);
    const reads = sim.requests.filter(
      (request) => request.method === "GET" && request.path.endsWith(externalId),
    );
    expect(reads).toHaveLength(3);
    expect(sim.faults).toHaveLength(0);
  });

  it("honours Retry-After on an injected 429", async () => {
    const { sim, client } = await startSimulator();
    sim.faults.push({ kind: "status", status: 429, retryAfterSeconds: 1, times: 1 });
    const started = performance.now();
    await client.listChangedSince(null, 10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it("links the incident when a create times out after the instance applied it", async () => {
    const { sim, client } = await startSimulator({}, { timeoutMs: 300 });
    sim.faults.push({ kind: "timeout", delayMs: 600, times: 1, match: { method: "POST" } });
    const ref = await client.createTicket(ticket);
    expect(ref.action).toBe("linked");
    expect(sim.state.incidents.size).toBe(1);
    expect(sim.requests.filter((request) => request.method === "POST")).toHaveLength(1);
  });

  it("does not duplicate a comment whose write timed out when the engine retries it", async () => {
    const { sim, client } = await startSimulator({}, { timeoutMs: 300 });
    const { externalId } = await client.createTicket(ticket);
    const comment = { canonicalId: "cmt_1", body: "Engineer dispatched.", visibility: "public" } as const;
    const since = new Date();
    sim.faults.push({ kind: "timeout", delayMs: 600, times: 1, match: { method: "PATCH" } });

    const firstAttempt = await client
      .addComment(externalId, comment, { attempt: 1, since })
      .catch((error: unknown) => error);
    expect(firstAttempt).toBeInstanceOf(TransientHttpError);
    expect(firstAttempt).toMatchObject({ maybeProcessed: true, attempts: 1 });

    const retried = await client.addComment(externalId, comment, { attempt: 2, since });
    const entries = sim.state.journal.filter((entry) => entry["element_id"] === externalId);
    expect(entries.map((entry) => entry["value"])).toEqual(["Engineer dispatched."]);
    expect(retried.externalId).toBe(entries[0]?.["sys_id"]);
  });
});

describe("simulator changed-since", () => {
  it("pages through a crowded second and catches a same-second update after the read", async () => {
    let clock = Date.parse("2024-05-01T10:00:00Z");
    const { sim, client } = await startSimulator({ now: () => new Date(clock) });
    const inserted = Array.from({ length: 5 }, (_, index) =>
      sim.simulateAgentInsert({ short_description: `incident ${index}` }),
    );
    clock += 3_000;
    const later = sim.simulateAgentInsert({ short_description: "later" });

    const collected = new Map<string, ChangedRecord>();
    let cursor: string | null = null;
    for (let poll = 0; poll < 10; poll++) {
      const page = await client.listChangedSince(cursor, 2);
      for (const item of page.items) collected.set(`${item.externalId}@${item.updatedAt}`, item);
      if (page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    expect(new Set([...collected.values()].map((item) => item.externalId))).toEqual(
      new Set([...inserted, later].map((row) => row["sys_id"])),
    );

    // Same second as the cursor: only an inclusive boundary finds it.
    sim.simulateAgentUpdate(inserted[0]!["sys_id"]!, { description: "edited" });
    const next = await client.listChangedSince(cursor, 10);
    expect(next.items).toContainEqual({
      externalId: inserted[0]!["sys_id"],
      updatedAt: "2024-05-01T10:00:03Z",
    });
  });

  it("pages with sysparm_offset and a Link header", async () => {
    const { sim, url } = await startSimulator();
    for (let index = 0; index < 3; index++)
      sim.simulateAgentInsert({ short_description: `incident ${index}` });
    const response = await fetch(
      `${url}/api/now/table/incident?sysparm_limit=2&sysparm_offset=0&sysparm_fields=number`,
      {
        headers: {
          authorization: `Basic ${Buffer.from("svc.ticketsync:simulator-password").toString("base64")}`,
        },
      },
    );
    expect(response.headers.get("x-total-count")).toBe("3");
    const next = new URL(parseLinkHeader(response.headers.get("link"))["next"] ?? "http://missing");
    expect(Object.fromEntries(next.searchParams)).toEqual({
      sysparm_limit: "2",
      sysparm_offset: "2",
      sysparm_fields: "number",
    });
    expect(await response.json()).toEqual({ result: [{ number: "INC0010001" }, { number: "INC0010002" }] });
  });
});

describe("simulator webhooks", () => {
  it("posts a verifiable notice for an agent's edit, not for the integration user's own writes", async () => {
    const receiver = await startReceiver();
    const { sim, client } = await startSimulator({ webhook: { url: receiver.url, secret: webhookSecret } });
    const { externalId } = await client.createTicket(ticket);
    await client.updateTicket(externalId, { priority: "P2" });
    sim.simulateAgentUpdate(externalId, { comments: "Any update?" });
    await sim.settled();

    expect(receiver.rejected).toEqual([]);
    expect(receiver.notices).toEqual([
      { externalId, deliveryId: `${externalId}:2`, occurredAt: expect.any(String), operation: "update" },
    ]);
    expect(sim.webhooks.delivered.map((delivery) => delivery.status)).toEqual([202]);
  });

  it("notifies the integration user's writes too when the rule has no condition", async () => {
    const receiver = await startReceiver();
    const { sim, client } = await startSimulator({
      webhook: { url: receiver.url, secret: webhookSecret, includeIntegrationUser: true },
    });
    const { externalId } = await client.createTicket(ticket);
    await sim.settled();
    expect(receiver.notices.map((notice) => [notice.externalId, notice.operation])).toEqual([
      [externalId, "insert"],
    ]);
  });

  it("drops deliveries on a drop-webhooks fault and is rejected with a wrong secret", async () => {
    const receiver = await startReceiver();
    const { sim } = await startSimulator({
      webhook: { url: receiver.url, secret: "not-the-configured-secret" },
    });
    sim.faults.push({ kind: "drop-webhooks", times: 1 });
    const row = sim.simulateAgentInsert({ short_description: "first" });
    sim.simulateAgentUpdate(row["sys_id"]!, { short_description: "second" });
    await sim.settled();
    expect(sim.webhooks.dropped.map((payload) => payload.operation)).toEqual(["insert"]);
    expect(sim.webhooks.delivered.map((delivery) => delivery.status)).toEqual([401]);
    expect(receiver.rejected).toEqual(["secret does not match"]);
    expect(receiver.notices).toEqual([]);
  });
});
