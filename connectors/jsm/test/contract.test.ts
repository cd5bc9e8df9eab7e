import type { Server } from "node:http";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ContractResult,
  createContractValidator,
  loadSpec,
  specsDir,
} from "../../sdk/contract/index.js";
import type { OutboundTicket } from "../../sdk/index.js";
import { createJsmClient } from "../client.js";
import { JsmSettings } from "../config.js";
import { jsmMappingContext } from "../mapping.js";
import { createJsmSimulator, type JsmSimulator, type RecordedExchange } from "../simulator.js";

// Every request the client sends and every response the simulator gives, checked against
// Atlassian's official OpenAPI descriptions: the platform API for /rest/api/3, the servicedesk
// API for /rest/servicedeskapi. A client or simulator drifting from Jira fails here.

const jira = createContractValidator(loadSpec(join(specsDir, "jira/jira-cloud-platform-v3.openapi.json")));
const serviceDesk = createContractValidator(
  loadSpec(join(specsDir, "jsm/jsm-cloud-servicedeskapi.openapi.json")),
);
const validatorFor = (path: string) => (path.startsWith("/rest/servicedeskapi/") ? serviceDesk : jira);

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start(settingsOverrides: Record<string, unknown>) {
  const sim = createJsmSimulator();
  const url = await new Promise<string>((resolve) => {
    const server = serve({ fetch: sim.app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
    servers.push(server as Server);
  });
  sim.setSiteUrl(url);
  const settings = JsmSettings.parse({
    baseUrl: url,
    auth: {
      type: "basic",
      username: sim.integrationAccount.emailAddress,
      password: sim.integrationAccount.apiToken,
    },
    serviceDeskId: "1",
    requestTypeId: "10",
    projectKey: "HELP",
    correlationFieldId: "customfield_10050",
    integrationAccountId: sim.integrationAccount.accountId,
    ...settingsOverrides,
  });
  const client = createJsmClient(settings, {
    mapping: jsmMappingContext(settings),
    timeoutMs: 2_000,
    retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 50 },
  });
  return { sim, url, client };
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Order entry fails",
  description: "Since 09:00\n\n- store 12\n- see [runbook](https://wiki.example.com/rb)",
  priority: "P2",
  status: "new",
  requester: null,
  category: null,
  affectedService: null,
};

/** Drives every call the connector makes, the error paths included. */
async function exercise(sim: JsmSimulator, url: string, client: Awaited<ReturnType<typeof start>>["client"]) {
  expect((await client.testConnection()).ok).toBe(true);
  const { externalId } = await client.createTicket(ticket);
  await client.createTicket(ticket);
  await client.updateTicket(externalId, { title: "Order entry fails in all stores", priority: "P1" });
  await client.updateTicket(externalId, { status: "pending_customer" });
  const since = new Date();
  await client.addComment(
    externalId,
    { canonicalId: "c1", body: "Checking **now**", visibility: "public" },
    { attempt: 1, since },
  );
  await client.addComment(
    externalId,
    { canonicalId: "c2", body: "Carrier C-77", visibility: "internal" },
    { attempt: 1, since },
  );
  await client.addComment(
    externalId,
    { canonicalId: "c2", body: "Carrier C-77", visibility: "internal" },
    { attempt: 2, since },
  );
  sim.simulateAgentComment(externalId, { body: "Thanks", public: true });
  await client.updateTicket(externalId, { status: "resolved", resolutionNote: "Fixed upstream" });
  await client.uploadAttachment(externalId, {
    fileName: "trace.txt",
    contentType: "text/plain",
    visibility: "public",
    open: () => new Blob(["trace"]).stream(),
  });
  const worklog = {
    canonicalId: "wlg_01",
    startedAt: "2026-03-02T09:30:00Z",
    durationSeconds: 5400,
    author: "Dana Field",
    comment: "Replaced the **power supply**",
  };
  await client.addWorklog(externalId, worklog, { attempt: 1, since });
  await client.addWorklog(externalId, worklog, { attempt: 2, since });
  sim.simulateAgentWorklog(externalId, { started: new Date(), timeSpentSeconds: 600, comment: "Line check" });
  expect(await client.listWorklogs(externalId)).toHaveLength(2);
  await client.getTicket(externalId);
  for (let index = 0; index < 105; index++) sim.simulateAgentCreate({ summary: `agent request ${index}` });
  await client.listChangedSince(null, 104);
  await client.listChangedSince("2020-01-01T00:00:00Z", 5);
  // Error paths: a missing issue, an unreachable status, and the servicedesk comment list.
  await client.getTicket("HELP-999").catch(() => undefined);
  await client.updateTicket(externalId, { status: "cancelled" }).catch(() => undefined);
  const auth = `Basic ${Buffer.from(`${sim.integrationAccount.emailAddress}:${sim.integrationAccount.apiToken}`).toString("base64")}`;
  await fetch(`${url}/rest/servicedeskapi/request/${externalId}/comment?public=true&internal=true`, {
    headers: { authorization: auth },
  });
  await fetch(`${url}/rest/servicedeskapi/request/${externalId}/comment`, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify({ body: "no public flag" }),
  });
  await fetch(`${url}/rest/api/3/myself`, { headers: { authorization: "Basic d3Jvbmc6d3Jvbmc=" } });
}

function problems(
  label: string,
  result: ContractResult,
  exchange: RecordedExchange,
  side: "request" | "response",
) {
  if (result.ok) return [];
  return [
    `${side} ${exchange.method} ${exchange.path} ${side === "response" ? exchange.status : ""} (${label}): ${result.errors
      .map((error) => `${error.path || "(body)"} ${error.message}`)
      .join(
        "; ",
      )}\n  body: ${JSON.stringify(side === "request" ? exchange.body : exchange.responseBody).slice(0, 600)}`,
  ];
}

function check(exchange: RecordedExchange): string[] {
  const validator = validatorFor(exchange.path);
  const found: string[] = [];
  if (exchange.accountId !== null) {
    found.push(
      ...problems(
        "spec",
        validator.validateRequest({
          method: exchange.method,
          path: exchange.path,
          ...(exchange.contentType === null ? {} : { contentType: exchange.contentType }),
          body: exchange.body,
        }),
        exchange,
        "request",
      ),
    );
  }
  // Injected faults answer with statuses the spec does not list (429, 503 pages); they are the edge's, not Jira's API's.
  if (exchange.faulted) return found;
  const response = validator.validateResponse({
    method: exchange.method,
    path: exchange.path,
    status: exchange.status,
    ...(exchange.responseBody === undefined ? {} : { contentType: "application/json" }),
    body: exchange.responseBody,
  });
  // The platform spec documents most error statuses without a body; Jira sends an ErrorCollection.
  const bodylessError =
    !response.ok &&
    exchange.status >= 400 &&
    response.errors.every((error) => error.message.includes("but one was returned"));
  if (bodylessError)
    found.push(
      ...problems(
        "ErrorCollection",
        jira.validateSchema("ErrorCollection", exchange.responseBody),
        exchange,
        "response",
      ),
    );
  else found.push(...problems("spec", response, exchange, "response"));
  return found;
}

describe.each([
  ["customer requests", {}],
  ["plain issues", { createAs: "issue", issueTypeName: "Task" }],
])("contract with the official Jira and JSM specs: %s", (_mode, settings) => {
  it("every request sent and every response returned validates", async () => {
    const { sim, url, client } = await start(settings);
    await exercise(sim, url, client);
    const found = sim.exchanges.flatMap(check);
    expect(found, found.join("\n")).toEqual([]);

    // The scenario must keep covering what the connector calls; a silently skipped call fails here.
    const operations = new Set(
      sim.exchanges.map(
        (exchange) =>
          `${exchange.method} ${validatorFor(exchange.path).findOperation(exchange.method, exchange.path)?.operation.pathTemplate ?? exchange.path} ${exchange.status}`,
      ),
    );
    const expected = [
      "GET /rest/api/3/myself 200",
      "GET /rest/api/3/myself 401",
      "GET /rest/api/3/field 200",
      "POST /rest/api/3/search/jql 200",
      "PUT /rest/api/3/issue/{issueIdOrKey} 204",
      "GET /rest/api/3/issue/{issueIdOrKey} 200",
      "GET /rest/api/3/issue/{issueIdOrKey} 404",
      "GET /rest/api/3/issue/{issueIdOrKey}/transitions 200",
      "POST /rest/api/3/issue/{issueIdOrKey}/transitions 204",
      "GET /rest/api/3/issue/{issueIdOrKey}/comment 200",
      "GET /rest/api/3/issue/{issueIdOrKey}/worklog 200",
      "POST /rest/api/3/issue/{issueIdOrKey}/worklog 201",
      "POST /rest/servicedeskapi/request/{issueIdOrKey}/comment 201",
      "POST /rest/servicedeskapi/request/{issueIdOrKey}/comment 400",
      "GET /rest/servicedeskapi/request/{issueIdOrKey}/comment 200",
      ...(_mode === "customer requests"
        ? [
            "GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype/{requestTypeId} 200",
            "POST /rest/servicedeskapi/request 201",
            "POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/attachTemporaryFile 201",
            "POST /rest/servicedeskapi/request/{issueIdOrKey}/attachment 201",
          ]
        : ["POST /rest/api/3/issue 201", "POST /rest/api/3/issue/{issueIdOrKey}/attachments 200"]),
    ];
    expect([...operations].sort(), [...operations].sort().join("\n")).toEqual(
      expect.arrayContaining(expected),
    );
    expect(
      sim.exchanges.some((exchange) => JSON.stringify(exchange.body ?? {}).includes("nextPageToken")),
    ).toBe(true);
  });
});

describe("the contract check itself", () => {
  it("fails a request body the spec forbids and a response missing what the spec types", () => {
    expect(
      serviceDesk.validateRequest({
        method: "POST",
        path: "/rest/servicedeskapi/request/HELP-1/comment",
        body: { body: "x", public: true, internal: true },
      }).ok,
    ).toBe(false);
    expect(
      jira.validateResponse({
        method: "POST",
        path: "/rest/api/3/search/jql",
        status: 200,
        body: { issues: [], nextPageToken: null },
      }).ok,
    ).toBe(false);
  });
});
