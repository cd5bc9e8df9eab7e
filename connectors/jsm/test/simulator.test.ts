import { createHash } from "node:crypto";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { ChangedRecord, OutboundTicket } from "../../sdk/index.js";
import { TransientHttpError } from "../../sdk/index.js";
import { loopbackServers } from "../../sdk/testing/loopback.js";
import { createJsmClient, TransitionNotAvailableError } from "../client.js";
import { JsmSettings } from "../config.js";
import { jsm } from "../index.js";
import { jsmMappingContext } from "../mapping.js";
import { createJsmSimulator, type JsmSimulatorOptions, simulatorUsers } from "../simulator.js";
import { isOwnChange, type JsmInboundNotice } from "../webhook.js";

const webhookSecret = "whsec-jira-simulator-0123456789";
const loopback = loopbackServers();
const listen = loopback.listen;

afterEach(async () => {
  await loopback.closeAll();
});

function settingsFor(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return JsmSettings.parse({
    baseUrl,
    auth: { type: "basic", username: "svc.ticketsync@example.com", password: "simulator-api-token" },
    serviceDeskId: "1",
    requestTypeId: "10",
    projectKey: "HELP",
    correlationFieldId: "customfield_10050",
    integrationAccountId: "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
    webhookSecret,
    ...overrides,
  });
}

/** A gateway stand-in that verifies and parses deliveries with the connector, as the webhook route does. */
async function startReceiver() {
  const notices: JsmInboundNotice[] = [];
  const rejected: string[] = [];
  const receiver = new Hono();
  receiver.post("/webhooks/jsm", async (c) => {
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const verdict = jsm.verifyWebhook(
      { headers: c.req.raw.headers, rawBody },
      settingsFor("http://unused"),
      new Date(),
    );
    if (!verdict.ok) {
      rejected.push(verdict.reason);
      return c.json(verdict, 401);
    }
    notices.push(...(jsm.parseWebhook(rawBody, c.req.raw.headers) as JsmInboundNotice[]));
    return c.body(null, 202);
  });
  const url = await listen(receiver.fetch);
  return { url: `${url}/webhooks/jsm`, notices, rejected };
}

async function startSimulator(
  options: JsmSimulatorOptions = {},
  clientOptions: { timeoutMs?: number; settings?: Record<string, unknown>; now?: () => Date } = {},
) {
  const sim = createJsmSimulator(options);
  const url = await listen(sim.app.fetch);
  sim.setSiteUrl(url);
  const settings = settingsFor(url, clientOptions.settings);
  const client = createJsmClient(settings, {
    mapping: jsmMappingContext(settings),
    timeoutMs: clientOptions.timeoutMs ?? 2_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 1_500 },
    ...(clientOptions.now === undefined ? {} : { now: clientOptions.now }),
  });
  return { sim, url, client };
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since 09:00\n\n- AP 12\n- AP 14",
  priority: "P2",
  status: "new",
  requester: null,
  category: null,
  affectedService: null,
};
const asIssues = { createAs: "issue", issueTypeName: "Task" };

describe("JSM simulator driven by the real client over HTTP", () => {
  it("creates a customer request, reads it back and links instead of duplicating", async () => {
    const { sim, client } = await startSimulator();
    const created = await client.createTicket(ticket);
    expect(created).toMatchObject({ externalId: "10001", externalKey: "HELP-1", action: "created" });
    const issue = sim.issue("HELP-1");
    expect(issue).toMatchObject({
      issueType: "Service Request",
      requestTypeId: "10",
      priority: "High",
      status: "Open",
      custom: { customfield_10050: ticket.canonicalId },
    });

    const external = await client.getTicket(created.externalId);
    expect(external).toMatchObject({
      title: ticket.title,
      description: ticket.description,
      status: "Open",
      canonicalStatus: "new",
      priority: "High",
      canonicalPriority: "P2",
      correlationId: ticket.canonicalId,
      requester: null,
      updatedBy: sim.integrationAccount.accountId,
      comments: [],
    });

    expect(await client.createTicket(ticket)).toMatchObject({
      externalId: created.externalId,
      action: "linked",
    });
    expect(sim.state.issues.size).toBe(1);
  });

  it("moves an issue through the workflow by target status, with resolution and note", async () => {
    const { sim, client } = await startSimulator({}, { settings: asIssues });
    const { externalId } = await client.createTicket({ ...ticket, status: "pending_customer" });
    expect(sim.issue(externalId)).toMatchObject({ issueType: "Task", status: "Waiting for customer" });

    await client.updateTicket(externalId, {
      status: "resolved",
      resolutionNote: "Replaced the access point",
    });
    expect(sim.issue(externalId)).toMatchObject({ status: "Resolved", resolution: "Done" });
    await client.updateTicket(externalId, {
      status: "resolved",
      resolutionNote: "Replaced the access point",
    });
    expect(sim.issue(externalId).comments.map((comment) => comment.public)).toEqual([true]);

    const unreachable = await client
      .updateTicket(externalId, { status: "cancelled" })
      .catch((error: unknown) => error);
    expect(unreachable).toBeInstanceOf(TransitionNotAvailableError);
    expect(String(unreachable)).toContain("available: Close -> Closed, Reopen -> In Progress");

    await client.updateTicket(externalId, { status: "in_progress" });
    expect(sim.issue(externalId)).toMatchObject({ status: "In Progress", resolution: null });
    expect((await client.getTicket(externalId)).canonicalStatus).toBe("in_progress");
  });

  it("keeps comment visibility exact both ways and reads agents' comments back", async () => {
    const { sim, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    const since = new Date();
    const publicOne = await client.addComment(
      externalId,
      { canonicalId: "cmt_1", body: "We replaced **AP 12**.", visibility: "public", authorName: "Dana Ops" },
      { attempt: 1, since },
    );
    const internalOne = await client.addComment(
      externalId,
      { canonicalId: "cmt_2", body: "Carrier ticket C-77 open", visibility: "internal" },
      { attempt: 1, since },
    );
    sim.simulateAgentComment(externalId, { body: "Thanks, checking with the store", public: true });
    sim.simulateAgentComment(externalId, { body: "Store manager is on leave", public: false });

    expect(sim.issue(externalId).comments.map((comment) => [comment.id, comment.public])).toEqual([
      [publicOne.externalId, true],
      [internalOne.externalId, false],
      [expect.any(String), true],
      [expect.any(String), false],
    ]);
    const read = await client.getTicket(externalId);
    expect(read.comments.map(({ body, visibility, author }) => ({ body, visibility, author }))).toEqual([
      {
        body: "On behalf of Dana Ops:\n\nWe replaced **AP 12**.",
        visibility: "public",
        author: sim.integrationAccount.accountId,
      },
      { body: "Carrier ticket C-77 open", visibility: "internal", author: sim.integrationAccount.accountId },
      {
        body: "Thanks, checking with the store",
        visibility: "public",
        author: simulatorUsers.agent.accountId,
      },
      { body: "Store manager is on leave", visibility: "internal", author: simulatorUsers.agent.accountId },
    ]);
  });

  it("uploads attachments: JSM temporary file then attach, or the platform endpoint; metadata reads back", async () => {
    const bytes = new TextEncoder().encode("line 1\nline 2\n");
    const open = () => new Blob([bytes]).stream();
    const request = await startSimulator();
    const { externalId } = await request.client.createTicket(ticket);
    const viaServiceDesk = await request.client.uploadAttachment(externalId, {
      fileName: "router.log",
      contentType: "text/plain",
      visibility: "internal",
      open,
    });
    const exchange = request.sim.exchanges.find((candidate) =>
      candidate.path.endsWith("/attachTemporaryFile"),
    );
    expect(exchange?.headers).toMatchObject({
      "x-atlassian-token": "no-check",
      "x-experimentalapi": "opt-in",
    });
    expect(
      request.sim.exchanges.find((candidate) => candidate.path.endsWith("/attachment"))?.body,
    ).toMatchObject({
      public: false,
    });
    const stored = request.sim.issue(externalId).attachments[0]!;
    expect(Buffer.from(stored.bytes).toString()).toBe("line 1\nline 2\n");
    expect(viaServiceDesk).toEqual({
      externalId: stored.id,
      fileName: "router.log",
      contentType: "text/plain",
      sizeBytes: 14,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      createdAt: expect.any(String),
    });
    expect((await request.client.getTicket(externalId)).attachments).toEqual([
      expect.objectContaining({
        externalId: stored.id,
        fileName: "router.log",
        sizeBytes: 14,
        contentType: "text/plain",
      }),
    ]);

    const issue = await startSimulator({}, { settings: asIssues });
    const created = await issue.client.createTicket(ticket);
    const viaPlatform = await issue.client.uploadAttachment(created.externalId, {
      fileName: "photo.png",
      contentType: "image/png",
      visibility: "public",
      open,
    });
    expect(viaPlatform.externalId).toBe(issue.sim.issue(created.externalId).attachments[0]!.id);
    expect(await issue.client.listAttachments(created.externalId)).toHaveLength(1);
  });

  it("lists, opens (streamed, size-capped) and puts attachments through the SDK methods", async () => {
    const bytes = new TextEncoder().encode("0123456789".repeat(100));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const { sim, client } = await startSimulator({}, { settings: { maxAttachmentBytes: 2_000 } });
    const { externalId } = await client.createTicket(ticket);
    const put = await client.putAttachment(
      externalId,
      { fileName: "dump.txt", contentType: "text/plain", sizeBytes: null, body: new Blob([bytes]).stream() },
      { maxBytes: 5_000, visibility: "public" },
    );
    const stored = sim.issue(externalId).attachments[0]!;
    expect(put).toEqual({ externalId: stored.id, sha256, sizeBytes: 1_000 });
    expect(await client.listAttachments(externalId)).toEqual([
      expect.objectContaining({ externalId: stored.id, fileName: "dump.txt", sizeBytes: 1_000 }),
    ]);
    const opened = await client.openAttachment(externalId, stored.id, { maxBytes: 5_000 });
    expect(opened).toMatchObject({ fileName: "dump.txt", contentType: "text/plain", sizeBytes: 1_000 });
    const read = new Uint8Array(await new Response(opened.body).arrayBuffer());
    expect(createHash("sha256").update(read).digest("hex")).toBe(sha256);
    expect(
      sim.exchanges.find((exchange) => exchange.path === `/rest/api/3/attachment/content/${stored.id}`)
        ?.query,
    ).toEqual({ redirect: "false" });
    // Over the cap: a permanent error, before any byte moves.
    await expect(client.openAttachment(externalId, stored.id, { maxBytes: 999 })).rejects.toMatchObject({
      retryable: false,
    });
    const uploads = sim.exchanges.length;
    await expect(
      client.putAttachment(
        externalId,
        { fileName: "big.bin", contentType: null, sizeBytes: null, body: new Blob([bytes]).stream() },
        { maxBytes: 999, visibility: "public" },
      ),
    ).rejects.toMatchObject({ retryable: false });
    expect(sim.issue(externalId).attachments).toHaveLength(1);
    expect(sim.exchanges.slice(uploads).some((exchange) => exchange.status < 300)).toBe(false);
  });

  it("refuses wrong credentials", async () => {
    const { url } = await startSimulator();
    const settings = settingsFor(url, {
      auth: { type: "basic", username: "svc.ticketsync@example.com", password: "wrong" },
    });
    const result = await createJsmClient(settings, { mapping: jsmMappingContext(settings) }).testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("401");
  });

  it("answers mistakes the real site rejects with Jira's error bodies", async () => {
    const { sim, url, client } = await startSimulator();
    const { externalId } = await client.createTicket(ticket);
    const auth = {
      authorization: `Basic ${Buffer.from("svc.ticketsync@example.com:simulator-api-token").toString("base64")}`,
    };
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method: path.includes("/issue/") && path.endsWith(externalId) ? "PUT" : "POST",
        headers: { ...auth, "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const cases = [
      [await post("/rest/api/3/search/jql", { jql: "ORDER BY updated" }), 400, "Unbounded JQL"],
      [
        await post("/rest/api/3/search/jql", { jql: "project = HELP AND colour = red" }),
        400,
        "Field 'colour' does not exist",
      ],
      [
        await post(`/rest/api/3/issue/${externalId}`, { fields: { status: { name: "Closed" } } }),
        400,
        "Field 'status' cannot be set",
      ],
      [
        await post("/rest/servicedeskapi/request", {
          serviceDeskId: "1",
          requestTypeId: "10",
          requestFieldValues: { summary: "x", customfield_10050: "tkt_1" },
        }),
        400,
        "not valid for this request type",
      ],
      [
        await post(`/rest/api/3/issue/${externalId}/transitions`, { transition: { id: "61" } }),
        400,
        "not valid for this issue",
      ],
      [await post(`/rest/servicedeskapi/request/${externalId}/comment`, { body: "x" }), 400, "public"],
    ] as const;
    for (const [response, status, message] of cases) {
      const text = await response.text();
      expect(response.status, text).toBe(status);
      expect(text).toContain(message);
    }
    expect(sim.issue(externalId).status).toBe("Open");
  });
});

describe("simulator webhooks, verified with verifyWebhook", () => {
  it("signs every change, the integration account's too, with changelog and comment events", async () => {
    const receiver = await startReceiver();
    const { sim, client } = await startSimulator({ webhook: { url: receiver.url, secret: webhookSecret } });
    const { externalId } = await client.createTicket(ticket);
    sim.simulateAgentUpdate(externalId, { priority: "Highest", summary: "Wifi down on floor 3" });
    const comment = sim.simulateAgentComment(externalId, { body: "Any news?", public: true });
    sim.simulateCommentEdit(externalId, comment.id, "Any news? It is urgent");
    sim.simulateCommentDelete(externalId, comment.id);
    await sim.settled();

    expect(receiver.rejected).toEqual([]);
    const settings = settingsFor("http://unused");
    const summary = receiver.notices.map((notice) => ({
      kind: notice.kind,
      own: isOwnChange(notice, settings),
      changed: notice.changedFields ?? [],
      comment: notice.commentId ?? null,
    }));
    expect(summary).toEqual([
      { kind: "issue_created", own: true, changed: [], comment: null },
      {
        kind: "issue_updated",
        own: true,
        changed: ["customfield_10050", "priority"],
        comment: null,
      },
      { kind: "issue_updated", own: false, changed: ["summary", "priority"], comment: null },
      { kind: "comment_created", own: false, changed: [], comment: comment.id },
      { kind: "comment_updated", own: false, changed: [], comment: comment.id },
      { kind: "comment_deleted", own: false, changed: [], comment: comment.id },
    ]);
    expect(new Set(receiver.notices.map((notice) => notice.deliveryId)).size).toBe(6);
    expect(receiver.notices.every((notice) => notice.externalId === externalId)).toBe(true);
  });

  it("can leave out the integration account's changes, drops on a fault, and is refused with a wrong secret", async () => {
    const receiver = await startReceiver();
    const { sim, client } = await startSimulator({
      webhook: {
        url: receiver.url,
        secret: "not-the-configured-secret-0123",
        includeIntegrationAccount: false,
      },
    });
    const { externalId } = await client.createTicket(ticket);
    sim.faults.push({ kind: "drop-webhooks", times: 1 });
    sim.simulateAgentTransition(externalId, "In Progress");
    sim.simulateAgentTransition(externalId, "Pending");
    await sim.settled();
    expect(sim.webhooks.dropped.map((delivery) => delivery.event)).toEqual(["jira:issue_updated"]);
    expect(sim.webhooks.delivered.map((delivery) => delivery.status)).toEqual([401]);
    expect(receiver.rejected).toEqual(["signature does not match"]);
    expect(receiver.notices).toEqual([]);
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
      match: { method: "GET", pathIncludes: `/issue/${externalId}` },
    });
    expect((await client.getTicket(externalId)).externalId).toBe(externalId);
    expect(sim.exchanges.filter((exchange) => exchange.status === 503)).toHaveLength(2);
    expect(sim.faults).toEqual([]);
  });

  it("honours Retry-After on an injected 429", async () => {
    const { sim, client } = await startSimulator();
    sim.faults.push({ kind: "status", status: 429, retryAfterSeconds: 1, times: 1 });
    const started = performance.now();
    await client.listChangedSince(null, 10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it("pauses when the site reports the rate limit exhausted", async () => {
    const { sim, client } = await startSimulator();
    sim.faults.push({
      kind: "rate-limit-exhausted",
      resetAfterMs: 400,
      times: 1,
      match: { pathIncludes: "/search/jql" },
    });
    await client.listChangedSince(null, 10);
    const started = performance.now();
    await client.testConnection();
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
  });

  it("links the issue when a create times out after the site applied it", async () => {
    const { sim, client } = await startSimulator({}, { timeoutMs: 300, settings: asIssues });
    sim.faults.push({
      kind: "timeout",
      delayMs: 600,
      times: 1,
      match: { method: "POST", pathIncludes: "/rest/api/3/issue" },
    });
    const ref = await client.createTicket(ticket);
    expect(ref.action).toBe("linked");
    expect(sim.state.issues.size).toBe(1);
  });

  it("adopts the request a timed-out create left without our id", async () => {
    const { sim, client } = await startSimulator({}, { timeoutMs: 300 });
    sim.faults.push({
      kind: "timeout",
      delayMs: 600,
      times: 1,
      match: { method: "POST", pathIncludes: "/servicedeskapi/request" },
    });
    const ref = await client.createTicket(ticket);
    expect(ref).toMatchObject({ externalId: "10001", action: "linked" });
    expect(sim.state.issues.size).toBe(1);
    expect(sim.issue("10001").custom["customfield_10050"]).toBe(ticket.canonicalId);
  });

  it("does not duplicate a comment whose write timed out when the engine retries it", async () => {
    const { sim, client } = await startSimulator({}, { timeoutMs: 300 });
    const { externalId } = await client.createTicket(ticket);
    const comment = { canonicalId: "cmt_1", body: "Engineer dispatched.", visibility: "public" } as const;
    const since = new Date();
    sim.faults.push({
      kind: "timeout",
      delayMs: 600,
      times: 1,
      match: { method: "POST", pathIncludes: "/comment" },
    });
    const first = await client
      .addComment(externalId, comment, { attempt: 1, since })
      .catch((error: unknown) => error);
    expect(first).toBeInstanceOf(TransientHttpError);
    expect(first).toMatchObject({ maybeProcessed: true, attempts: 1 });
    const retried = await client.addComment(externalId, comment, { attempt: 2, since });
    const comments = sim.issue(externalId).comments;
    expect(comments).toHaveLength(1);
    expect(retried.externalId).toBe(comments[0]!.id);
  });
});

describe("simulator changed-since", () => {
  async function pollAll(
    client: Awaited<ReturnType<typeof startSimulator>>["client"],
    start: string | null,
    limit: number,
  ) {
    const collected = new Map<string, ChangedRecord>();
    let cursor = start;
    for (let poll = 0; poll < 20; poll++) {
      const page = await client.listChangedSince(cursor, limit);
      for (const item of page.items) collected.set(`${item.externalId}@${item.updatedAt}`, item);
      if (page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    return { collected, cursor };
  }

  it("pages with nextPageToken and catches an update made right after a poll, for a user in Sydney", async () => {
    let clock = Date.parse("2024-05-01T10:00:00Z");
    const now = () => new Date(clock);
    const { sim, client } = await startSimulator(
      { now, integrationAccount: { timeZone: "Australia/Sydney" }, siteTimeZone: "Australia/Sydney" },
      { now },
    );
    // More than a search page (100), so one poll follows nextPageToken.
    const created = Array.from({ length: 130 }, (_, index) => {
      clock += 1_000;
      return sim.simulateAgentCreate({ summary: `request ${index}` });
    });
    clock += 5 * 60_000;
    const first = await pollAll(client, null, 120);
    expect(new Set([...first.collected.values()].map((item) => item.externalId))).toEqual(
      new Set(created.map((issue) => issue.id)),
    );
    expect(
      sim.exchanges.some((exchange) => String(JSON.stringify(exchange.body)).includes("nextPageToken")),
    ).toBe(true);

    // Ten seconds after the cursor, in the same JQL minute: only the minute overlap finds it.
    clock = Date.parse(first.cursor!.split("|")[0]!) + 10_000;
    sim.simulateAgentUpdate(created[2]!.id, { summary: "edited" });
    clock += 2 * 60_000;
    const next = await client.listChangedSince(first.cursor, 10);
    // The boundary instant is read again (inclusive); the caller de-duplicates on (id, updatedAt).
    const fresh = next.items.filter((item) => !first.collected.has(`${item.externalId}@${item.updatedAt}`));
    expect(fresh).toEqual([
      { externalId: created[2]!.id, updatedAt: new Date(clock - 2 * 60_000).toISOString() },
    ]);
  });

  it("does not lose an update in the hour a DST change repeats", async () => {
    // Berlin falls back at 01:00Z on 27 Oct 2024: 02:00-03:00 local happens twice. The simulator
    // reads an ambiguous literal as the later instant, so a naive literal would skip this update.
    let clock = Date.parse("2024-10-27T00:30:20Z");
    const now = () => new Date(clock);
    const { sim, client } = await startSimulator(
      { now, integrationAccount: { timeZone: "Europe/Berlin" } },
      { now, settings: { jqlTimeZone: "Europe/Berlin" } },
    );
    const issue = sim.simulateAgentCreate({ summary: "in the repeated hour" });
    clock = Date.parse("2024-10-27T02:00:00Z");
    // 00:29Z (the cursor less a minute) is the first 02:29 local; the literal steps back to 01:29.
    const page = await client.listChangedSince("2024-10-27T00:30:00Z", 10);
    expect(page.items.map((item) => item.externalId)).toEqual([issue.id]);
    const search = sim.exchanges.filter((exchange) => exchange.path === "/rest/api/3/search/jql").at(-1);
    expect((search!.body as { jql: string }).jql).toContain('updated >= "2024/10/27 01:29"');
  });
});
