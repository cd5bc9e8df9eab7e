/**
 * The contract validator against the official vendor specs in `test/specs` (see its SOURCES.md):
 *
 * 1. every example a spec attaches to a request body or response validates against the schema it
 *    is attached to (the validator is proven on the vendors' own data before it judges ours);
 * 2. per vendor, the documented payloads in `test/payloads` (see its SOURCES.md) pass for the operations connectors use,
 *    and a deliberately broken copy of each fails with an error path naming the broken field;
 * 3. the big specs (Jira 2.4 MB, Zendesk 1.2 MB) load and compile in reasonable time, lazily.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type ContractResult,
  type ContractValidator,
  createContractValidator,
  type JsonObject,
  type LoadedSpec,
  loadSpec,
  normaliseSpec,
  parseSpecText,
  resolvePointer,
} from "../contract/index.js";
import { payloadsDir, specsDir } from "../contract/paths.js";

const specFiles = {
  jira: "jira/jira-cloud-platform-v3.openapi.json",
  jsm: "jsm/jsm-cloud-servicedeskapi.openapi.json",
  zendesk: "zendesk/oas.yaml",
  tmf621v4: "tmf621/TMF621-TroubleTicket-v4.0.0.swagger.json",
  tmf621v5: "tmf621/TMF621-Trouble_Ticket-v5.0.1.oas.yaml",
  mefTroubleTicket: "mef-sonata/troubleTicketManagement.api.v4.0.0.yaml",
  mefNotification: "mef-sonata/troubleTicketNotification.api.v4.0.0.yaml",
} as const;
type SpecName = keyof typeof specFiles;

const validators = new Map<SpecName, ContractValidator>();
/** One validator per spec for the whole file, so compiled operations are reused across tests. */
function validatorFor(name: SpecName): ContractValidator {
  let validator = validators.get(name);
  if (!validator) {
    validator = createContractValidator(loadSpec(join(specsDir, specFiles[name])));
    validators.set(name, validator);
  }
  return validator;
}

function payload(name: string): JsonObject {
  return JSON.parse(readFileSync(join(payloadsDir, name), "utf8"));
}

function errorPaths(result: ContractResult): string[] {
  return result.ok ? [] : result.errors.map((error) => error.path);
}

function describeErrors(result: ContractResult): string {
  return result.ok
    ? "ok"
    : result.errors.map((error) => `${error.path || "(body)"}: ${error.message}`).join("; ");
}

describe("official examples validate against the schema they are attached to", () => {
  interface ExampleCheck {
    location: string;
    result: ContractResult;
  }

  /** Validates every request-body and response example of a spec through validateRequest/validateResponse. */
  function checkAllExamples(
    name: SpecName,
    validator: ContractValidator = validatorFor(name),
  ): ExampleCheck[] {
    const checks: ExampleCheck[] = [];
    for (const operation of validator.spec.operations) {
      const path = operation.pathTemplate.replace(/\{[^}]+\}/g, "example-id");
      for (const mediaType of operation.requestBody?.content ?? []) {
        for (const example of mediaType.examples) {
          const result = validator.validateRequest({
            method: operation.method,
            path,
            contentType: mediaType.mediaType,
            body: example.value,
          });
          checks.push({ location: example.location, result });
        }
      }
      for (const response of operation.responses) {
        for (const mediaType of response.content) {
          for (const example of mediaType.examples) {
            const result = validator.validateResponse({
              method: operation.method,
              path,
              status: response.status,
              contentType: mediaType.mediaType,
              body: example.value,
            });
            checks.push({ location: example.location, result });
          }
        }
      }
    }
    return checks;
  }

  /**
   * Official examples that are invalid against their own spec, by example location, with the reason.
   * Empty: all 133 TMF621 v5 examples are valid once discriminators are honoured. An entry here
   * that starts to pass fails the test, so the list cannot go stale.
   */
  const knownInvalidExamples: Partial<Record<SpecName, Record<string, string>>> = {};

  // Example counts pin what was actually checked; the spec files are pinned by sha256 in SOURCES.md.
  const expectedExampleCounts: Partial<Record<SpecName, number>> = {
    tmf621v5: 133,
    // The MEF Sonata SDK puts its examples in the Developer Guide, not in the OAS (checked below
    // through the payload files); TMF621 v4's Swagger has no `examples` at all.
    mefTroubleTicket: 0,
    mefNotification: 0,
    tmf621v4: 0,
  };

  for (const name of ["tmf621v5", "mefTroubleTicket", "mefNotification", "tmf621v4"] as const) {
    it(`${name}: every request/response example (${expectedExampleCounts[name]} of them) is valid`, () => {
      const checks = checkAllExamples(name);
      expect(checks).toHaveLength(expectedExampleCounts[name] ?? -1);
      const failures = Object.fromEntries(
        checks
          .filter((check) => !check.result.ok)
          .map((check) => [check.location, describeErrors(check.result)]),
      );
      expect(Object.keys(failures).sort()).toEqual(Object.keys(knownInvalidExamples[name] ?? {}).sort());
    });
  }

  it("tmf621v5: plain JSON Schema (discriminator mapping ignored) would reject 13 of those official examples", () => {
    const plain = createContractValidator(loadSpec(join(specsDir, specFiles.tmf621v5)), {
      discriminators: "ignore",
    });
    const failures = checkAllExamples("tmf621v5", plain).filter((check) => !check.result.ok);
    expect(failures).toHaveLength(13);
    // All for the same reason: `{"@type": "PartyRef", …}` (or an attachment) matches more than one oneOf branch.
    for (const failure of failures) {
      expect(describeErrors(failure.result)).toMatch(/must match exactly one schema in oneOf/);
    }
  });

  /** The operations connectors use, per vendor spec without discriminators (templates as in the spec). */
  const connectorOperations: [SpecName, string, string][] = [
    ["jira", "post", "/rest/api/3/issue"],
    ["jira", "get", "/rest/api/3/issue/{issueIdOrKey}"],
    ["jira", "put", "/rest/api/3/issue/{issueIdOrKey}"],
    ["jira", "get", "/rest/api/3/search/jql"],
    ["jira", "post", "/rest/api/3/search/jql"],
    ["jira", "post", "/rest/api/3/issue/{issueIdOrKey}/comment"],
    ["jira", "get", "/rest/api/3/issue/{issueIdOrKey}/transitions"],
    ["jira", "post", "/rest/api/3/issue/{issueIdOrKey}/transitions"],
    ["jira", "post", "/rest/api/3/issue/{issueIdOrKey}/attachments"],
    ["jira", "get", "/rest/api/3/issue/{issueIdOrKey}/changelog"],
    ["jira", "get", "/rest/api/3/priority/search"],
    ["jira", "post", "/rest/api/3/webhook"],
    ["jsm", "post", "/rest/servicedeskapi/request"],
    ["jsm", "post", "/rest/servicedeskapi/request/{issueIdOrKey}/comment"],
    ["jsm", "get", "/rest/servicedeskapi/request/{issueIdOrKey}/transition"],
    ["jsm", "post", "/rest/servicedeskapi/request/{issueIdOrKey}/transition"],
    ["jsm", "post", "/rest/servicedeskapi/request/{issueIdOrKey}/attachment"],
    ["jsm", "post", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/attachTemporaryFile"],
    ["zendesk", "post", "/api/v2/tickets"],
    ["zendesk", "get", "/api/v2/tickets/{ticket_id}"],
    ["zendesk", "put", "/api/v2/tickets/{ticket_id}"],
    ["zendesk", "get", "/api/v2/tickets/{ticket_id}/comments"],
    ["zendesk", "get", "/api/v2/incremental/tickets/cursor"],
    ["zendesk", "get", "/api/v2/incremental/ticket_events"],
    ["zendesk", "post", "/api/v2/uploads"],
  ];

  /**
   * Vendor examples (of the operations above) that contradict the vendor's own schema. Connector
   * simulators must not copy these shapes blindly: the contract tests will (rightly) reject them.
   */
  const knownInvalidVendorExamples: Record<string, string> = {
    "jira POST /rest/api/3/issue/{issueIdOrKey}/attachments 200":
      "`created` is epoch milliseconds (1651316514000); Attachment.created is a date-time string",
    "jira GET /rest/api/3/issue/{issueIdOrKey}/changelog 200":
      "`from`/`to` are null; ChangeDetails.from/to are non-nullable strings",
  };

  it("jira/jsm/zendesk: the examples of the operations connectors use are valid, except the listed ones", () => {
    const failures: Record<string, string> = {};
    let count = 0;
    for (const [name, method, template] of connectorOperations) {
      const validator = validatorFor(name);
      const operation = validator.spec.operations.find(
        (candidate) => candidate.method === method && candidate.pathTemplate === template,
      );
      expect(operation, `${name} ${method} ${template}`).toBeDefined();
      const path = template.replace(/\{[^}]+\}/g, "example-id");
      // Atlassian publishes response examples as JSON text inside a string; decode before validating.
      const decode = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);
      for (const mediaType of operation?.requestBody?.content ?? []) {
        for (const example of mediaType.examples) {
          count += 1;
          const body = decode(example.value);
          const result = validator.validateRequest({ method, path, contentType: mediaType.mediaType, body });
          if (!result.ok)
            failures[`${name} ${method.toUpperCase()} ${template} request`] = describeErrors(result);
        }
      }
      for (const response of operation?.responses ?? []) {
        for (const mediaType of response.content) {
          for (const example of mediaType.examples) {
            count += 1;
            const body = decode(example.value);
            const result = validator.validateResponse({ method, path, status: response.status, body });
            if (!result.ok)
              failures[`${name} ${method.toUpperCase()} ${template} ${response.status}`] =
                describeErrors(result);
          }
        }
      }
    }
    expect(count).toBe(35);
    expect(Object.keys(failures).sort()).toEqual(Object.keys(knownInvalidVendorExamples).sort());
  });

  it("zendesk: the unquoted `change: =` trigger example loads as the string '='", () => {
    const spec = validatorFor("zendesk").spec;
    expect(
      resolvePointer(spec.document, "/components/schemas/TriggerConditionDiffObject/example/field/0"),
    ).toEqual({
      change: "=",
      content: "status",
    });
  });
});

/** A JSON pointer edit that breaks a payload: the error path must name exactly that field. */
type Breakage = { set: string; to: unknown } | { remove: string };

interface SmokeCase {
  spec: SpecName;
  kind: "request" | "response";
  method: string;
  path: string;
  status?: number;
  contentType?: string;
  /** A payload file name, or an inline body for operations without a documented example. */
  body: string | JsonObject;
  breakage: Breakage;
}

function breakBody(body: JsonObject, breakage: Breakage): JsonObject {
  const copy = structuredClone(body);
  const pointer = "set" in breakage ? breakage.set : breakage.remove;
  const segments = pointer.split("/").slice(1);
  const last = segments.pop() ?? "";
  const parent = resolvePointer(copy, `/${segments.join("/")}`.replace(/^\/$/, ""));
  if (typeof parent !== "object" || parent === null) throw new Error(`no parent for ${pointer}`);
  const container = parent as Record<string, unknown>;
  if (!(last in container)) throw new Error(`${pointer} does not exist in the payload`);
  if ("set" in breakage) container[last] = breakage.to;
  else delete container[last];
  return copy;
}

/**
 * The JQL search a connector sends (no payload file: the spec has no request example). The new
 * endpoint pages with `nextPageToken`; `startAt` is gone and `additionalProperties: false` rejects it.
 */
const jiraSearchJqlRequest: JsonObject = {
  jql: "project = HELP AND updated >= -5m ORDER BY updated ASC",
  fields: ["summary", "status", "priority", "updated"],
  maxResults: 50,
  nextPageToken: "CAEaAggD",
};

/**
 * TMF621 v4 has no example payload. This is `tmf621v5-create-request.json` re-shaped to the v4
 * model: v4's RelatedParty/RelatedEntity carry `id` and `@referredType` themselves (v5 nests them
 * under `partyOrPartyRole` / `entity`), and v4 requires description, severity and ticketType.
 */
const tmf621v4CreateRequest: JsonObject = {
  name: "complaint over last bill",
  description: "I do not accept the last VOD charge, since the movie was constantly interrupted",
  severity: "Major",
  ticketType: "Bill Dispute",
  requestedResolutionDate: "2022-05-31T07:34:45.968Z",
  channel: { id: "8774", name: "self service" },
  note: [
    { id: "77456", author: "Jack Smith", date: "2022-05-31T07:34:45.968Z", text: "Please call me back" },
  ],
  relatedEntity: [
    {
      id: "3472",
      href: "https://mycsp.com:8080/tmf-api/customerBillManagement/v4/customerBill/8297",
      name: "March 2019 Bill",
      role: "disputedBill",
      "@referredType": "CustomerBill",
    },
  ],
  relatedParty: [{ id: "9866", name: "Sandy Smith", role: "member", "@referredType": "Individual" }],
  "@type": "TroubleTicket",
};

/**
 * The MEF 124 Developer Guide examples with the deviations from the MEF OAS that payloads/SOURCES.md
 * lists corrected: `ticketType: "failure"` is not in the TroubleTicketType enum (assistance,
 * information, installation, maintenance) and `observedImpact` (degraded | intermittent | down) is
 * required on TroubleTicket_Common. The guide's response also has `lastUpdate`, which the schema does
 * not define; that is allowed (no `additionalProperties: false`), so it stays.
 */
function mefCorrected(name: string): JsonObject {
  return { ...payload(name), ticketType: "assistance", observedImpact: "down" };
}

const smokeCases: SmokeCase[] = [
  // Jira Cloud platform v3
  {
    spec: "jira",
    kind: "request",
    method: "POST",
    path: "/rest/api/3/issue",
    body: "jira-issue-create-request.json",
    breakage: { set: "/fields", to: "Order entry fails" },
  },
  {
    spec: "jira",
    kind: "response",
    method: "POST",
    path: "/rest/api/3/issue",
    status: 201,
    body: "jira-issue-create-response.json",
    breakage: { set: "/id", to: 10000 },
  },
  {
    spec: "jira",
    kind: "request",
    method: "POST",
    path: "/rest/api/3/search/jql",
    body: jiraSearchJqlRequest,
    breakage: { set: "/maxResults", to: "50" },
  },
  {
    spec: "jira",
    kind: "response",
    method: "POST",
    path: "/rest/api/3/search/jql",
    status: 200,
    body: "jira-search-jql-response.json",
    breakage: { set: "/isLast", to: "yes" },
  },
  {
    spec: "jira",
    kind: "response",
    method: "GET",
    path: "/rest/api/3/issue/EX-1?expand=names",
    status: 200,
    body: "jira-issue-get-response.json",
    breakage: { set: "/key", to: 1 },
  },
  {
    spec: "jira",
    kind: "request",
    method: "PUT",
    path: "/rest/api/3/issue/EX-1",
    body: "jira-issue-edit-request.json",
    breakage: { set: "/update", to: [] },
  },
  {
    spec: "jira",
    kind: "request",
    method: "POST",
    path: "/rest/api/3/issue/EX-1/comment",
    body: "jira-comment-add-request-adf.json",
    breakage: { set: "/visibility/type", to: "team" },
  },
  {
    spec: "jira",
    kind: "response",
    method: "POST",
    path: "/rest/api/3/issue/EX-1/comment",
    status: 201,
    body: "jira-comment-add-response.json",
    breakage: { set: "/id", to: 10000 },
  },
  {
    spec: "jira",
    kind: "response",
    method: "GET",
    path: "/rest/api/3/issue/EX-1/transitions",
    status: 200,
    body: "jira-transitions-get-response.json",
    breakage: { set: "/transitions", to: {} },
  },
  {
    spec: "jira",
    kind: "request",
    method: "POST",
    path: "/rest/api/3/issue/EX-1/transitions",
    body: "jira-transition-do-request.json",
    breakage: { set: "/transition/id", to: 5 },
  },
  // Jira Service Management
  {
    spec: "jsm",
    kind: "request",
    method: "POST",
    path: "/rest/servicedeskapi/request",
    body: "jsm-request-create-request.json",
    breakage: { set: "/serviceDeskId", to: 10 },
  },
  {
    spec: "jsm",
    kind: "response",
    method: "POST",
    path: "/rest/servicedeskapi/request",
    status: 201,
    body: "jsm-request-create-response.json",
    breakage: { set: "/issueKey", to: 1 },
  },
  {
    spec: "jsm",
    kind: "request",
    method: "POST",
    path: "/rest/servicedeskapi/request/HELPDESK-1/comment",
    body: "jsm-request-comment-create-request.json",
    breakage: { set: "/public", to: "true" },
  },
  {
    spec: "jsm",
    kind: "response",
    method: "POST",
    path: "/rest/servicedeskapi/request/HELPDESK-1/comment",
    status: 201,
    body: "jsm-request-comment-create-response.json",
    breakage: { set: "/public", to: "yes" },
  },
  // Zendesk Support
  {
    spec: "zendesk",
    kind: "request",
    method: "POST",
    path: "/api/v2/tickets",
    body: "zendesk-ticket-create-request.json",
    breakage: { set: "/ticket/priority", to: "critical" },
  },
  {
    spec: "zendesk",
    kind: "response",
    method: "POST",
    path: "/api/v2/tickets",
    status: 201,
    body: "zendesk-ticket-response.json",
    breakage: { remove: "/ticket/requester_id" },
  },
  {
    spec: "zendesk",
    kind: "response",
    method: "GET",
    path: "/api/v2/tickets/35436",
    status: 200,
    body: "zendesk-ticket-response.json",
    breakage: { set: "/ticket/id", to: "35436" },
  },
  {
    spec: "zendesk",
    kind: "request",
    method: "PUT",
    path: "/api/v2/tickets/35436",
    body: "zendesk-ticket-update-request.json",
    breakage: { set: "/ticket/custom_status_id", to: "321" },
  },
  {
    spec: "zendesk",
    kind: "response",
    method: "PUT",
    path: "/api/v2/tickets/35436",
    status: 200,
    body: "zendesk-ticket-update-response.json",
    breakage: { set: "/audit/events", to: {} },
  },
  {
    spec: "zendesk",
    kind: "response",
    method: "PUT",
    path: "/api/v2/tickets/35436",
    status: 200,
    body: "zendesk-ticket-response.json",
    breakage: { set: "/ticket/subject", to: 42 },
  },
  // TMF621 v4 (Swagger 2.0)
  {
    spec: "tmf621v4",
    kind: "request",
    method: "POST",
    path: "/tmf-api/troubleTicket/v4/troubleTicket",
    body: tmf621v4CreateRequest,
    breakage: { remove: "/severity" },
  },
  // TMF621 v5
  {
    spec: "tmf621v5",
    kind: "request",
    method: "POST",
    path: "/tmf-api/troubleTicket/v5/troubleTicket",
    body: "tmf621v5-create-request.json",
    breakage: { remove: "/relatedParty/0/role" },
  },
  {
    spec: "tmf621v5",
    kind: "response",
    method: "POST",
    path: "/tmf-api/troubleTicket/v5/troubleTicket",
    status: 201,
    body: "tmf621v5-create-response.json",
    breakage: { remove: "/id" },
  },
  {
    spec: "tmf621v5",
    kind: "request",
    method: "PATCH",
    path: "/troubleTicket/TT-1",
    contentType: "application/merge-patch+json",
    body: "tmf621v5-patch-merge-request.json",
    breakage: { set: "/status", to: "done" },
  },
  {
    spec: "tmf621v5",
    kind: "request",
    method: "PATCH",
    path: "/troubleTicket/TT-1",
    contentType: "application/json-patch+json",
    body: "tmf621v5-patch-jsonpatch-request.json",
    breakage: { set: "/0/op", to: "upsert" },
  },
  {
    spec: "tmf621v5",
    kind: "request",
    method: "POST",
    path: "/tmf-api/troubleTicket/v5/hub",
    body: "tmf621v5-hub-register-request.json",
    breakage: { remove: "/callback" },
  },
  {
    spec: "tmf621v5",
    kind: "request",
    method: "POST",
    path: "/listener/troubleTicketStatusChangeEvent",
    body: "tmf621v5-event-TroubleTicketStatusChangeEvent.json",
    breakage: { set: "/eventTime", to: "yesterday" },
  },
  // MEF LSO Sonata Trouble Ticket v4 (developer-guide payloads, corrected; see mefCorrected)
  {
    spec: "mefTroubleTicket",
    kind: "request",
    method: "POST",
    path: "/mefApi/sonata/troubleTicket/v4/troubleTicket",
    body: mefCorrected("mef-sonata-create-request.json"),
    breakage: { set: "/severity", to: "critical" },
  },
  {
    spec: "mefTroubleTicket",
    kind: "response",
    method: "POST",
    path: "/mefApi/sonata/troubleTicket/v4/troubleTicket",
    status: 201,
    body: mefCorrected("mef-sonata-create-response.json"),
    breakage: { remove: "/observedImpact" },
  },
  {
    spec: "mefTroubleTicket",
    kind: "request",
    method: "PATCH",
    path: "/troubleTicket/00000000-4444-5555-6666-000000000987",
    body: "mef-sonata-patch-request.json",
    breakage: { set: "/note/0/date", to: "2 June 2021" },
  },
  {
    spec: "mefTroubleTicket",
    kind: "request",
    method: "POST",
    path: "/hub",
    body: "mef-sonata-hub-register-request.json",
    breakage: { remove: "/callback" },
  },
  {
    spec: "mefTroubleTicket",
    kind: "response",
    method: "POST",
    path: "/hub",
    status: 201,
    body: "mef-sonata-hub-register-response.json",
    breakage: { set: "/callback", to: ["https://buyer.com/listenerEndpoint"] },
  },
  {
    spec: "mefNotification",
    kind: "request",
    method: "POST",
    path: "/listener/troubleTicketResolvedEvent",
    body: "mef-sonata-event-troubleTicketResolvedEvent.json",
    breakage: { set: "/eventType", to: "troubleTicketClosedEvent" },
  },
];

function validateCase(testCase: SmokeCase, body: JsonObject): ContractResult {
  const validator = validatorFor(testCase.spec);
  const exchange = {
    method: testCase.method,
    path: testCase.path,
    body,
    ...(testCase.contentType ? { contentType: testCase.contentType } : {}),
  };
  return testCase.kind === "request"
    ? validator.validateRequest(exchange)
    : validator.validateResponse({ ...exchange, status: testCase.status ?? 200 });
}

describe("vendor payloads: documented payload passes, a broken copy fails naming the field", () => {
  for (const testCase of smokeCases) {
    const source = typeof testCase.body === "string" ? testCase.body : "inline body";
    const brokenPointer = "set" in testCase.breakage ? testCase.breakage.set : testCase.breakage.remove;
    const status = testCase.kind === "response" ? ` ${testCase.status}` : "";
    it(`${testCase.spec} ${testCase.kind} ${testCase.method} ${testCase.path}${status} (${source}); broken at ${brokenPointer}`, () => {
      const body = typeof testCase.body === "string" ? payload(testCase.body) : testCase.body;
      const result = validateCase(testCase, body);
      expect(result.ok, describeErrors(result)).toBe(true);
      const broken = validateCase(testCase, breakBody(body, testCase.breakage));
      expect(broken.ok).toBe(false);
      expect(errorPaths(broken)).toContain(brokenPointer);
    });
  }

  it("jira: the /search/jql request body rejects the retired `startAt` paging parameter", () => {
    const result = validatorFor("jira").validateRequest({
      method: "POST",
      path: "/rest/api/3/search/jql",
      body: { ...jiraSearchJqlRequest, startAt: 50 },
    });
    expect(result).toEqual({
      ok: false,
      errors: [{ path: "/startAt", message: "is not allowed (additionalProperties: false)" }],
    });
  });

  it("mef: the developer-guide create payloads deviate from the OAS exactly as payloads/SOURCES.md says", () => {
    const mef = validatorFor("mefTroubleTicket");
    const request = mef.validateRequest({
      method: "POST",
      path: "/troubleTicket",
      body: payload("mef-sonata-create-request.json"),
    });
    const response = mef.validateResponse({
      method: "POST",
      path: "/troubleTicket",
      status: 201,
      body: payload("mef-sonata-create-response.json"),
    });
    for (const result of [request, response]) {
      expect(errorPaths(result).sort()).toEqual(["/observedImpact", "/ticketType"]);
    }
  });

  it("a v5 payload is not a v4 payload: v4 RelatedParty carries id and @referredType itself", () => {
    const result = validatorFor("tmf621v4").validateRequest({
      method: "POST",
      path: "/troubleTicket",
      body: payload("tmf621v5-create-request.json"),
    });
    expect(errorPaths(result)).toEqual(
      expect.arrayContaining(["/relatedParty/0/id", "/relatedParty/0/@referredType"]),
    );
  });
});

describe("operations the specs do not have fail the contract", () => {
  const unknown: [SpecName, string, string][] = [
    // Zendesk's oas.yaml has no Webhooks API (published separately; see specs/SOURCES.md).
    ["zendesk", "POST", "/api/v2/webhooks"],
    // MEF has no PATCH on hubs, TMF621 v5 has no close/cancel actions (those are MEF's).
    ["mefTroubleTicket", "PATCH", "/hub/1"],
    ["tmf621v5", "POST", "/troubleTicket/TT-1/close"],
    // Right path, missing base-path segment: /rest/api/3 is part of Jira's path templates.
    ["jira", "POST", "/issue"],
  ];
  for (const [name, method, path] of unknown) {
    it(`${name}: ${method} ${path}`, () => {
      const result = validatorFor(name).validateRequest({ method, path, body: {} });
      expect(result.ok).toBe(false);
      expect(describeErrors(result)).toMatch(/is not in/);
    });
  }

  it("jira: the old GET/POST /rest/api/3/search still exists but is marked deprecated", () => {
    const search = validatorFor("jira").findOperation("POST", "/rest/api/3/search");
    expect(search?.operation.deprecated).toBe(true);
    expect(validatorFor("jira").findOperation("POST", "/rest/api/3/search/jql")?.operation.deprecated).toBe(
      false,
    );
  });
});

// Lazy compilation on the big specs, checked by what is compiled, not by the clock (timings belong in the
// bench: a loaded CI machine makes any time bound either flaky or meaningless).
describe("lazy compilation on the big specs", () => {
  /** Parses and normalises without the loadSpec cache. */
  function freshSpec(name: SpecName): LoadedSpec {
    const path = join(specsDir, specFiles[name]);
    return normaliseSpec(parseSpecText(readFileSync(path, "utf8"), path), path);
  }

  it("jira (2.4 MB, 968 schemas): three operations compile only the schemas they reach", () => {
    const spec = freshSpec("jira");
    const validator = createContractValidator(spec);
    const create = payload("jira-issue-create-request.json");
    expect(validator.validateRequest({ method: "POST", path: "/rest/api/3/issue", body: create }).ok).toBe(
      true,
    );
    expect(
      validator.validateRequest({
        method: "POST",
        path: "/rest/api/3/search/jql",
        body: jiraSearchJqlRequest,
      }).ok,
    ).toBe(true);
    const issue = payload("jira-issue-get-response.json");
    expect(
      validator.validateResponse({ method: "GET", path: "/rest/api/3/issue/EX-1", status: 200, body: issue })
        .ok,
    ).toBe(true);
    expect(Object.keys(spec.schemas).length).toBeGreaterThan(900);
    expect(validator.compiledSchemaCount).toBeLessThan(60);
  });

  it("zendesk (1.2 MB YAML): the first operation compiles only the schemas it reaches", () => {
    const spec = freshSpec("zendesk");
    const validator = createContractValidator(spec);
    const ticket = payload("zendesk-ticket-create-request.json");
    expect(validator.validateRequest({ method: "POST", path: "/api/v2/tickets", body: ticket }).ok).toBe(
      true,
    );
    expect(validator.compiledSchemaCount).toBeLessThan(60);
  });
});
