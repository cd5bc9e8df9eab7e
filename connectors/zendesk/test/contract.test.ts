/**
 * Contract test against Zendesk's published oas.yaml: one scenario drives the real client through
 * every operation it uses, in-process against the simulator, then every request the client sent
 * and every response the simulator gave is validated with the contract validator.
 * simulator.test.ts (over real HTTP) and client.test.ts (msw) run the same checks on their traffic.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HttpError, type OutboundTicket } from "../../sdk/index.js";
import { createZendeskClient } from "../client.js";
import { ZendeskSettings } from "../config.js";
import { zendeskMappingContext } from "../mapping.js";
import { createZendeskSimulator, simulatorUsers, type ZendeskSimulator } from "../simulator.js";
import { fixture } from "./fixtures/index.js";
import { requestViolations, responseViolations, zendeskSpec } from "./spec.js";

const accountUrl = "https://simulator.zendesk.com";
const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since 09:00",
  priority: "P2",
  status: "acknowledged",
  requester: { name: "Dana Ops", email: "dana@example.com" },
  category: "network",
  affectedService: null,
};

/** The operations the client calls; each must be exercised below. */
const clientOperations = [
  "ListTickets",
  "CreateTicket",
  "ShowTicket",
  "UpdateTicket",
  "ListTicketComments",
  "ListAuditsForTicket",
  "ShowUser",
  "ShowCurrentUser",
  "IncrementalTicketExportCursor",
  "UploadFiles",
];

let sim: ZendeskSimulator;

beforeAll(async () => {
  let clockMs = Date.parse("2024-05-01T10:00:00Z");
  const now = () => new Date(clockMs);
  sim = createZendeskSimulator({ now, accountUrl });
  const settings = ZendeskSettings.parse({
    baseUrl: accountUrl,
    auth: { type: "basic", username: `${simulatorUsers.integration.email}/token`, password: sim.apiToken },
    integrationUserId: simulatorUsers.integration.id,
    fieldMapping: { category: 360001 },
  });
  const client = createZendeskClient(settings, {
    mapping: zendeskMappingContext(settings),
    fetch: (input, init) =>
      Promise.resolve(sim.app.request(input instanceof Request ? input : String(input), init)),
    now,
    retry: { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 5 },
  });

  await client.testConnection();
  const { externalId } = await client.createTicket(ticket);
  await client.createTicket(ticket);
  sim.faults.push({ kind: "conflict", times: 1 });
  await client.updateTicket(externalId, { status: "pending_customer", priority: "P1", category: "wifi" });
  const upload = await client.uploadAttachment(new Blob(["log line\n"]).stream(), {
    fileName: "ap.log",
    contentType: "text/plain",
  });
  const comment = {
    canonicalId: "cmt_1",
    body: "Log attached.",
    visibility: "public",
    authorName: "Dana Ops",
  } as const;
  await client.addComment(
    externalId,
    { ...comment, uploadTokens: [upload.token] },
    { attempt: 1, since: now() },
  );
  await client.addComment(externalId, comment, { attempt: 2, since: now() });
  sim.simulateAgentComment(Number(externalId), { body: "Thanks", public: true });
  await client.getTicket(externalId);
  clockMs += 61_000;
  await client.listChangedSince(null, 50);
  sim.simulateAgentUpdate(Number(externalId), { status: "closed", assignee_id: simulatorUsers.agent.id });
  await client.updateTicket(externalId, { status: "in_progress" });
  // Refusals and faults, for the error shapes.
  await client.getTicket("999999").catch((error: unknown) => expect(error).toBeInstanceOf(HttpError));
  sim.faults.push({ kind: "status", status: 429, retryAfterSeconds: 0, times: 1 });
  sim.faults.push({ kind: "status", status: 503, times: 1 });
  await client.testConnection();
  const refusal = await sim.app.request(`${accountUrl}/api/v2/tickets/1001`, {
    method: "PUT",
    headers: {
      authorization: `Basic ${Buffer.from(`${simulatorUsers.integration.email}/token:${sim.apiToken}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ ticket: { status: "open" } }),
  });
  expect(refusal.status).toBe(422);
  await sim.app.request(`${accountUrl}/api/v2/users/me`);
});

describe("contract with test/specs/zendesk/oas.yaml", () => {
  it("the scenario exercises every operation the client uses", () => {
    const spec = zendeskSpec();
    const exercised = new Set(
      sim.requests.map((request) => spec.findOperation(request.method, request.path)?.operation.operationId),
    );
    expect([...clientOperations].filter((operation) => !exercised.has(operation))).toEqual([]);
    expect(new Set(sim.requests.map((request) => request.status))).toEqual(
      new Set([200, 201, 401, 404, 409, 422, 429, 503]),
    );
  });

  it("every request the client sent validates", () => {
    const sent = sim.requests.filter((request) => request.userId !== null);
    const violations = requestViolations(sent);
    expect(violations, violations.join("\n")).toEqual([]);
  });

  it("every simulator response validates (error statuses, which the spec omits, as Zendesk's envelope)", () => {
    const violations = responseViolations(sim.requests);
    expect(violations, violations.join("\n")).toEqual([]);
  });

  it("the validator catches a response that contradicts the spec", () => {
    const bad = {
      ...(fixture("ticket-response")["ticket"] as object),
      status: "deleted",
      requester_id: undefined,
    };
    expect(
      responseViolations([
        { method: "GET", path: "/api/v2/tickets/35436", status: 200, responseBody: { ticket: bad } },
      ]),
    ).toEqual([expect.stringContaining("GET /api/v2/tickets/35436 200:")]);
    expect(
      requestViolations([
        { method: "PUT", path: "/api/v2/tickets/1", body: { ticket: { priority: "critical" } } },
      ]),
    ).toEqual([expect.stringContaining("priority")]);
  });

  it("excuses only the listed spec defects", () => {
    const withDefinitionFields = { ticket: { custom_fields: [{ id: 1, value: "x" }] } };
    expect(
      requestViolations([{ method: "PUT", path: "/api/v2/tickets/1", body: withDefinitionFields }]),
    ).toEqual([]);
    expect(
      requestViolations([
        { method: "PUT", path: "/api/v2/tickets/1", body: { ticket: { custom_fields: [{ id: "1" }] } } },
      ]),
    ).toEqual([expect.stringContaining("/ticket/custom_fields/0/id")]);
  });

  it("the spec's request examples validate, as a check on the validator's reading of the spec", () => {
    const violations = requestViolations([
      { method: "POST", path: "/api/v2/tickets", body: fixture("ticket-create-request") },
      { method: "PUT", path: "/api/v2/tickets/35436", body: fixture("ticket-update-request") },
    ]);
    expect(violations, violations.join("\n")).toEqual([]);
  });

  it("the spec's own examples used as msw fixtures validate", () => {
    const violations = responseViolations([
      { method: "GET", path: "/api/v2/tickets/35436", responseBody: fixture("ticket-response") },
      {
        method: "GET",
        path: "/api/v2/tickets/35436/comments",
        responseBody: fixture("ticket-comments-response"),
      },
      {
        method: "GET",
        path: "/api/v2/incremental/tickets/cursor",
        responseBody: fixture("incremental-tickets-cursor-response"),
      },
      { method: "GET", path: "/api/v2/tickets/35436/audits", responseBody: fixture("audits-response") },
      { method: "GET", path: "/api/v2/users/20978392", responseBody: fixture("user-response") },
      { method: "POST", path: "/api/v2/uploads", status: 201, responseBody: fixture("upload-response") },
    ]);
    expect(violations, violations.join("\n")).toEqual([]);
  });
});
