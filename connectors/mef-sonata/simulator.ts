import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Context, Hono } from "hono";
import type { ContractResult, ContractValidator } from "../sdk/contract/index.js";
import {
  createSimulatorKit,
  readCredentials,
  type StatusFault,
  type TimeoutFault,
} from "../sdk/testing/simulator-kit.js";
import {
  type EventType,
  type IncidentEventType,
  incidentEventTypes,
  type TroubleTicketEventType,
  type TroubleTicketStatus,
  troubleTicketEventTypes,
} from "./api-types.js";
import { managementBasePath, notificationBasePath } from "./config.js";
import { troubleTicketTransitions } from "./mapping.js";

// An in-memory MEF LSO Sonata seller: the Trouble Ticket Management API v4 (MEF 124) under
// /mefApi/sonata/troubleTicket/v4, for tests, local development and demos. Every request is
// checked against the official OAS before it is handled (400 with the MEF Error body when it does
// not conform) and every response and notification against the official OAS before it leaves, so
// the simulator cannot drift from the spec unnoticed. Business rules follow the Developer Guide's
// requirements (R-numbers below); where the spec is silent the simulator is strict, so mistakes show.

type Json = Record<string, unknown>;

/**
 * The official specs, compiled by the caller: the contract validator lives in the SDK's test-time
 * tooling (`connectors/sdk/contract`, built on dev dependencies), so it is passed in, never imported here.
 */
export interface SimulatorContract {
  /** troubleTicketManagement.api v4: the API the simulator serves. */
  management: ContractValidator;
  /** troubleTicketNotification.api v4: the buyer's listener API the simulator posts events to. */
  notification: ContractValidator;
}

export type { FaultMatch } from "../sdk/testing/simulator-kit.js";

/**
 * A fault consumed by the next `times` matching requests (or notifications).
 * - `status`: answer with the status instead of handling the request (nothing is applied). 500
 *   carries the spec's Error500 body; 429/502/503/504 are not MEF answers but a gateway's in front of it.
 * - `timeout`: handle the request (writes are applied), then hold the answer `delayMs`.
 * - `drop-notifications`: the seller's event delivery is lost (MEF defines no redelivery).
 */
export type SimulatorFault = StatusFault | TimeoutFault | { kind: "drop-notifications"; times: number };

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** One event the simulator posted (or tried to) to a registered listener. */
export interface NotificationDelivery {
  url: string;
  eventType: EventType;
  body: Json;
  /** Response status, or null when delivery failed. */
  status: number | null;
  error?: string;
}

/** Something the simulator was about to send that the official spec does not allow; tests assert none. */
export interface ContractViolation {
  kind: "response" | "notification";
  operation: string;
  status: number | null;
  body: unknown;
  errors: { path: string; message: string }[];
}

export interface HubSubscription {
  id: string;
  callback: string;
  query?: string;
}

/** A stored trouble ticket: the `TroubleTicket` JSON exactly as the API returns it. */
export interface SimulatedTicket extends Json {
  id: string;
  href: string;
  status: TroubleTicketStatus;
  creationDate: string;
  note: Json[];
  statusChange: { changeDate: string; status: TroubleTicketStatus; changeReason?: string }[];
  relatedContactInformation: Json[];
}

/** A seller action the state machine does not allow; the HTTP API answers these with 422. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly ticketId: string,
    readonly from: TroubleTicketStatus,
    readonly to: TroubleTicketStatus,
  ) {
    super(`trouble ticket ${ticketId} cannot go from ${from} to ${to}`);
    this.name = "IllegalTransitionError";
  }
}

/** The seller's people, scripted. Each call applies at once and queues the notifications it causes. */
export interface SimulatedSeller {
  /** Triage of an acknowledged ticket: the seller's own priority/severity and expected resolution (R22 note). */
  acknowledge(
    id: string,
    assessment?: { sellerPriority?: string; sellerSeverity?: string; expectedResolutionDate?: Date },
  ): SimulatedTicket;
  /** acknowledged, pending or reopened -> inProgress. */
  progress(id: string, text?: string): SimulatedTicket;
  /** inProgress -> pending with a note saying what is needed (R63, R64). */
  requestInformation(id: string, text: string): SimulatedTicket;
  /** inProgress -> resolved with a note on the resolution (R28, R66). */
  resolve(id: string, text: string): SimulatedTicket;
  /**
   * MEF v4 has no `rejected` status: a seller that will not work a ticket resolves it saying why
   * (e.g. not its network), via inProgress when still acknowledged. The buyer then closes or reopens.
   */
  reject(id: string, reason: string): SimulatedTicket;
  /** A seller note (R18 `source=seller`), notified as an attribute change (R61). */
  addNote(id: string, text: string): SimulatedTicket;
  /** assessingCancellation -> cancelled (only needed with `cancellation: "manual"`). */
  acceptCancellation(id: string): SimulatedTicket;
  /** resolved -> closed without the buyer: the agreed confirmation time passed. */
  closeUnconfirmed(id: string): SimulatedTicket;
  /** The next create is refused with 422 (the only way a MEF seller rejects a ticket). */
  refuseNextCreate(reason: string): void;
}

export interface MefSonataSimulatorOptions {
  contract: SimulatorContract;
  /** Bearer tokens accepted. Default `["simulator-token"]`. */
  tokens?: readonly string[];
  /** Origin used in `href`s; set it once the listening port is known. */
  serverUrl?: string;
  /**
   * When set, the seller serves several buyers: every request must carry `buyerId=<this>` and events
   * carry it (R3-R7). When unset, a request carrying `buyerId` is refused (it MUST NOT be sent).
   */
  buyerId?: string;
  /** The same for `sellerId`. */
  sellerId?: string;
  /** `auto` (default): a cancel request is assessed and accepted right after it is answered. */
  cancellation?: "auto" | "manual";
  now?: () => Date;
  /** Delivers notifications. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

export interface MefSonataSimulator {
  app: Hono<SimulatorEnv>;
  tickets: Map<string, SimulatedTicket>;
  hubs: Map<string, HubSubscription>;
  seller: SimulatedSeller;
  /** Push faults here; each is removed once used `times` times. */
  faults: SimulatorFault[];
  /** Every API request received, in order. */
  requests: RecordedRequest[];
  notifications: { delivered: NotificationDelivery[]; dropped: Json[] };
  contractViolations: ContractViolation[];
  setServerUrl(url: string): void;
  /** Resolves when every queued notification and scheduled seller action has finished. */
  settled(): Promise<void>;
}

/** Marks a request body that is not JSON (the outer layer records it, the inner refuses it). */
const unreadableBody = Symbol("unreadable body");

type SimulatorEnv = { Variables: { body: unknown; fault: SimulatorFault | null } };

/** A refusal rendered as the MEF error body (`Error4xx`; 422 is a list of `Error422`). */
class MefApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 422 | 500,
    readonly body: Json | Json[],
  ) {
    super(JSON.stringify(body));
  }
}

/** `Error.reason` has `maxLength: 255`. */
function reasonText(text: string): string {
  return text.length <= 255 ? text : `${text.slice(0, 254)}…`;
}

const badRequest = (code: string, reason: string, message?: string) =>
  new MefApiError(400, { code, reason: reasonText(reason), ...(message === undefined ? {} : { message }) });
const notFound = (what: string) =>
  new MefApiError(404, { code: "notFound", reason: reasonText(`${what} not found`) });
const unprocessable = (issues: { code: string; reason: string; propertyPath?: string }[]) =>
  new MefApiError(
    422,
    issues.map((issue) => ({ ...issue, reason: reasonText(issue.reason) })),
  );

const allEventTypes: readonly EventType[] = [...troubleTicketEventTypes, ...incidentEventTypes];
const jsonContentType = "application/json;charset=utf-8";
/** The `TroubleTicket_Find` attributes (R23 lists the ones to include "if set"). */
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
] as const;
/**
 * The OAS marks these `TroubleTicket_Find` attributes required, while R23 says to include them "if
 * set" and an unresolved ticket has no `resolutionDate`. The simulator follows R23; a missing one of
 * these (and only these) is not counted as a violation.
 */
export const findAttributesRequiredOnlyIfSet: readonly string[] = [
  "externalId",
  "expectedResolutionDate",
  "resolutionDate",
];
/**
 * A `listTroubleTicket` response result without the violations R23 allows: a missing
 * {@link findAttributesRequiredOnlyIfSet} attribute on an item that does not have it set.
 */
export function toleratingUnsetFindAttributes(result: ContractResult, body: unknown): ContractResult {
  if (result.ok || !Array.isArray(body)) return result;
  const errors = result.errors.filter((error) => {
    const match = /^\/(\d+)\/([A-Za-z]+)$/.exec(error.path);
    if (match === null || error.message !== "is required") return true;
    const item: unknown = body[Number(match[1])];
    const attribute = match[2] ?? "";
    return !(
      findAttributesRequiredOnlyIfSet.includes(attribute) &&
      isJson(item) &&
      item[attribute] === undefined
    );
  });
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

/** Expected resolution per buyer priority, for `expectedResolutionDate` (seller policy, invented). */
const resolutionHours: Record<string, number> = { critical: 4, high: 8, medium: 24, low: 72 };
/** R35: a PATCH is refused in these statuses. */
const unpatchableStatuses: ReadonlySet<string> = new Set(["closed", "assessingCancellation", "cancelled"]);
/** R40: cancel is accepted only from these statuses. */
const cancellableStatuses: ReadonlySet<string> = new Set(["acknowledged", "inProgress", "pending"]);
/** R29: a PATCH must carry at least one of these. */
const patchableAttributes = [
  "externalId",
  "priority",
  "severity",
  "issueStartDate",
  "observedImpact",
  "attachment",
  "note",
  "relatedContactInformation",
  "relatedIssue",
] as const;
/** R30: patching these requires a new note. */
const attributesNeedingANote = ["priority", "severity", "issueStartDate", "relatedIssue"] as const;

function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function jsonArray(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isJson) : [];
}

/** Deep equality of JSON values with key order ignored. */
function sameJson(left: unknown, right: unknown): boolean {
  if (Array.isArray(left) || Array.isArray(right)) {
    return (
      Array.isArray(left) &&
      Array.isArray(right) &&
      left.length === right.length &&
      left.every((item, index) => sameJson(item, right[index]))
    );
  }
  if (isJson(left) && isJson(right)) {
    const keys = Object.keys(left);
    return keys.length === Object.keys(right).length && keys.every((key) => sameJson(left[key], right[key]));
  }
  return left === right;
}

/** Follows a local JSON pointer (`/paths/~1troubleTicket/get`) into the spec document. */
function atPointer(document: unknown, pointer: string): unknown {
  let node = document;
  for (const raw of pointer.replace(/^#/, "").split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    node = isJson(node) ? node[key] : undefined;
  }
  return node;
}

/** `query` of `EventSubscriptionInput`: `eventType=a,b` or `eventType=a&eventType=b` (R58); empty means all. */
function subscribedEventTypes(query: string | undefined): Set<string> | null {
  if (query === undefined || query.trim() === "") return new Set(allEventTypes);
  const types = new Set<string>();
  for (const part of query.split("&")) {
    const [rawName = "", rawValue = ""] = part.split("=");
    if (rawName.trim() !== "eventType") return null;
    for (const value of rawValue.split(",")) types.add(value.trim());
  }
  return types;
}

/** Creates a simulated seller. Serve `app` with @hono/node-server or call `app.request` directly. */
export function createMefSonataSimulator(options: MefSonataSimulatorOptions): MefSonataSimulator {
  const { contract } = options;
  const tokens = new Set(options.tokens ?? ["simulator-token"]);
  const now = options.now ?? (() => new Date());
  let serverUrl = (options.serverUrl ?? "http://mef-seller.simulator").replace(/\/+$/, "");
  const tickets = new Map<string, SimulatedTicket>();
  const hubs = new Map<string, HubSubscription>();
  // Notifications go to each hub's callback, in order (R60), so the kit's own webhook target is not used.
  const kit = createSimulatorKit<SimulatorFault, RecordedRequest>(options, {
    dropKind: "drop-notifications",
    ordered: true,
  });
  const notifications: MefSonataSimulator["notifications"] = { delivered: [], dropped: [] };
  const contractViolations: ContractViolation[] = [];
  let nextEvent = 1;
  let refuseCreate: string | null = null;

  function ticketOrThrow(id: string): SimulatedTicket {
    const ticket = tickets.get(id);
    if (ticket === undefined) throw notFound(`TroubleTicket ${id}`);
    return ticket;
  }

  function sellerTicket(id: string): SimulatedTicket {
    const ticket = tickets.get(id);
    if (ticket === undefined) throw new Error(`no simulated trouble ticket ${id}`);
    return ticket;
  }

  // --- notifications (troubleTicketNotification.api v4, §6.10) ---

  function deliver(eventType: EventType, body: Json, callback: string): void {
    const url = `${callback}${notificationBasePath}/listener/${eventType}`;
    kit.deliver(
      url,
      { method: "POST", headers: { "content-type": jsonContentType }, body: JSON.stringify(body) },
      (outcome) => {
        notifications.delivered.push({ url, eventType, body, ...outcome });
      },
    );
  }

  /** Queues one event per subscription that asked for it (R59, R60); deliveries stay in order. */
  function notify(ticket: SimulatedTicket, eventType: TroubleTicketEventType | IncidentEventType): void {
    for (const hub of hubs.values()) {
      if (!subscribedEventTypes(hub.query)?.has(eventType)) continue;
      const body: Json = {
        eventId: `event-${String(nextEvent++).padStart(6, "0")}`,
        eventTime: now().toISOString(),
        eventType,
        event: {
          id: ticket.id,
          href: ticket.href,
          ...(options.buyerId === undefined ? {} : { buyerId: options.buyerId }),
          ...(options.sellerId === undefined ? {} : { sellerId: options.sellerId }),
        },
      };
      const checked = contract.notification.validateRequest({
        method: "POST",
        path: `/listener/${eventType}`,
        contentType: jsonContentType,
        body,
      });
      if (!checked.ok) {
        contractViolations.push({
          kind: "notification",
          operation: `POST /listener/${eventType}`,
          status: null,
          body,
          errors: checked.errors,
        });
        continue;
      }
      if (kit.dropWebhook()) {
        notifications.dropped.push(body);
        continue;
      }
      deliver(eventType, body, hub.callback);
    }
  }

  // --- the state machine (§6.1.4) ---

  function transition(ticket: SimulatedTicket, to: TroubleTicketStatus, changeReason?: string): void {
    if (!troubleTicketTransitions[ticket.status].includes(to)) {
      throw new IllegalTransitionError(ticket.id, ticket.status, to);
    }
    ticket.status = to;
    ticket.statusChange.push({
      changeDate: now().toISOString(),
      status: to,
      ...(changeReason === undefined ? {} : { changeReason }),
    });
  }

  /** The HTTP face of {@link transition}: an illegal buyer request is a business validation error. */
  function buyerTransition(ticket: SimulatedTicket, to: TroubleTicketStatus, rule: string): void {
    try {
      transition(ticket, to);
    } catch (error) {
      if (!(error instanceof IllegalTransitionError)) throw error;
      throw unprocessable([
        {
          code: "otherIssue",
          reason: `The Trouble Ticket is ${error.from}; it cannot become ${to} (${rule})`,
        },
      ]);
    }
  }

  function sellerNote(ticket: SimulatedTicket, text: string): void {
    ticket.note.push({
      id: `seller-note-${ticket.note.length + 1}`,
      author: "Seller Ticket Contact",
      date: now().toISOString(),
      source: "seller",
      text,
    });
  }

  /** A seller action: applied to a copy, stored only when legal, then notified (R61-R66). */
  function sellerAction(id: string, apply: (ticket: SimulatedTicket) => void): SimulatedTicket {
    const current = sellerTicket(id);
    const draft = structuredClone(current);
    apply(draft);
    tickets.set(id, draft);
    if (!sameJson(attributesOf(current), attributesOf(draft)))
      notify(draft, "troubleTicketAttributeValueChangeEvent");
    if (draft.status !== current.status) {
      notify(draft, "troubleTicketStatusChangeEvent");
      if (draft.status === "pending") notify(draft, "troubleTicketInformationRequiredEvent");
      if (draft.status === "resolved") notify(draft, "troubleTicketResolvedEvent");
    }
    return draft;
  }

  /** R61's seller-settable attributes, whose change is notified as an attribute value change. */
  function attributesOf(ticket: SimulatedTicket): Json {
    const {
      sellerSeverity,
      sellerPriority,
      expectedResolutionDate,
      note,
      attachment,
      relatedIssue,
      workOrder,
    } = ticket;
    return {
      sellerSeverity,
      sellerPriority,
      expectedResolutionDate,
      note,
      attachment,
      relatedContactInformation: ticket.relatedContactInformation,
      relatedIssue,
      workOrder,
    };
  }

  /** A buyer request that changed the status: notified by status change only (R62; no R61 event for buyer updates). */
  function buyerStatusChanged(ticket: SimulatedTicket): void {
    notify(ticket, "troubleTicketStatusChangeEvent");
  }

  const seller: SimulatedSeller = {
    acknowledge(id, assessment = {}) {
      return sellerAction(id, (ticket) => {
        if (ticket.status !== "acknowledged")
          throw new IllegalTransitionError(id, ticket.status, "acknowledged");
        if (assessment.sellerPriority !== undefined) ticket["sellerPriority"] = assessment.sellerPriority;
        if (assessment.sellerSeverity !== undefined) ticket["sellerSeverity"] = assessment.sellerSeverity;
        if (assessment.expectedResolutionDate !== undefined) {
          ticket["expectedResolutionDate"] = assessment.expectedResolutionDate.toISOString();
          // R22: a changed expectedResolutionDate comes with a note.
          sellerNote(ticket, `Expected resolution: ${assessment.expectedResolutionDate.toISOString()}`);
        }
      });
    },
    progress(id, text) {
      return sellerAction(id, (ticket) => {
        transition(ticket, "inProgress");
        if (text !== undefined) sellerNote(ticket, text);
      });
    },
    requestInformation(id, text) {
      return sellerAction(id, (ticket) => {
        transition(ticket, "pending", "Information required from the Buyer");
        sellerNote(ticket, text);
      });
    },
    resolve(id, text) {
      return sellerAction(id, (ticket) => {
        transition(ticket, "resolved");
        ticket["resolutionDate"] = now().toISOString();
        sellerNote(ticket, text);
      });
    },
    reject(id, reason) {
      return sellerAction(id, (ticket) => {
        if (ticket.status === "acknowledged") transition(ticket, "inProgress");
        transition(ticket, "resolved", `Declined by the Seller: ${reason}`);
        ticket["resolutionDate"] = now().toISOString();
        sellerNote(ticket, `Declined: ${reason}`);
      });
    },
    addNote(id, text) {
      return sellerAction(id, (ticket) => {
        if (ticket.status === "closed" || ticket.status === "cancelled") {
          throw new IllegalTransitionError(id, ticket.status, ticket.status);
        }
        sellerNote(ticket, text);
      });
    },
    acceptCancellation(id) {
      return sellerAction(id, (ticket) =>
        transition(ticket, "cancelled", "Cancelled at the Buyer's request"),
      );
    },
    closeUnconfirmed(id) {
      return sellerAction(id, (ticket) =>
        transition(ticket, "closed", "No Buyer response within the agreed confirmation time"),
      );
    },
    refuseNextCreate(reason) {
      refuseCreate = reason;
    },
  };

  // --- request checks ---

  function checkAuth(c: Context<SimulatorEnv>): void {
    const header = c.req.header("authorization");
    if (header === undefined)
      throw new MefApiError(401, { code: "missingCredentials", reason: "No credentials provided" });
    const credentials = readCredentials(header);
    if (credentials?.scheme !== "bearer" || !tokens.has(credentials.token)) {
      throw new MefApiError(401, {
        code: "invalidCredentials",
        reason: "Provided credentials are invalid or expired",
      });
    }
  }

  /** Query parameters against the operation's declared ones (the contract validator checks bodies only). */
  function checkQuery(c: Context<SimulatorEnv>, location: string): void {
    const operation = atPointer(contract.management.spec.document, location);
    const declared = new Map<string, Json>();
    for (const parameter of isJson(operation) ? jsonArray(operation["parameters"]) : []) {
      if (parameter["in"] === "query" && typeof parameter["name"] === "string") {
        declared.set(parameter["name"], isJson(parameter["schema"]) ? parameter["schema"] : {});
      }
    }
    const query = c.req.query();
    for (const [name, value] of Object.entries(query)) {
      const schema = declared.get(name);
      if (schema === undefined) throw badRequest("invalidQuery", `Unknown query parameter ${name}`);
      if (value === "") throw badRequest("missingQueryValue", `Query parameter ${name} has no value`);
      const allowed = Array.isArray(schema["enum"]) ? schema["enum"] : null;
      if (allowed !== null && !allowed.includes(value)) {
        throw badRequest("invalidQuery", `${name}=${value} is not one of ${allowed.join(", ")}`);
      }
      if (schema["type"] === "integer" && !/^\d+$/.test(value)) {
        throw badRequest("invalidQuery", `${name} must be a non-negative integer`);
      }
      if (schema["format"] === "date-time" && Number.isNaN(Date.parse(value))) {
        throw badRequest("invalidQuery", `${name} must be a date-time`);
      }
    }
    // R3-R7: buyerId/sellerId only (and then always) when the seller serves several parties.
    for (const [name, expected] of [
      ["buyerId", options.buyerId],
      ["sellerId", options.sellerId],
    ] as const) {
      const presented = query[name];
      if (expected === undefined && presented !== undefined) {
        throw badRequest(
          "invalidQuery",
          `${name} MUST NOT be sent: this Seller does not serve several parties`,
        );
      }
      if (expected !== undefined && presented === undefined) {
        throw badRequest("missingQueryParameter", `${name} is required by this Seller`);
      }
      if (expected !== undefined && presented !== expected) {
        throw new MefApiError(403, {
          code: "forbiddenRequester",
          reason: `${name} ${presented} is not served here`,
        });
      }
    }
  }

  function describeErrors(result: ContractResult): string {
    return result.ok
      ? ""
      : result.errors.map((error) => `${error.path || "(body)"} ${error.message}`).join("; ");
  }

  // --- the API ---

  const app = new Hono<SimulatorEnv>();
  const base = managementBasePath;

  const json = (c: Context<SimulatorEnv>, body: unknown, status: 200 | 201 = 200) =>
    c.body(JSON.stringify(body), status, { "content-type": jsonContentType });

  app.onError((error, c) => {
    if (error instanceof MefApiError) {
      return c.body(JSON.stringify(error.body), error.status, { "content-type": jsonContentType });
    }
    return c.body(
      JSON.stringify({ code: "internalError", reason: "Internal server error", message: String(error) }),
      500,
      { "content-type": jsonContentType },
    );
  });

  // Outer layer: records the request, then checks whatever answer the inner layers produced
  // (handler or error) against the spec before it leaves.
  app.use(`${base}/*`, async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    const text = method === "GET" || method === "DELETE" ? "" : await c.req.text();
    let body: unknown = text === "" ? undefined : text;
    try {
      body = text === "" ? undefined : JSON.parse(text);
      c.set("body", body);
    } catch {
      c.set("body", unreadableBody);
    }
    kit.record({ method, path, query: c.req.query(), body });

    await next();

    const fault = c.get("fault");
    const operation = contract.management.findOperation(method, path)?.operation;
    if (fault?.kind !== "status" && operation !== undefined) {
      const responseText = await c.res.clone().text();
      let responseBody: unknown = responseText;
      try {
        responseBody = responseText === "" ? undefined : JSON.parse(responseText);
      } catch {
        // Kept as text; the validator reports it.
      }
      const result = contract.management.validateResponse({
        method,
        path,
        status: c.res.status,
        body: responseBody,
        contentType: c.res.headers.get("content-type") ?? undefined,
      });
      const verdict =
        operation.operationId === "listTroubleTicket"
          ? toleratingUnsetFindAttributes(result, responseBody)
          : result;
      if (!verdict.ok) {
        contractViolations.push({
          kind: "response",
          operation: `${method} ${operation.pathTemplate}`,
          status: c.res.status,
          body: responseBody,
          errors: verdict.errors,
        });
        c.res = new Response(
          JSON.stringify({
            code: "internalError",
            reason: "The simulator produced a response the spec does not allow",
            message: describeErrors(verdict),
          }),
          { status: 500, headers: { "content-type": jsonContentType } },
        );
      }
    }
    if (fault?.kind === "timeout") await sleep(fault.delayMs);
  });

  // Inner layer: credentials, injected faults, then the request against the spec.
  app.use(`${base}/*`, async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    checkAuth(c);
    const fault = kit.takeRequestFault(method, path);
    c.set("fault", fault);
    if (fault?.kind === "status") {
      if (fault.retryAfterSeconds !== undefined) c.header("Retry-After", String(fault.retryAfterSeconds));
      if (fault.status === 500) {
        return c.body(JSON.stringify({ code: "internalError", reason: "Simulated failure" }), 500, {
          "content-type": jsonContentType,
        });
      }
      // Rate limits and gateway errors come from the API gateway in front of the MEF API, not from MEF.
      return c.body(`{"message":"simulated ${fault.status}"}`, fault.status, {
        "content-type": "application/json",
      });
    }

    const matched = contract.management.findOperation(method, path);
    if (matched === undefined) throw notFound(`${method} ${path}`);
    checkQuery(c, matched.operation.location);
    const body = c.get("body");
    if (body === unreadableBody) throw badRequest("invalidBody", "The request body is not JSON");
    const checked = contract.management.validateRequest({
      method,
      path,
      body,
      contentType: c.req.header("content-type"),
    });
    if (!checked.ok) {
      throw badRequest(
        "invalidBody",
        `The request does not conform to ${matched.operation.operationId ?? matched.operation.pathTemplate}`,
        describeErrors(checked),
      );
    }
    await next();
  });

  // listTroubleTicket (§6.2): equality filters, date ranges, offset/limit.
  app.get(`${base}/troubleTicket`, (c) => {
    const query = c.req.query();
    const equalityFilters: Record<string, string> = {
      externalId: "externalId",
      priority: "priority",
      sellerPriority: "sellerPriority",
      severity: "severity",
      sellerSeverity: "sellerSeverity",
      ticketType: "ticketType",
      status: "status",
      observedImpact: "observedImpact",
    };
    const rangeFilters = ["creationDate", "expectedResolutionDate", "resolutionDate"];
    const matching = [...tickets.values()].filter((ticket) => {
      for (const [parameter, attribute] of Object.entries(equalityFilters)) {
        const wanted = query[parameter];
        if (wanted !== undefined && ticket[attribute] !== wanted) return false;
      }
      const entity = jsonArray(ticket["relatedEntity"])[0];
      if (query["relatedEntityId"] !== undefined && entity?.["id"] !== query["relatedEntityId"]) return false;
      if (
        query["relatedEntityType"] !== undefined &&
        entity?.["@referredType"] !== query["relatedEntityType"]
      ) {
        return false;
      }
      for (const attribute of rangeFilters) {
        const value =
          typeof ticket[attribute] === "string" ? Date.parse(ticket[attribute] as string) : Number.NaN;
        const after = query[`${attribute}.gt`];
        const before = query[`${attribute}.lt`];
        if (after !== undefined && !(value > Date.parse(after))) return false;
        if (before !== undefined && !(value < Date.parse(before))) return false;
      }
      return true;
    });
    const offset = Number(query["offset"] ?? "0");
    const limit = Number(query["limit"] ?? "100");
    const page = matching.slice(offset, offset + limit).map((ticket) => {
      const item: Json = {};
      for (const attribute of findAttributes)
        if (ticket[attribute] !== undefined) item[attribute] = ticket[attribute];
      return item;
    });
    c.header("X-Total-Count", String(matching.length));
    c.header("X-Result-Count", String(page.length));
    return json(c, page);
  });

  // createTroubleTicket (§6.1): R9-R13.
  app.post(`${base}/troubleTicket`, (c) => {
    const body = c.get("body") as Json;
    const issues: { code: string; reason: string; propertyPath?: string }[] = [];
    const contacts = jsonArray(body["relatedContactInformation"]);
    if (!contacts.some((contact) => contact["role"] === "reporterContact")) {
      issues.push({
        code: "missingProperty",
        reason: "A relatedContactInformation item with role reporterContact is required (R9)",
        propertyPath: "/relatedContactInformation",
      });
    }
    for (const list of ["note", "attachment", "relatedIssue"] as const) {
      jsonArray(body[list]).forEach((item, index) => {
        if (item["source"] !== "buyer") {
          issues.push({
            code: "invalidValue",
            reason: `Items the Buyer adds must have source=buyer (R16, R17)`,
            propertyPath: `/${list}/${index}/source`,
          });
        }
      });
    }
    jsonArray(body["attachment"]).forEach((attachment, index) => {
      if (
        attachment["url"] === undefined &&
        (attachment["content"] === undefined || attachment["mimeType"] === undefined)
      ) {
        issues.push({
          code: "missingProperty",
          reason: "An attachment needs url, or content and mimeType (R10)",
          propertyPath: `/attachment/${index}`,
        });
      }
    });
    if (refuseCreate !== null) {
      issues.push({ code: "otherIssue", reason: refuseCreate });
      refuseCreate = null;
    }
    if (issues.length > 0) throw unprocessable(issues);

    const id = randomUUID();
    const created = now();
    const priority = String(body["priority"]);
    const ticket: SimulatedTicket = {
      ...structuredClone(body),
      id,
      href: `${serverUrl}${base}/troubleTicket/${id}`,
      creationDate: created.toISOString(),
      expectedResolutionDate: new Date(
        created.getTime() + (resolutionHours[priority] ?? 24) * 3_600_000,
      ).toISOString(),
      sellerPriority: priority,
      sellerSeverity: body["severity"],
      status: "acknowledged",
      statusChange: [{ changeDate: created.toISOString(), status: "acknowledged" }],
      note: jsonArray(body["note"]),
      relatedContactInformation: [
        ...contacts,
        // R12: the seller names its ticket contact.
        {
          emailAddress: "ticket.contact@seller.example",
          name: "Seller Ticket Contact",
          number: "+1-555-0100",
          organization: "Simulated Seller",
          role: "sellerTicketContact",
        },
      ],
    };
    tickets.set(id, ticket);
    c.header("Location", ticket.href);
    return json(c, ticket, 201);
  });

  app.get(`${base}/troubleTicket/:id`, (c) => json(c, ticketOrThrow(c.req.param("id"))));

  // patchTroubleTicket (§6.4): merge patch of the buyer-updatable attributes, R29-R37.
  app.patch(`${base}/troubleTicket/:id`, (c) => {
    const current = ticketOrThrow(c.req.param("id"));
    const patch = c.get("body") as Json;
    if (unpatchableStatuses.has(current.status)) {
      throw unprocessable([
        { code: "otherIssue", reason: `The Trouble Ticket is ${current.status}; it cannot be patched (R35)` },
      ]);
    }
    if (!patchableAttributes.some((attribute) => patch[attribute] !== undefined)) {
      throw unprocessable([
        { code: "missingProperty", reason: "At least one updatable attribute is required (R29)" },
      ]);
    }
    const issues: { code: string; reason: string; propertyPath?: string }[] = [];
    const appendOnly = (
      list: "note" | "attachment" | "relatedIssue",
      keyOf: (item: Json) => string | null,
    ) => {
      if (patch[list] === undefined) return 0;
      const sent = jsonArray(patch[list]);
      const existing = jsonArray(current[list]);
      // R20/R21/R32: every existing item resent unchanged; merge patch replaces the list, so an
      // item left out would be a deletion.
      for (const item of existing) {
        if (!sent.some((candidate) => sameJson(candidate, item))) {
          issues.push({
            code: "invalidValue",
            reason: `${list} items may be added but not modified or deleted (R20, R32): ${keyOf(item) ?? "an item"} is missing or changed`,
            propertyPath: `/${list}`,
          });
        }
      }
      const added = sent.filter((item) => !existing.some((candidate) => sameJson(candidate, item)));
      added.forEach((item) => {
        if (item["source"] !== "buyer") {
          issues.push({
            code: "invalidValue",
            reason: `New ${list} items must have source=buyer (R16)`,
            propertyPath: `/${list}`,
          });
        }
        const key = keyOf(item);
        if (key !== null && existing.some((candidate) => keyOf(candidate) === key)) {
          issues.push({
            code: "invalidValue",
            reason: `${list} ${key} already exists`,
            propertyPath: `/${list}`,
          });
        }
      });
      return added.length;
    };
    const addedNotes = appendOnly("note", (note) => (typeof note["id"] === "string" ? note["id"] : null));
    appendOnly("attachment", (attachment) =>
      typeof attachment["attachmentId"] === "string" ? attachment["attachmentId"] : null,
    );
    if (patch["relatedIssue"] !== undefined)
      appendOnly("relatedIssue", (issue) => `${issue["@referredType"]}/${issue["id"]}`);
    if (patch["relatedContactInformation"] !== undefined) {
      const sent = jsonArray(patch["relatedContactInformation"]);
      for (const contact of current.relatedContactInformation.filter((item) =>
        String(item["role"]).startsWith("seller"),
      )) {
        if (!sent.some((candidate) => sameJson(candidate, contact))) {
          issues.push({
            code: "invalidValue",
            reason: `Seller contacts may not be modified or deleted by the Buyer (R32): ${String(contact["role"])}`,
            propertyPath: "/relatedContactInformation",
          });
        }
      }
      if (!sent.some((contact) => contact["role"] === "reporterContact")) {
        issues.push({
          code: "missingProperty",
          reason: "reporterContact is required",
          propertyPath: "/relatedContactInformation",
        });
      }
    }
    const changedNeedingNote = attributesNeedingANote.filter(
      (attribute) => patch[attribute] !== undefined && !sameJson(patch[attribute], current[attribute]),
    );
    if (changedNeedingNote.length > 0 && addedNotes === 0) {
      issues.push({
        code: "missingProperty",
        reason: `Patching ${changedNeedingNote.join(", ")} requires a new note (R30)`,
        propertyPath: "/note",
      });
    }
    if (issues.length > 0) throw unprocessable(issues);

    const updated = structuredClone(current);
    for (const attribute of patchableAttributes) {
      if (patch[attribute] !== undefined) (updated as Json)[attribute] = structuredClone(patch[attribute]);
    }
    const wasPending = updated.status === "pending";
    // R37: the buyer's answer ends the clock stop.
    if (wasPending) transition(updated, "inProgress", "The Buyer provided information");
    tickets.set(updated.id, updated);
    if (wasPending) buyerStatusChanged(updated);
    return json(c, updated);
  });

  // cancelTroubleTicket (§6.5): R38-R40; the assessment follows.
  app.post(`${base}/troubleTicket/:id/cancel`, (c) => {
    const ticket = ticketOrThrow(c.req.param("id"));
    if (!cancellableStatuses.has(ticket.status)) {
      throw unprocessable([
        {
          code: "otherIssue",
          reason: `The Trouble Ticket is ${ticket.status}; only acknowledged, inProgress or pending tickets can be cancelled (R40)`,
        },
      ]);
    }
    buyerTransition(ticket, "assessingCancellation", "R38");
    buyerStatusChanged(ticket);
    if ((options.cancellation ?? "auto") === "auto") {
      kit.track(
        sleep(0).then(() => {
          if (tickets.get(ticket.id)?.status === "assessingCancellation")
            seller.acceptCancellation(ticket.id);
        }),
      );
    }
    return c.body(null, 204);
  });

  // closeTroubleTicket (§6.6): R42, R47.
  app.post(`${base}/troubleTicket/:id/close`, (c) => {
    const ticket = ticketOrThrow(c.req.param("id"));
    buyerTransition(ticket, "closed", "only a resolved ticket can be closed, R47");
    buyerStatusChanged(ticket);
    return c.body(null, 204);
  });

  // reopenTroubleTicket (§6.6): R43, R45, R46.
  app.post(`${base}/troubleTicket/:id/reopen`, (c) => {
    const ticket = ticketOrThrow(c.req.param("id"));
    const reason = String((c.get("body") as Json)["reason"]);
    if (reason.trim() === "") {
      throw unprocessable([
        { code: "missingProperty", reason: "A reason is required (R43)", propertyPath: "/reason" },
      ]);
    }
    buyerTransition(ticket, "reopened", "only a resolved ticket can be reopened, R45");
    ticket.note.push({
      id: `closure-rejection-${ticket.note.length + 1}`,
      author: "closureRejection",
      date: now().toISOString(),
      source: "buyer",
      text: reason,
    });
    buyerStatusChanged(ticket);
    return c.body(null, 204);
  });

  // listIncident / retrieveIncident (§6.7, §6.8): the simulated seller has no incidents.
  app.get(`${base}/incident`, (c) => {
    c.header("X-Total-Count", "0");
    c.header("X-Result-Count", "0");
    return json(c, []);
  });
  app.get(`${base}/incident/:id`, (c) => {
    throw notFound(`Incident ${c.req.param("id")}`);
  });

  // registerListener / retrieveHub / unregisterListener (§6.9).
  app.post(`${base}/hub`, (c) => {
    const body = c.get("body") as Json;
    const callback = String(body["callback"]);
    const query = typeof body["query"] === "string" ? body["query"] : undefined;
    let parsed: URL | null = null;
    try {
      parsed = new URL(callback);
    } catch {
      parsed = null;
    }
    if (parsed === null || !/^https?:$/.test(parsed.protocol)) {
      throw badRequest("invalidBody", "callback must be an absolute http(s) URL");
    }
    const types = subscribedEventTypes(query);
    const unknown =
      types === null
        ? ["(not an eventType query)"]
        : [...types].filter((type) => !allEventTypes.includes(type as EventType));
    if (unknown.length > 0)
      throw badRequest("invalidBody", `Unsupported query: ${unknown.join(", ")} (R58: eventType only)`);
    const subscription: HubSubscription = {
      id: randomUUID(),
      callback: callback.replace(/\/+$/, ""),
      ...(query === undefined ? {} : { query }),
    };
    hubs.set(subscription.id, subscription);
    return json(c, subscription, 201);
  });
  app.get(`${base}/hub/:id`, (c) => {
    const subscription = hubs.get(c.req.param("id"));
    if (subscription === undefined) throw notFound(`Hub ${c.req.param("id")}`);
    return json(c, subscription);
  });
  app.delete(`${base}/hub/:id`, (c) => {
    if (!hubs.delete(c.req.param("id"))) throw notFound(`Hub ${c.req.param("id")}`);
    return c.body(null, 204);
  });

  app.notFound((c) =>
    c.body(JSON.stringify({ code: "notFound", reason: `${c.req.method} ${c.req.path} not found` }), 404, {
      "content-type": jsonContentType,
    }),
  );

  return {
    app,
    tickets,
    hubs,
    seller,
    faults: kit.faults,
    requests: kit.exchanges,
    notifications,
    contractViolations,
    setServerUrl(url) {
      serverUrl = url.replace(/\/+$/, "");
    },
    settled: kit.settled,
  };
}
