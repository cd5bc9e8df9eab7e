import { HttpResponse, http } from "msw";
import type { ContractResult } from "../../sdk/contract/index.js";
import { toleratingUnsetFindAttributes } from "../simulator.js";
import { contractErrors, management } from "./contract.js";
import { fixture, fixtureTicketId, type JsonRecord } from "./fixtures/index.js";

export const sellerUrl = "https://seller.example/mefApi/sonata/troubleTicket/v4";
export const ticketUrl = `${sellerUrl}/troubleTicket`;
export const hubUrl = `${sellerUrl}/hub`;
const jsonHeaders = { "content-type": "application/json;charset=utf-8" };

/** A request as a handler saw it, checked against the official spec. */
export interface SeenRequest {
  method: string;
  url: URL;
  /** Below the server base path, e.g. `/troubleTicket/42/close`. */
  path: string;
  body: unknown;
  authorization: string | null;
  contract: ContractResult;
}

export async function see(seen: SeenRequest[], request: Request): Promise<SeenRequest> {
  const text = await request.clone().text();
  const body: unknown = text === "" ? undefined : JSON.parse(text);
  const url = new URL(request.url);
  const entry: SeenRequest = {
    method: request.method,
    url,
    path: url.pathname.slice(new URL(sellerUrl).pathname.length),
    body,
    authorization: request.headers.get("authorization"),
    contract: management.validateRequest({
      method: request.method,
      path: url.pathname,
      body,
      contentType: request.headers.get("content-type") ?? undefined,
    }),
  };
  seen.push(entry);
  return entry;
}

/** Every request that broke the spec, with its body, for one assertion per test. */
export function offSpecRequests(seen: readonly SeenRequest[]): string[] {
  return seen
    .filter((request) => !request.contract.ok)
    .map(
      (request) =>
        `${request.method} ${request.path}: ${contractErrors(request.contract)}\n${JSON.stringify(request.body)}`,
    );
}

/**
 * A JSON answer, checked against the spec first so a handler cannot teach the client an answer
 * the real seller would never give.
 */
export function mefAnswer(method: string, path: string, status: number, body?: unknown): Response {
  const result = management.validateResponse({ method, path, status, body });
  const verdict =
    method === "GET" && path === "/troubleTicket" ? toleratingUnsetFindAttributes(result, body) : result;
  if (!verdict.ok) {
    throw new Error(
      `test handler answer breaks the spec: ${contractErrors(verdict)}\n${JSON.stringify(body)}`,
    );
  }
  return body === undefined
    ? new HttpResponse(null, { status })
    : HttpResponse.json(body as JsonRecord, { status, headers: jsonHeaders });
}

/** The seller's tickets behind the handlers, keyed by id; seeded with the fixture ticket. */
export function ticketStore(): Map<string, JsonRecord> {
  const ticket = fixture("trouble-ticket-response");
  return new Map([[fixtureTicketId, ticket]]);
}

const findAttributes = [
  "id",
  "externalId",
  "description",
  "relatedEntity",
  "observedImpact",
  "priority",
  "sellerPriority",
  "severity",
  "sellerSeverity",
  "ticketType",
  "status",
  "creationDate",
  "expectedResolutionDate",
  "resolutionDate",
];

function findItem(ticket: JsonRecord): JsonRecord {
  return Object.fromEntries(
    findAttributes.filter((key) => ticket[key] !== undefined).map((key) => [key, ticket[key]]),
  );
}

const notFound = (method: string, path: string) =>
  mefAnswer(method, path, 404, { code: "notFound", reason: "TroubleTicket not found" });

/** Trouble Ticket Management handlers on an in-memory store; every request is pushed to `seen`. */
export function mefHandlers(seen: SeenRequest[], store: Map<string, JsonRecord>) {
  let created = 0;
  /** Operation -> the status it leads to and the statuses it is allowed from (R40, R45, R47). */
  const operations: Record<string, { to: string; from: string[] }> = {
    cancel: { to: "assessingCancellation", from: ["acknowledged", "inProgress", "pending"] },
    close: { to: "closed", from: ["resolved"] },
    reopen: { to: "reopened", from: ["resolved"] },
  };
  return [
    http.get(ticketUrl, async ({ request }) => {
      const entry = await see(seen, request);
      const externalId = entry.url.searchParams.get("externalId");
      const items = [...store.values()]
        .filter((ticket) => externalId === null || ticket["externalId"] === externalId)
        .map(findItem);
      return mefAnswer("GET", "/troubleTicket", 200, items);
    }),
    http.get(`${ticketUrl}/:id`, async ({ request, params }) => {
      const entry = await see(seen, request);
      const ticket = store.get(String(params["id"]));
      return ticket === undefined ? notFound("GET", entry.path) : mefAnswer("GET", entry.path, 200, ticket);
    }),
    http.post(ticketUrl, async ({ request }) => {
      const entry = await see(seen, request);
      created += 1;
      const id = `00000000-0000-0000-0000-${String(created).padStart(12, "0")}`;
      const ticket: JsonRecord = {
        ...(entry.body as JsonRecord),
        id,
        href: `${ticketUrl}/${id}`,
        creationDate: "2024-05-01T10:00:00.000Z",
        sellerPriority: (entry.body as JsonRecord)["priority"],
        sellerSeverity: (entry.body as JsonRecord)["severity"],
        status: "acknowledged",
        statusChange: [{ changeDate: "2024-05-01T10:00:00.000Z", status: "acknowledged" }],
      };
      store.set(id, ticket);
      return mefAnswer("POST", "/troubleTicket", 201, ticket);
    }),
    http.patch(`${ticketUrl}/:id`, async ({ request, params }) => {
      const entry = await see(seen, request);
      const ticket = store.get(String(params["id"]));
      if (ticket === undefined) return notFound("PATCH", entry.path);
      Object.assign(ticket, entry.body as JsonRecord);
      return mefAnswer("PATCH", entry.path, 200, ticket);
    }),
    http.post(`${ticketUrl}/:id/:operation`, async ({ request, params }) => {
      const entry = await see(seen, request);
      const operation = operations[String(params["operation"])];
      const ticket = store.get(String(params["id"]));
      if (operation === undefined || ticket === undefined) return notFound("POST", entry.path);
      if (!operation.from.includes(String(ticket["status"]))) {
        return mefAnswer("POST", entry.path, 422, fixture("error-422-response"));
      }
      ticket["status"] = operation.to;
      return mefAnswer("POST", entry.path, 204);
    }),
    http.post(hubUrl, async ({ request }) => {
      const entry = await see(seen, request);
      const body = entry.body as JsonRecord;
      return mefAnswer("POST", "/hub", 201, { ...fixture<JsonRecord>("hub-register-response"), ...body });
    }),
    http.delete(`${hubUrl}/:id`, async ({ request, params }) => {
      const entry = await see(seen, request);
      return params["id"] === "00000000-0000-0000-0000-000000000678"
        ? mefAnswer("DELETE", entry.path, 204)
        : mefAnswer("DELETE", entry.path, 404, { code: "notFound", reason: "Hub not found" });
    }),
  ];
}
