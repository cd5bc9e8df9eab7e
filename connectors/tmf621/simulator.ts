import { setTimeout as sleep } from "node:timers/promises";
import { type Context, Hono } from "hono";
import type { ContractResult, ContractValidator } from "../sdk/contract/index.js";
import {
  type FaultMatch as CommonFaultMatch,
  createSimulatorKit,
  readCredentials,
} from "../sdk/testing/simulator-kit.js";
import { eventTypeOf, type TmfStatus, type TroubleTicketEventName, tmfStatuses } from "./api-types.js";
import type { Tmf621Version } from "./config.js";

// An in-memory TMF621 carrier serving v4.0.0 under /tmf-api/troubleTicket/v4 and v5.0.1 under
// /tmf-api/troubleTicket/v5, for tests, local development and demos. Every request is validated against the
// official spec of its version (400 with a TMF Error body when it does not conform) and every response and
// event it produces is validated too (violations are collected in `contractViolations`). Where the specs
// leave behaviour open it picks the strict reading, so client mistakes show: notes are append-only, status
// changes follow TMF621's example state machine, server-owned fields cannot be written.
// https://github.com/tmforum-apis/TMF621_TroubleTicket

type JsonObject = Record<string, unknown>;

export interface Tmf621SimulatorOptions {
  /**
   * Contract validators of the official specs (`createContractValidator(loadSpec(...))` from
   * `connectors/sdk/contract`). Passed in so this module does not load ajv or read spec files itself.
   */
  contract: Record<Tmf621Version, ContractValidator>;
  /** Base of `href`s; set it once the listening port is known (see `setOrigin`). */
  origin?: string;
  now?: () => Date;
  /** Delivers events. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** A static bearer token the API accepts. Default `simulator-token`. */
  bearerToken?: string;
  /** The client accepted by the client-credentials grant at `POST /oauth2/token`. */
  oauth2Client?: { clientId: string; clientSecret: string };
  /** The status a new ticket gets. Default none: the carrier acknowledges it later (`carrier.acknowledge`). */
  statusOnCreate?: TmfStatus;
  /** Behave like a carrier without TMF630 attribute filtering: list filters are ignored. */
  ignoreFilters?: boolean;
  /** Page size cap on `GET /troubleTicket`. Default 100. */
  maxPageSize?: number;
  /** Author of the carrier's notes. Default `Carrier NOC`. */
  carrierAuthor?: string;
  /** `false`: events carry no `eventId` (optional in both versions), as some carriers send them. */
  eventIds?: boolean;
}

/** Restricts a fault to some requests; all given conditions must hold. */
export interface FaultMatch extends CommonFaultMatch {
  version?: Tmf621Version;
}

/**
 * A fault consumed by the next `times` matching API requests (or events).
 * - `status`: answer with the status instead of handling the request (nothing is applied).
 * - `timeout`: handle the request (writes are applied), then hold the response `delayMs`.
 * - `drop-events`: the carrier loses the event notifications (nothing is delivered).
 */
export type Tmf621SimulatorFault =
  | {
      kind: "status";
      status: 429 | 500 | 502 | 503 | 504;
      retryAfterSeconds?: number;
      times: number;
      match?: FaultMatch;
    }
  | { kind: "timeout"; delayMs: number; times: number; match?: FaultMatch }
  | { kind: "drop-events"; times: number };

export interface RecordedRequest {
  version: Tmf621Version;
  method: string;
  /** Path below the version's base path, e.g. `/troubleTicket/3`. */
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  body: unknown;
  /** The request checked against the official spec. */
  contract: ContractResult;
  /** Set when a fault answered instead of the simulator. */
  fault?: Tmf621SimulatorFault["kind"];
}

export interface ContractViolation {
  kind: "response" | "event";
  version: Tmf621Version;
  method: string;
  path: string;
  status?: number;
  body: unknown;
  result: ContractResult;
}

export interface EventDelivery {
  version: Tmf621Version;
  hubId: string;
  name: TroubleTicketEventName;
  url: string;
  body: JsonObject;
  /** Listener response status, or null when the delivery failed. */
  status: number | null;
  error?: string;
}

export interface StoredTicket {
  version: Tmf621Version;
  /** The ticket exactly as `GET /troubleTicket/{id}` returns it. */
  ticket: JsonObject;
}

export interface StoredHub {
  version: Tmf621Version;
  id: string;
  callback: string;
  query: string | null;
}

/** The carrier's own people working its tickets. Each call changes the ticket and notifies like a carrier. */
export interface ScriptedCarrier {
  acknowledge(id: string, reason?: string): JsonObject;
  progress(id: string, reason?: string): JsonObject;
  hold(id: string, reason: string): JsonObject;
  /** Status `pending`, a carrier note asking `text`, and a TroubleTicketInformationRequiredEvent. */
  requestInformation(id: string, text: string): JsonObject;
  /** A carrier note with `text`, status `resolved`, and a TroubleTicketResolvedEvent. */
  resolve(id: string, text: string): JsonObject;
  reject(id: string, reason: string): JsonObject;
  addNote(id: string, text: string): JsonObject;
}

/** Hono environment of the simulator: the request as the validating middleware read it. */
export interface Tmf621SimulatorEnv {
  Variables: { tmf: RequestState };
}

export interface Tmf621Simulator {
  app: Hono<Tmf621SimulatorEnv>;
  tickets: Map<string, StoredTicket>;
  hubs: Map<string, StoredHub>;
  /** Push faults here; each is removed once used `times` times. */
  faults: Tmf621SimulatorFault[];
  /** Every API request received, in order, with its contract check. */
  requests: RecordedRequest[];
  /** Responses and events the simulator produced that its spec rejects; empty unless the simulator has a bug. */
  contractViolations: ContractViolation[];
  events: {
    delivered: EventDelivery[];
    dropped: { version: Tmf621Version; name: TroubleTicketEventName; body: JsonObject }[];
  };
  carrier: ScriptedCarrier;
  basePath(version: Tmf621Version): string;
  setOrigin(origin: string): void;
  /** Resolves when every event delivery started so far has finished. */
  settled(): Promise<void>;
}

/** TMF621's example state machine ("a basic set of states ... as an example"), strictly enforced here. */
const transitions: Record<TmfStatus | "", readonly TmfStatus[]> = {
  "": ["acknowledged", "rejected", "cancelled"],
  acknowledged: ["inProgress", "pending", "held", "resolved", "rejected", "cancelled"],
  inProgress: ["pending", "held", "resolved", "cancelled"],
  pending: ["inProgress", "held", "resolved", "cancelled"],
  held: ["inProgress", "pending", "resolved", "cancelled"],
  // A resolution the customer does not accept goes back to work.
  resolved: ["closed", "inProgress", "acknowledged"],
  rejected: [],
  closed: [],
  cancelled: [],
};

/** Written by the server only: v4 `TroubleTicket_Update` skips these, v5 populates them itself. */
const serverOwnedFields = [
  "id",
  "href",
  "creationDate",
  "lastUpdate",
  "statusChange",
  "statusChangeHistory",
  "statusChangeDate",
];
const pagingParameters = new Set(["fields", "offset", "limit", "sort", "before", "after", "filter"]);
const filterOperators = ["gte", "gt", "lte", "lt"] as const;

/** Raised for requests the carrier refuses; rendered as a TMF Error body. */
class TmfApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 409 | 501,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export interface RequestState {
  version: Tmf621Version;
  /** Path below the version's base path. */
  path: string;
  body: unknown;
  contentType: string | null;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStatus(value: unknown): value is TmfStatus {
  return typeof value === "string" && (tmfStatuses as readonly string[]).includes(value);
}

function essence(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** JSON equality: member order does not matter, array order does. */
function sameJson(left: unknown, right: unknown): boolean {
  if (Array.isArray(left) || Array.isArray(right)) {
    return (
      Array.isArray(left) &&
      Array.isArray(right) &&
      left.length === right.length &&
      left.every((item, index) => sameJson(item, right[index]))
    );
  }
  if (isObject(left) && isObject(right)) {
    const keys = Object.keys(left);
    return (
      keys.length === Object.keys(right).length &&
      keys.every((key) => key in right && sameJson(left[key], right[key]))
    );
  }
  return left === right;
}

/** RFC 7396 JSON Merge Patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON Patch on a copy of `document`. */
function jsonPatch(document: JsonObject, operations: readonly JsonObject[]): JsonObject {
  const patchError = (detail: string) => new TmfApiError(400, "Invalid JSON Patch", detail);
  const root: { doc: unknown } = { doc: structuredClone(document) };
  const tokens = (pointer: unknown): string[] => {
    if (typeof pointer !== "string" || (pointer !== "" && !pointer.startsWith("/"))) {
      throw patchError(`${JSON.stringify(pointer)} is not a JSON pointer`);
    }
    return pointer === ""
      ? []
      : pointer
          .slice(1)
          .split("/")
          .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
  };
  const parentOf = (path: string[]): { container: unknown; key: string } => {
    let container: unknown = root;
    let key = "doc";
    for (const token of path) {
      container = (container as JsonObject)[key];
      key = token;
      if (!isObject(container) && !Array.isArray(container)) {
        throw patchError(`/${path.join("/")}: a parent does not exist`);
      }
    }
    return { container, key };
  };
  const read = (path: string[]): unknown => {
    const { container, key } = parentOf(path);
    const value = Array.isArray(container) ? container[Number(key)] : (container as JsonObject)[key];
    if (value === undefined) throw patchError(`/${path.join("/")} does not exist`);
    return value;
  };
  const remove = (path: string[]): unknown => {
    const value = read(path);
    const { container, key } = parentOf(path);
    if (Array.isArray(container)) container.splice(Number(key), 1);
    else delete (container as JsonObject)[key];
    return value;
  };
  const add = (path: string[], value: unknown): void => {
    const { container, key } = parentOf(path);
    if (Array.isArray(container)) {
      const index = key === "-" ? container.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > container.length) {
        throw patchError(`/${path.join("/")}: index out of bounds`);
      }
      container.splice(index, 0, value);
    } else {
      (container as JsonObject)[key] = value;
    }
  };
  for (const operation of operations) {
    const path = tokens(operation["path"]);
    switch (operation["op"]) {
      case "add":
        add(path, structuredClone(operation["value"]));
        break;
      case "remove":
        remove(path);
        break;
      case "replace":
        read(path);
        remove(path);
        add(path, structuredClone(operation["value"]));
        break;
      case "move":
        add(path, remove(tokens(operation["from"])));
        break;
      case "copy":
        add(path, structuredClone(read(tokens(operation["from"]))));
        break;
      case "test":
        if (!sameJson(read(path), operation["value"])) {
          throw patchError(`test failed at ${String(operation["path"])}`);
        }
        break;
      default:
        throw patchError(`unknown op ${JSON.stringify(operation["op"])}`);
    }
  }
  if (!isObject(root.doc)) throw patchError("the patch replaced the ticket with a non-object");
  return root.doc;
}

/** Values at a dotted path, flattening arrays on the way (TMF630: `externalIdentifier.id`). */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (path.length === 0) return Array.isArray(value) ? value : [value];
  if (Array.isArray(value)) return value.flatMap((item) => valuesAt(item, path));
  if (!isObject(value)) return [];
  return valuesAt(value[path[0]!], path.slice(1));
}

function matchesFilter(ticket: JsonObject, name: string, wanted: string): boolean {
  const operator = filterOperators.find((candidate) => name.endsWith(`.${candidate}`));
  const field = operator === undefined ? name : name.slice(0, -(operator.length + 1));
  const values = valuesAt(ticket, field.split("."));
  return values.some((value) => {
    if (operator === undefined) return String(value) === wanted;
    if (typeof value !== "string") return false;
    // Dates compare as instants; other strings as text.
    const left = Date.parse(value);
    const right = Date.parse(wanted);
    const order =
      Number.isNaN(left) || Number.isNaN(right) ? value.localeCompare(wanted) : Math.sign(left - right);
    return { gt: order > 0, gte: order >= 0, lt: order < 0, lte: order <= 0 }[operator];
  });
}

/** Creates a simulated carrier. Serve `app` with @hono/node-server, or call `app.request` directly. */
export function createTmf621Simulator(options: Tmf621SimulatorOptions): Tmf621Simulator {
  const now = options.now ?? (() => new Date());
  const bearerToken = options.bearerToken ?? "simulator-token";
  const maxPageSize = options.maxPageSize ?? 100;
  const carrierAuthor = options.carrierAuthor ?? "Carrier NOC";
  let origin = (options.origin ?? "http://tmf621.simulator").replace(/\/+$/, "");
  const tickets = new Map<string, StoredTicket>();
  const hubs = new Map<string, StoredHub>();
  // Events go to each hub's callback, so the kit's own webhook target is not used.
  const kit = createSimulatorKit<Tmf621SimulatorFault, RecordedRequest>(options, { dropKind: "drop-events" });
  const contractViolations: ContractViolation[] = [];
  const events: Tmf621Simulator["events"] = { delivered: [], dropped: [] };
  const issuedTokens = new Set<string>();
  let sequence = 1;
  const nextId = () => String(sequence++);

  const basePath = (version: Tmf621Version) => `/tmf-api/troubleTicket/${version}`;
  const hrefOf = (version: Tmf621Version, id: string) => `${origin}${basePath(version)}/troubleTicket/${id}`;

  function errorBody(version: Tmf621Version, status: number, reason: string, message: string): JsonObject {
    const body: JsonObject = { code: String(status), reason, message, status: String(status) };
    return version === "v5" ? { ...body, "@type": "Error" } : body;
  }

  function stored(id: string, version?: Tmf621Version): StoredTicket {
    const entry = tickets.get(id);
    if (entry === undefined || (version !== undefined && entry.version !== version)) {
      throw new TmfApiError(404, "Not Found", `no trouble ticket ${id}`);
    }
    return entry;
  }

  // ---- events ----------------------------------------------------------------------------------------

  function hubWants(hub: StoredHub, eventType: string): boolean {
    // TMF630 hub queries such as `eventType=TroubleTicketStatusChangeEvent,TroubleTicketResolvedEvent`.
    const wanted = /(?:^|&)eventType=([^&]*)/.exec(hub.query ?? "")?.[1];
    return wanted === undefined || decodeURIComponent(wanted).split(",").includes(eventType);
  }

  function eventTicket(version: Tmf621Version, ticket: JsonObject, name: TroubleTicketEventName): JsonObject {
    if (name === "troubleTicketCreateEvent") return structuredClone(ticket);
    if (name === "troubleTicketDeleteEvent") {
      const ref: JsonObject = { id: ticket["id"], href: ticket["href"] };
      return version === "v5" ? { ...ref, "@type": "TroubleTicketRef" } : ref;
    }
    // Carriers send a partial ticket in change events; the receiver reads the whole one back.
    const partial: JsonObject = {};
    for (const field of [
      "id",
      "href",
      "status",
      "statusChangeDate",
      "statusChangeReason",
      "lastUpdate",
      "@type",
    ]) {
      if (ticket[field] !== undefined) partial[field] = ticket[field];
    }
    return partial;
  }

  function emit(
    version: Tmf621Version,
    name: TroubleTicketEventName,
    ticket: JsonObject,
    details: { fieldPath?: string; informationRequired?: JsonObject } = {},
  ): void {
    const eventType = eventTypeOf(name);
    const eventTime = now().toISOString();
    const payload: JsonObject = { troubleTicket: eventTicket(version, ticket, name) };
    const eventId = options.eventIds === false ? {} : { eventId: `evt-${nextId()}` };
    let body: JsonObject;
    if (version === "v4") {
      // v4 spells it `timeOcurred`; `fieldPath` exists on the change and information-required events.
      body = {
        ...eventId,
        eventTime,
        eventType,
        timeOcurred: eventTime,
        title: eventType,
        event: payload,
      };
      if (details.fieldPath !== undefined) body["fieldPath"] = details.fieldPath;
    } else {
      if (details.informationRequired !== undefined)
        payload["informationRequired"] = details.informationRequired;
      body = {
        ...eventId,
        eventTime,
        eventType,
        timeOccurred: eventTime,
        title: eventType,
        event: payload,
        "@type": eventType,
        "@baseType": "Event",
      };
    }
    const listenerPath = `/listener/${name}`;
    const check = options.contract[version].validateRequest({ method: "POST", path: listenerPath, body });
    if (!check.ok)
      contractViolations.push({
        kind: "event",
        version,
        method: "POST",
        path: listenerPath,
        body,
        result: check,
      });

    for (const hub of hubs.values()) {
      if (hub.version !== version || !hubWants(hub, eventType)) continue;
      if (kit.dropWebhook()) {
        events.dropped.push({ version, name, body });
        continue;
      }
      const url = `${hub.callback.replace(/\/+$/, "")}${listenerPath}`;
      kit.deliver(
        url,
        { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
        (outcome) => {
          events.delivered.push({ version, hubId: hub.id, name, url, body, ...outcome });
        },
      );
    }
  }

  // ---- ticket changes ----------------------------------------------------------------------------------

  function setStatus(entry: StoredTicket, status: TmfStatus, reason: string | undefined, at: string): void {
    const { ticket, version } = entry;
    const current = isStatus(ticket["status"]) ? ticket["status"] : "";
    if (!transitions[current].includes(status)) {
      throw new TmfApiError(
        409,
        "Invalid status transition",
        `${current || "(no status)"} -> ${status} is not allowed; allowed: ${transitions[current].join(", ") || "none"}`,
      );
    }
    ticket["status"] = status;
    ticket["statusChangeDate"] = at;
    if (reason !== undefined) ticket["statusChangeReason"] = reason;
    else delete ticket["statusChangeReason"];
    if (status === "resolved") ticket["resolutionDate"] = at;
    if (version === "v4") {
      const history = Array.isArray(ticket["statusChange"]) ? ticket["statusChange"] : [];
      history.push(
        reason === undefined ? { status, changeDate: at } : { status, changeDate: at, changeReason: reason },
      );
      ticket["statusChange"] = history;
    } else {
      const history = Array.isArray(ticket["statusChangeHistory"]) ? ticket["statusChangeHistory"] : [];
      const change: JsonObject = { status, statusChangeDate: at, "@type": "StatusChange" };
      if (reason !== undefined) change["statusChangeReason"] = reason;
      history.push(change);
      ticket["statusChangeHistory"] = history;
    }
  }

  /** Gives notes without an id or date the server's, the way carriers number their notes. */
  function stampNotes(version: Tmf621Version, notes: unknown, at: string): unknown[] | undefined {
    if (notes === undefined) return undefined;
    if (!Array.isArray(notes)) throw new TmfApiError(400, "Bad Request", "note must be an array");
    return notes.map((note) => {
      if (!isObject(note)) throw new TmfApiError(400, "Bad Request", "a note must be an object");
      const stamped: JsonObject = { ...note };
      stamped["id"] ??= `note-${nextId()}`;
      stamped["date"] ??= at;
      if (version === "v5") stamped["@type"] ??= "Note";
      return stamped;
    });
  }

  function createTicket(version: Tmf621Version, body: JsonObject): StoredTicket {
    const at = now().toISOString();
    const id = nextId();
    const ticket: JsonObject = {};
    for (const [field, value] of Object.entries(body)) {
      // The carrier owns the id, dates and status; a status in the request is not the buyer's to set.
      if (serverOwnedFields.includes(field) || field === "status" || field === "statusChangeReason") continue;
      ticket[field] = structuredClone(value);
    }
    Object.assign(ticket, { id, href: hrefOf(version, id), creationDate: at, lastUpdate: at });
    if (version === "v5") ticket["@type"] = "TroubleTicket";
    const notes = stampNotes(version, ticket["note"], at);
    if (notes !== undefined) ticket["note"] = notes;
    const entry: StoredTicket = { version, ticket };
    if (options.statusOnCreate !== undefined) setStatus(entry, options.statusOnCreate, "Ticket received", at);
    tickets.set(id, entry);
    emit(version, "troubleTicketCreateEvent", ticket);
    return entry;
  }

  /** Applies a patched copy after checking what a carrier with append-only notes would check. */
  function applyPatch(entry: StoredTicket, patched: JsonObject): void {
    const before = entry.ticket;
    for (const field of serverOwnedFields) {
      if (!sameJson(patched[field], before[field])) {
        throw new TmfApiError(400, "Bad Request", `${field} is set by the server and cannot be patched`);
      }
    }
    const at = now().toISOString();
    const oldNotes = Array.isArray(before["note"]) ? before["note"] : [];
    const newNotes = stampNotes(entry.version, patched["note"], at) ?? [];
    const altered = oldNotes.findIndex((note, index) => !sameJson(note, newNotes[index]));
    if (altered !== -1) {
      throw new TmfApiError(
        400,
        "Bad Request",
        `notes are append-only: note ${altered} was removed or changed (a merge patch replaces the whole array; resend the existing notes)`,
      );
    }
    const statusBefore = before["status"];
    const next: StoredTicket = { version: entry.version, ticket: { ...patched, status: statusBefore } };
    if (patched["note"] !== undefined) next.ticket["note"] = newNotes;
    if (statusBefore === undefined) delete next.ticket["status"];
    const statusAfter = patched["status"];
    const statusChanged = statusAfter !== undefined && statusAfter !== statusBefore;
    if (statusChanged) {
      if (!isStatus(statusAfter))
        throw new TmfApiError(400, "Bad Request", `unknown status ${String(statusAfter)}`);
      const reason =
        typeof patched["statusChangeReason"] === "string" ? patched["statusChangeReason"] : undefined;
      setStatus(next, statusAfter, reason, at);
    }
    next.ticket["lastUpdate"] = at;
    const changedFields = Object.keys({ ...before, ...next.ticket }).filter(
      (field) =>
        !["lastUpdate", "statusChange", "statusChangeHistory", "statusChangeDate"].includes(field) &&
        !sameJson(before[field], next.ticket[field]),
    );
    tickets.set(String(before["id"]), next);
    if (statusChanged) {
      emit(
        entry.version,
        statusAfter === "resolved" ? "troubleTicketResolvedEvent" : "troubleTicketStatusChangeEvent",
        next.ticket,
      );
    } else if (changedFields.length > 0) {
      emit(entry.version, "troubleTicketAttributeValueChangeEvent", next.ticket, {
        fieldPath: changedFields.join(","),
      });
    }
  }

  function carrierNote(version: Tmf621Version, text: string, at: string): JsonObject {
    const note: JsonObject = { id: `note-${nextId()}`, author: carrierAuthor, date: at, text };
    return version === "v5" ? { ...note, "@type": "Note" } : note;
  }

  function carrierChange(
    id: string,
    change: (entry: StoredTicket, at: string) => TroubleTicketEventName,
    details: (entry: StoredTicket) => { fieldPath?: string; informationRequired?: JsonObject } = () => ({}),
  ): JsonObject {
    const current = stored(id);
    const entry: StoredTicket = { version: current.version, ticket: structuredClone(current.ticket) };
    const at = now().toISOString();
    const name = change(entry, at);
    entry.ticket["lastUpdate"] = at;
    tickets.set(id, entry);
    emit(entry.version, name, entry.ticket, details(entry));
    return structuredClone(entry.ticket);
  }

  const addCarrierNote = (entry: StoredTicket, text: string, at: string) => {
    const notes = Array.isArray(entry.ticket["note"]) ? entry.ticket["note"] : [];
    notes.push(carrierNote(entry.version, text, at));
    entry.ticket["note"] = notes;
  };

  const statusEvent = (status: TmfStatus, reason?: string) => (entry: StoredTicket, at: string) => {
    setStatus(entry, status, reason, at);
    return "troubleTicketStatusChangeEvent" as const;
  };

  const carrier: ScriptedCarrier = {
    acknowledge: (id, reason) => carrierChange(id, statusEvent("acknowledged", reason ?? "Ticket accepted")),
    progress: (id, reason) => carrierChange(id, statusEvent("inProgress", reason ?? "Work started")),
    hold: (id, reason) => carrierChange(id, statusEvent("held", reason)),
    reject: (id, reason) => carrierChange(id, statusEvent("rejected", reason)),
    requestInformation: (id, text) =>
      carrierChange(
        id,
        (entry, at) => {
          addCarrierNote(entry, text, at);
          setStatus(entry, "pending", text, at);
          return "troubleTicketInformationRequiredEvent";
        },
        // v5 says what is required as a JSON Patch operation; v4 names the field.
        (entry) =>
          entry.version === "v5"
            ? { informationRequired: { op: "add", path: "/note" } }
            : { fieldPath: "note" },
      ),
    resolve: (id, text) =>
      carrierChange(id, (entry, at) => {
        addCarrierNote(entry, text, at);
        setStatus(entry, "resolved", text, at);
        return "troubleTicketResolvedEvent";
      }),
    addNote: (id, text) =>
      carrierChange(
        id,
        (entry, at) => {
          addCarrierNote(entry, text, at);
          return "troubleTicketAttributeValueChangeEvent";
        },
        () => ({ fieldPath: "note" }),
      ),
  };

  // ---- HTTP ----------------------------------------------------------------------------------------------

  const app = new Hono<Tmf621SimulatorEnv>();
  const api = "/tmf-api/troubleTicket/:version";

  function selectFields(ticket: JsonObject, fields: string | undefined): JsonObject {
    if (fields === undefined || fields.trim() === "") return ticket;
    // TMF630: id, href and @type always come back.
    const wanted = new Set(["id", "href", "@type", ...fields.split(",").map((field) => field.trim())]);
    return Object.fromEntries(Object.entries(ticket).filter(([field]) => wanted.has(field)));
  }

  app.onError((error, c) => {
    const version: Tmf621Version = c.get("tmf")?.version ?? "v5";
    if (error instanceof TmfApiError) {
      return c.json(errorBody(version, error.status, error.reason, error.detail), error.status);
    }
    return c.json(errorBody(version, 500, "Internal Server Error", String(error)), 500);
  });

  // RFC 6749 §4.4 client credentials, so the SDK's OAuth2 path can be exercised end to end.
  app.post("/oauth2/token", async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const client = options.oauth2Client;
    if (
      form.get("grant_type") !== "client_credentials" ||
      client === undefined ||
      form.get("client_id") !== client.clientId ||
      form.get("client_secret") !== client.clientSecret
    ) {
      return c.json({ error: "invalid_client" }, 401);
    }
    const token = `sim-oauth-${nextId()}-${Math.random().toString(36).slice(2)}`;
    issuedTokens.add(token);
    return c.json({ access_token: token, token_type: "Bearer", expires_in: 3600 });
  });

  app.use(`${api}/*`, async (c, next) => {
    const versionParam = c.req.param("version");
    if (versionParam !== "v4" && versionParam !== "v5") {
      return c.json(errorBody("v5", 404, "Not Found", `no TMF621 ${versionParam} here`), 404);
    }
    const version: Tmf621Version = versionParam;
    const path = c.req.path.slice(basePath(version).length) || "/";
    const method = c.req.method;
    const contentType = c.req.header("content-type") ?? null;
    const text = method === "GET" || method === "DELETE" ? "" : await c.req.text();
    let body: unknown;
    let unreadable = false;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      unreadable = true;
    }
    const validator = options.contract[version];
    const contract: ContractResult = unreadable
      ? { ok: false, errors: [{ path: "", message: "body is not JSON" }] }
      : validator.validateRequest({ method, path, body, ...(contentType === null ? {} : { contentType }) });
    const record: RecordedRequest = {
      version,
      method,
      path,
      query: c.req.query(),
      contentType,
      body,
      contract,
    };
    kit.record(record);
    c.set("tmf", { version, path, body, contentType });

    // Every answer the simulator itself gives is checked against the spec as well (injected faults are not
    // the simulator's answers, and an operation the spec lacks has nothing to check against).
    const checkAnswer = async (answer: Response): Promise<void> => {
      if (validator.findOperation(method, path) === undefined) return;
      const answerText = await answer.clone().text();
      const answerBody: unknown = answerText === "" ? undefined : JSON.parse(answerText);
      const check = validator.validateResponse({ method, path, status: answer.status, body: answerBody });
      if (!check.ok) {
        contractViolations.push({
          kind: "response",
          version,
          method,
          path,
          status: answer.status,
          body: answerBody,
          result: check,
        });
      }
    };
    const refuse = async (error: TmfApiError): Promise<Response> => {
      const answer = c.json(errorBody(version, error.status, error.reason, error.detail), error.status);
      await checkAnswer(answer);
      return answer;
    };

    const credentials = readCredentials(c.req.header("authorization"));
    const presented = credentials?.scheme === "bearer" ? credentials.token : undefined;
    if (presented === undefined || (presented !== bearerToken && !issuedTokens.has(presented))) {
      return refuse(new TmfApiError(401, "Unauthorized", "a valid bearer token is required"));
    }

    const fault = kit.takeRequestFault(
      method,
      path,
      (candidate) =>
        !("match" in candidate) ||
        candidate.match?.version === undefined ||
        candidate.match.version === version,
    );
    if (fault?.kind === "status") {
      record.fault = "status";
      if (fault.retryAfterSeconds !== undefined) c.header("Retry-After", String(fault.retryAfterSeconds));
      // Gateway errors and maintenance pages come from the load balancer, not the TMF application.
      if (fault.status === 502 || fault.status === 503 || fault.status === 504) {
        return c.html("<html><body><h1>Service Unavailable</h1></body></html>", fault.status);
      }
      const reason = fault.status === 429 ? "Too Many Requests" : "Internal Server Error";
      return c.json(errorBody(version, fault.status, reason, "injected fault"), fault.status);
    }

    if (validator.findOperation(method, path) === undefined) {
      const exists = ["GET", "POST", "PATCH", "DELETE"].some((other) => validator.findOperation(other, path));
      return refuse(
        new TmfApiError(
          exists ? 405 : 404,
          exists ? "Method Not Allowed" : "Not Found",
          `${method} ${path} is not in TMF621 ${version}`,
        ),
      );
    }
    if (!contract.ok) {
      const detail = contract.errors.map((error) => `${error.path || "(body)"}: ${error.message}`).join("; ");
      return refuse(
        new TmfApiError(400, "Bad Request", `the request does not conform to TMF621 ${version}: ${detail}`),
      );
    }

    await next();
    await checkAnswer(c.res);
    if (fault?.kind === "timeout") {
      record.fault = "timeout";
      await sleep(fault.delayMs);
    }
  });

  const requestOf = (c: Context<Tmf621SimulatorEnv>) => c.get("tmf");

  app.get(`${api}/troubleTicket`, (c) => {
    const { version } = requestOf(c);
    const query = c.req.query();
    let rows = [...tickets.values()]
      .filter((entry) => entry.version === version)
      .map((entry) => entry.ticket);
    if (options.ignoreFilters !== true) {
      for (const [name, value] of Object.entries(query)) {
        if (pagingParameters.has(name)) continue;
        rows = rows.filter((ticket) => matchesFilter(ticket, name, value));
      }
    }
    const offset = Math.max(0, Number(query["offset"] ?? "0") || 0);
    const limit = Math.min(
      maxPageSize,
      Math.max(1, Number(query["limit"] ?? String(maxPageSize)) || maxPageSize),
    );
    const page = rows.slice(offset, offset + limit).map((ticket) => selectFields(ticket, query["fields"]));
    c.header("X-Total-Count", String(rows.length));
    c.header("X-Result-Count", String(page.length));
    return c.json(page);
  });

  app.post(`${api}/troubleTicket`, (c) => {
    const { version, body } = requestOf(c);
    const entry = createTicket(version, body as JsonObject);
    c.header("Location", String(entry.ticket["href"]));
    return c.json(entry.ticket, 201);
  });

  app.get(`${api}/troubleTicket/:id`, (c) => {
    const { version } = requestOf(c);
    return c.json(selectFields(stored(c.req.param("id"), version).ticket, c.req.query("fields")));
  });

  app.patch(`${api}/troubleTicket/:id`, (c) => {
    const { version, body, contentType } = requestOf(c);
    const id = c.req.param("id");
    const entry = stored(id, version);
    const type = essence(contentType);
    let patched: JsonObject;
    if (type === "application/json-patch+json") {
      patched = jsonPatch(entry.ticket, body as JsonObject[]);
    } else if (type === "application/json-patch-query+json") {
      throw new TmfApiError(
        501,
        "Not Implemented",
        "the simulator does not implement application/json-patch-query+json",
      );
    } else {
      // v4 `application/json` and v5 `application/merge-patch+json` / `application/json`: merge semantics.
      patched = mergePatch(structuredClone(entry.ticket), body) as JsonObject;
    }
    applyPatch(entry, patched);
    return c.json(stored(id).ticket, 200);
  });

  app.post(`${api}/hub`, (c) => {
    const { version, body } = requestOf(c);
    const input = body as JsonObject;
    const hub: StoredHub = {
      version,
      id: `hub-${nextId()}`,
      callback: String(input["callback"]),
      query: typeof input["query"] === "string" ? input["query"] : null,
    };
    hubs.set(hub.id, hub);
    c.header("Location", `${origin}${basePath(version)}/hub/${hub.id}`);
    return c.json(hubBody(hub), 201);
  });

  function hubBody(hub: StoredHub): JsonObject {
    const body: JsonObject = { id: hub.id, callback: hub.callback };
    if (hub.query !== null) body["query"] = hub.query;
    return hub.version === "v5" ? { ...body, "@type": "Hub" } : body;
  }

  function storedHub(id: string, version: Tmf621Version): StoredHub {
    const hub = hubs.get(id);
    if (hub === undefined || hub.version !== version) throw new TmfApiError(404, "Not Found", `no hub ${id}`);
    return hub;
  }

  app.get(`${api}/hub/:id`, (c) => c.json(hubBody(storedHub(c.req.param("id"), requestOf(c).version))));

  app.delete(`${api}/hub/:id`, (c) => {
    const hub = storedHub(c.req.param("id"), requestOf(c).version);
    hubs.delete(hub.id);
    return c.body(null, 204);
  });

  app.notFound((c) => {
    const version = c.get("tmf")?.version ?? "v5";
    return c.json(
      errorBody(version, 404, "Not Found", `${c.req.method} ${c.req.path} is not simulated`),
      404,
    );
  });

  return {
    app,
    tickets,
    hubs,
    faults: kit.faults,
    requests: kit.exchanges,
    contractViolations,
    events,
    carrier,
    basePath,
    setOrigin(url) {
      origin = url.replace(/\/+$/, "");
    },
    settled: kit.settled,
  };
}
