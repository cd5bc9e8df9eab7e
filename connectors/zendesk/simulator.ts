import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Context, Hono } from "hono";
import {
  type CommonFault,
  createSimulatorKit,
  type FaultMatch,
  readCredentials,
} from "../sdk/testing/simulator-kit.js";
import { zendeskPriorities } from "./config.js";
import { toUtcSeconds } from "./mapping.js";
import { invocationIdHeader, signatureHeader, signatureTimestampHeader } from "./webhook.js";

// An in-memory Zendesk Support account for the calls the connector makes, for tests, local
// development and demos. Response bodies follow Zendesk's oas.yaml (the contract tests check
// them); where the spec is silent (errors, pagination metadata) they follow the API reference:
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
// One deliberate difference: fields the spec types as non-nullable are left out when empty,
// where the real API sends null. The client accepts both.

export interface SimulatorUser {
  id: number;
  name: string;
  email: string;
  role: "admin" | "agent" | "end-user";
}

/** Seeded users. The integration user is an admin, as the incremental export requires. */
export const simulatorUsers = {
  integration: { id: 9001, name: "Ticket Sync Integration", email: "sync@client.example", role: "admin" },
  agent: { id: 9002, name: "Agent Smith", email: "agent.smith@client.example", role: "agent" },
  requester: { id: 9003, name: "Abel Tuter", email: "abel.tuter@example.com", role: "end-user" },
} as const satisfies Record<string, SimulatorUser>;

export interface SimulatorWebhookOptions {
  /** The gateway's webhook URL for the connection. */
  url: string;
  /** The webhook's signing secret. */
  secret: string;
  /**
   * `trigger`: our trigger's JSON body (docs/connectors/zendesk.md), one per update.
   * `event`: ticket event subscriptions (`zen:event-type:ticket.*`), one per changed property.
   */
  kind: "trigger" | "event";
  /**
   * Also notify changes made by the integration user, like a trigger without the recommended
   * "Current user is not <integration user>" condition. Default false.
   */
  includeIntegrationUser?: boolean;
}

export interface ZendeskSimulatorOptions {
  /** The integration user's API token (`{email}/token:{apiToken}`). Default `simulator-api-token`. */
  apiToken?: string;
  /** An OAuth access token accepted as `Bearer`. Default `simulator-oauth-token`. */
  oauthToken?: string;
  /** Base of URLs in responses; set it once the listening port is known. */
  accountUrl?: string;
  webhook?: SimulatorWebhookOptions;
  now?: () => Date;
  /** Delivers webhooks. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** The account's requests a minute (Suite Growth: 400). Default 700. */
  requestsPerMinute?: number;
  /** Default 10, Zendesk's incremental export limit. */
  incrementalRequestsPerMinute?: number;
}

export type { FaultMatch };

/**
 * A fault consumed by the next `times` matching requests (or webhooks): the simulator kit's, and `conflict`,
 * which answers a safe_update PUT with 409 as if an agent had saved just before.
 */
export type SimulatorFault = CommonFault | { kind: "conflict"; times: number; match?: FaultMatch };

/** One request and the response the simulator gave, for assertions and the contract test. */
export interface RecordedExchange {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  /** Parsed JSON body, or `{bytes}` for an upload. */
  body: unknown;
  userId: number | null;
  status: number;
  /** Parsed JSON response body, `undefined` when not JSON. */
  responseBody: unknown;
}

export interface SimAttachment {
  id: number;
  file_name: string;
  content_type: string;
  size: number;
  token: string;
  bytes: Uint8Array;
}

export interface SimTicket {
  id: number;
  external_id: string | null;
  subject: string;
  description: string;
  status: string;
  priority: string | null;
  requester_id: number;
  submitter_id: number;
  assignee_id: number | null;
  brand_id: number | null;
  custom_fields: { id: number; value: unknown }[];
  tags: string[];
  created_at: string;
  updated_at: string;
  generated_timestamp: number;
  followup_source_id: number | null;
}

export interface SimComment {
  id: number;
  ticket_id: number;
  audit_id: number;
  author_id: number;
  body: string;
  public: boolean;
  created_at: string;
  attachments: SimAttachment[];
}

export interface SimAuditEvent {
  id: number;
  type: "Create" | "Change" | "Comment";
  field_name?: string;
  value?: string | number;
  previous_value?: string | number;
  body?: string;
  public?: boolean;
}

export interface SimAudit {
  id: number;
  ticket_id: number;
  author_id: number;
  created_at: string;
  events: SimAuditEvent[];
}

export interface SimulatorState {
  tickets: Map<number, SimTicket>;
  comments: SimComment[];
  audits: SimAudit[];
  users: Map<number, SimulatorUser>;
  uploads: Map<string, SimAttachment[]>;
}

export interface WebhookDelivery {
  body: Record<string, unknown>;
  /** Response status, or null when the delivery failed. */
  status: number | null;
  error?: string;
}

export interface ZendeskSimulator {
  app: Hono<{ Variables: { exchange: RecordedExchange } }>;
  state: SimulatorState;
  /** Push faults here; each is removed once used `times` times. */
  faults: SimulatorFault[];
  /** Every API request received, with the response given, in order. */
  requests: RecordedExchange[];
  webhooks: { delivered: WebhookDelivery[]; dropped: Record<string, unknown>[] };
  apiToken: string;
  oauthToken: string;
  setAccountUrl(url: string): void;
  /** A human edit in Zendesk by an agent (fields as the API names them). */
  simulateAgentUpdate(
    ticketId: number,
    fields: Record<string, unknown>,
    options?: { authorId?: number },
  ): SimTicket;
  /** A human comment: public reply or internal note; `uploads` attaches files from {@link simulateAgentUpload}. */
  simulateAgentComment(
    ticketId: number,
    comment: { body: string; public: boolean; uploads?: string[] },
    options?: { authorId?: number },
  ): SimComment;
  /** A file an agent uploads in the UI before commenting; returns the upload token for `uploads`. */
  simulateAgentUpload(file: { fileName: string; contentType: string; bytes: Uint8Array }): string;
  /** A ticket created in Zendesk by someone other than the integration user. */
  simulateAgentCreate(fields: Record<string, unknown>, options?: { authorId?: number }): SimTicket;
  /** Resolves when every webhook delivery started so far has finished. */
  settled(): Promise<void>;
}

/** Raised for requests Zendesk would refuse; rendered in Zendesk's error envelope. */
class ZendeskApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 422,
    readonly body: Record<string, unknown>,
  ) {
    super(JSON.stringify(body));
  }
}

function recordInvalid(field: string, description: string): ZendeskApiError {
  return new ZendeskApiError(422, {
    error: "RecordInvalid",
    description: "Record validation errors",
    details: { [field]: [{ description }] },
  });
}

const notFound = () => new ZendeskApiError(404, { error: "RecordNotFound", description: "Not found" });

/** The cursor of the incremental export: after (generated_timestamp, id). */
function encodeCursor(position: { t: number; id: number }): string {
  return Buffer.from(`${position.t}.0||${position.id}|`).toString("base64");
}

function decodeCursor(cursor: string): { t: number; id: number } | null {
  const match = /^(\d+)\.0\|\|(\d+)\|$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
  return match === null ? null : { t: Number(match[1]), id: Number(match[2]) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Creates a simulated account. Serve `app` with @hono/node-server or call `app.request` directly. */
export function createZendeskSimulator(options: ZendeskSimulatorOptions = {}): ZendeskSimulator {
  const apiToken = options.apiToken ?? "simulator-api-token";
  const oauthToken = options.oauthToken ?? "simulator-oauth-token";
  const now = options.now ?? (() => new Date());
  const perMinute = options.requestsPerMinute ?? 700;
  const incrementalPerMinute = options.incrementalRequestsPerMinute ?? 10;
  let accountUrl = (options.accountUrl ?? "https://simulator.zendesk.com").replace(/\/+$/, "");
  const state: SimulatorState = {
    tickets: new Map(),
    comments: [],
    audits: [],
    users: new Map(Object.values(simulatorUsers).map((user) => [user.id, { ...user }])),
    uploads: new Map(),
  };
  const kit = createSimulatorKit<SimulatorFault, RecordedExchange, SimulatorWebhookOptions>(options);
  const webhooks: ZendeskSimulator["webhooks"] = { delivered: [], dropped: [] };
  const webhookId = randomBytes(13).toString("hex").toUpperCase();
  let nextTicketId = 1001;
  let nextId = 500_001;
  let nextUserId = 9100;
  const rateWindow = { startMs: 0, count: 0 };
  const incrementalStartsMs: number[] = [];

  const iso = () => toUtcSeconds(now());
  const seconds = () => Math.floor(now().getTime() / 1000);

  // ---- rendering: the shapes of oas.yaml ----

  function renderAttachment(attachment: SimAttachment): Record<string, unknown> {
    const contentUrl = `${accountUrl}/attachments/token/${attachment.token}/?name=${encodeURIComponent(attachment.file_name)}`;
    return {
      content_type: attachment.content_type,
      content_url: contentUrl,
      deleted: false,
      file_name: attachment.file_name,
      id: attachment.id,
      inline: false,
      mapped_content_url: contentUrl,
      size: attachment.size,
      thumbnails: [],
      url: `${accountUrl}/api/v2/attachments/${attachment.id}.json`,
    };
  }

  function renderTicket(ticket: SimTicket): Record<string, unknown> {
    const rendered: Record<string, unknown> = {
      id: ticket.id,
      url: `${accountUrl}/api/v2/tickets/${ticket.id}.json`,
      subject: ticket.subject,
      raw_subject: ticket.subject,
      description: ticket.description,
      status: ticket.status,
      requester_id: ticket.requester_id,
      submitter_id: ticket.submitter_id,
      custom_fields: ticket.custom_fields,
      tags: ticket.tags,
      collaborator_ids: [],
      follower_ids: [],
      email_cc_ids: [],
      sharing_agreement_ids: [],
      has_incidents: false,
      is_public: state.comments.some((comment) => comment.ticket_id === ticket.id && comment.public),
      allow_attachments: true,
      allow_channelback: false,
      from_messaging_channel: false,
      due_at: null,
      via: { channel: "api", source: { from: {}, to: {}, rel: null } },
      created_at: ticket.created_at,
      updated_at: ticket.updated_at,
      generated_timestamp: ticket.generated_timestamp,
    };
    if (ticket.external_id !== null) rendered["external_id"] = ticket.external_id;
    if (ticket.priority !== null) rendered["priority"] = ticket.priority;
    if (ticket.assignee_id !== null) rendered["assignee_id"] = ticket.assignee_id;
    if (ticket.brand_id !== null) rendered["brand_id"] = ticket.brand_id;
    if (ticket.status === "closed") {
      rendered["followup_ids"] = [...state.tickets.values()]
        .filter((candidate) => candidate.followup_source_id === ticket.id)
        .map((candidate) => candidate.id);
    }
    return rendered;
  }

  function renderComment(comment: SimComment): Record<string, unknown> {
    return {
      id: comment.id,
      type: "Comment",
      author_id: comment.author_id,
      body: comment.body,
      html_body: `<div class="zd-comment"><p>${comment.body.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/\n/g, "<br>")}</p></div>`,
      plain_body: comment.body,
      public: comment.public,
      audit_id: comment.audit_id,
      created_at: comment.created_at,
      attachments: comment.attachments.map(renderAttachment),
      metadata: { system: {}, custom: {} },
      via: { channel: "api", source: { from: {}, to: {}, rel: null } },
    };
  }

  function renderAudit(audit: SimAudit): Record<string, unknown> {
    return {
      id: audit.id,
      ticket_id: audit.ticket_id,
      author_id: audit.author_id,
      created_at: audit.created_at,
      events: audit.events,
      metadata: { system: {}, custom: {} },
      via: { channel: "api", source: { from: {}, to: {}, rel: null } },
    };
  }

  function renderUser(user: SimulatorUser): Record<string, unknown> {
    return {
      id: user.id,
      url: `${accountUrl}/api/v2/users/${user.id}.json`,
      name: user.name,
      email: user.email,
      role: user.role,
      phone: null,
      active: true,
      verified: true,
      time_zone: "UTC",
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
    };
  }

  // ---- webhooks ----

  function deliver(body: Record<string, unknown>): void {
    const webhook = kit.webhookTarget();
    if (webhook === undefined) return;
    if (kit.dropWebhook()) {
      webhooks.dropped.push(body);
      return;
    }
    const rawBody = JSON.stringify(body);
    const timestamp = iso();
    const signature = createHmac("sha256", webhook.secret)
      .update(timestamp + rawBody)
      .digest("base64");
    kit.deliver(
      webhook.url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "user-agent": "Zendesk Webhook",
          "x-zendesk-webhook-id": webhookId,
          [invocationIdHeader]: randomUUID(),
          [signatureTimestampHeader]: timestamp,
          [signatureHeader]: signature,
        },
        body: rawBody,
      },
      (outcome) => webhooks.delivered.push({ body, ...outcome }),
    );
  }

  function notify(ticket: SimTicket, audit: SimAudit, created: boolean): void {
    const webhook = kit.webhookTarget();
    if (webhook === undefined) return;
    if (audit.author_id === simulatorUsers.integration.id && webhook.includeIntegrationUser !== true) return;
    if (webhook.kind === "trigger") {
      // Our trigger's body; {{ticket.updated_at_with_timestamp}} renders to the minute.
      deliver({
        ticket_id: String(ticket.id),
        updated_at: `${ticket.updated_at.slice(0, 16)}Z`,
        external_id: ticket.external_id ?? "",
        actor_id: String(audit.author_id),
      });
      return;
    }
    const detail = {
      id: String(ticket.id),
      actor_id: String(audit.author_id),
      assignee_id: ticket.assignee_id === null ? null : String(ticket.assignee_id),
      brand_id: ticket.brand_id === null ? null : String(ticket.brand_id),
      created_at: ticket.created_at,
      external_id: ticket.external_id ?? "",
      priority: ticket.priority?.toUpperCase() ?? null,
      requester_id: String(ticket.requester_id),
      status: ticket.status.toUpperCase(),
      subject: ticket.subject,
      updated_at: ticket.updated_at,
      via: { channel: "api_call" },
    };
    const sequence = { id: randomUUID(), position: 0 };
    const envelope = (type: string, event: Record<string, unknown>) => {
      sequence.position += 1;
      return {
        type: `zen:event-type:ticket.${type}`,
        account_id: 12514403,
        id: randomUUID(),
        time: iso(),
        zendesk_event_version: "2022-11-06",
        subject: `zen:ticket:${ticket.id}`,
        detail,
        event: { ...event, meta: { sequence: { ...sequence } } },
      };
    };
    if (created) {
      deliver(envelope("created", {}));
      return;
    }
    for (const event of audit.events) {
      if (event.type === "Comment") {
        deliver(
          envelope("comment_added", {
            comment: {
              id: String(event.id),
              body: event.body,
              is_public: event.public,
              author: { id: String(audit.author_id), is_staff: true },
            },
          }),
        );
      } else if (event.field_name !== undefined) {
        const type =
          event.field_name === "custom_fields" ? "custom_field_changed" : `${event.field_name}_changed`;
        deliver(envelope(type, { current: event.value ?? null, previous: event.previous_value ?? null }));
      }
    }
  }

  // ---- writes ----

  function userByEmail(requester: unknown): number | null {
    if (!isRecord(requester) || typeof requester["email"] !== "string") return null;
    const email = requester["email"].toLowerCase();
    for (const user of state.users.values()) if (user.email.toLowerCase() === email) return user.id;
    const id = nextUserId++;
    const name = typeof requester["name"] === "string" ? requester["name"] : email;
    state.users.set(id, { id, name, email, role: "end-user" });
    return id;
  }

  function attachmentsFor(uploads: unknown): SimAttachment[] {
    if (uploads === undefined) return [];
    if (!Array.isArray(uploads)) throw recordInvalid("base", "Uploads: must be an array of upload tokens");
    return uploads.flatMap((token) => {
      const found = typeof token === "string" ? state.uploads.get(token) : undefined;
      if (found === undefined)
        throw recordInvalid("base", `Uploads: token ${String(token)} is invalid or expired`);
      state.uploads.delete(token as string);
      return found;
    });
  }

  const writableFields = new Set([
    "subject",
    "status",
    "priority",
    "external_id",
    "assignee_id",
    "requester_id",
    "brand_id",
    "custom_fields",
    "tags",
  ]);

  /** Applies a create or update as Zendesk does: validation, an audit with its events, timestamps. */
  function save(
    existing: SimTicket | null,
    input: Record<string, unknown>,
    authorId: number,
  ): { ticket: SimTicket; audit: SimAudit } {
    const timestamp = iso();
    const events: SimAuditEvent[] = [];
    const comment = input["comment"];
    if (comment !== undefined && !isRecord(comment))
      throw recordInvalid("base", "Comment: must be an object");

    if (existing?.status === "closed") {
      const blocked = Object.keys(input).filter(
        (key) => !["subject", "priority", "tags", "safe_update", "updated_stamp"].includes(key),
      );
      if (blocked.length > 0) throw recordInvalid("status", "Status: closed prevents ticket update");
    }

    const ticket: SimTicket =
      existing === null
        ? {
            id: nextTicketId,
            external_id: null,
            subject: "",
            description: "",
            status: "new",
            priority: null,
            requester_id: authorId,
            submitter_id: authorId,
            assignee_id: null,
            brand_id: null,
            custom_fields: [],
            tags: [],
            created_at: timestamp,
            updated_at: timestamp,
            generated_timestamp: seconds(),
            followup_source_id: null,
          }
        : { ...existing, custom_fields: existing.custom_fields.map((field) => ({ ...field })) };

    if (existing === null) {
      const followUpOf = input["via_followup_source_id"];
      if (followUpOf !== undefined) {
        const source = typeof followUpOf === "number" ? state.tickets.get(followUpOf) : undefined;
        if (source === undefined || source.status !== "closed") {
          throw recordInvalid("base", "Via followup source: must be a closed ticket");
        }
        ticket.followup_source_id = source.id;
        ticket.requester_id = source.requester_id;
      }
      const requesterId = userByEmail(input["requester"]);
      if (requesterId !== null) ticket.requester_id = requesterId;
      if (!isRecord(comment) || typeof comment["body"] !== "string" || comment["body"].trim() === "") {
        throw recordInvalid("base", "Description: cannot be blank");
      }
    }

    for (const [field, value] of Object.entries(input)) {
      if (!writableFields.has(field)) continue;
      switch (field) {
        case "priority":
          if (!(zendeskPriorities as readonly unknown[]).includes(value)) {
            throw recordInvalid("priority", `Priority: ${String(value)} is not valid`);
          }
          break;
        case "status":
          if (
            typeof value !== "string" ||
            !["new", "open", "pending", "hold", "solved", "closed"].includes(value)
          ) {
            throw recordInvalid("status", `Status: ${String(value)} is not valid`);
          }
          if (value === "new" && existing !== null && existing.status !== "new") {
            throw recordInvalid("status", "Status: new is not valid for ticket update");
          }
          break;
        case "custom_fields":
          if (!Array.isArray(value)) throw recordInvalid("custom_fields", "Custom fields: must be an array");
          for (const entry of value) {
            if (!isRecord(entry) || typeof entry["id"] !== "number") continue;
            const current = ticket.custom_fields.find((candidate) => candidate.id === entry["id"]);
            if (current === undefined)
              ticket.custom_fields.push({ id: entry["id"], value: entry["value"] ?? null });
            else if (current.value !== entry["value"]) {
              events.push({
                id: nextId++,
                type: "Change",
                field_name: "custom_fields",
                value: String(entry["value"] ?? ""),
                previous_value: String(current.value ?? ""),
              });
              current.value = entry["value"] ?? null;
            }
          }
          continue;
      }
      const previous = (ticket as unknown as Record<string, unknown>)[field];
      if (previous === value) continue;
      (ticket as unknown as Record<string, unknown>)[field] = value;
      const loggable = (v: unknown) => (typeof v === "string" || typeof v === "number" ? v : undefined);
      const event: SimAuditEvent = {
        id: nextId++,
        type: existing === null ? "Create" : "Change",
        field_name: field,
      };
      const current = loggable(value);
      const before = loggable(previous);
      if (current !== undefined) event.value = current;
      if (existing !== null && before !== undefined) event.previous_value = before;
      events.push(event);
    }
    // An agent assigned at creation makes the ticket Open, as the agent UI does.
    if (existing === null && input["status"] === undefined && ticket.assignee_id !== null)
      ticket.status = "open";
    if ((ticket.status === "solved" || ticket.status === "closed") && ticket.assignee_id === null) {
      throw recordInvalid("base", "Assignee: is required when solving a ticket");
    }

    let newComment: SimComment | null = null;
    let audit: SimAudit;
    const auditId = nextId++;
    if (isRecord(comment)) {
      const body = typeof comment["body"] === "string" ? comment["body"] : "";
      if (body.trim() === "") throw recordInvalid("base", "Comment: cannot be blank");
      // "The initial value set on ticket creation persists for any additional comment unless you change it."
      const first = state.comments.find((candidate) => candidate.ticket_id === ticket.id);
      const isPublic = typeof comment["public"] === "boolean" ? comment["public"] : (first?.public ?? true);
      const author = typeof comment["author_id"] === "number" ? comment["author_id"] : authorId;
      newComment = {
        id: nextId++,
        ticket_id: ticket.id,
        audit_id: auditId,
        author_id: author,
        body,
        public: isPublic,
        created_at: timestamp,
        attachments: attachmentsFor(comment["uploads"]),
      };
      events.push({ id: newComment.id, type: "Comment", body, public: isPublic });
      if (existing === null) ticket.description = body;
    }

    if (existing === null) nextTicketId += 1;
    if (existing !== null && events.length === 0) {
      audit = { id: auditId, ticket_id: ticket.id, author_id: authorId, created_at: timestamp, events: [] };
      return { ticket: existing, audit };
    }
    ticket.updated_at = timestamp;
    ticket.generated_timestamp = seconds();
    audit = { id: auditId, ticket_id: ticket.id, author_id: authorId, created_at: timestamp, events };
    state.tickets.set(ticket.id, ticket);
    state.audits.push(audit);
    if (newComment !== null) state.comments.push(newComment);
    notify(ticket, audit, existing === null);
    return { ticket, audit };
  }

  // ---- HTTP ----

  function authenticatedUser(c: Context): number | null {
    const credentials = readCredentials(c.req.header("authorization"));
    // API tokens are Basic `{email}/token:{token}`; OAuth access tokens are Bearer.
    const accepted =
      credentials?.scheme === "basic"
        ? credentials.username === `${simulatorUsers.integration.email}/token` &&
          credentials.password === apiToken
        : credentials?.token === oauthToken;
    return accepted ? simulatorUsers.integration.id : null;
  }

  /** Spends one unit of the account-wide per-minute budget and reports it on the response. */
  function spendRateBudget(c: Context): { ok: boolean; resetSeconds: number } {
    const nowMs = now().getTime();
    const windowStartMs = nowMs - (nowMs % 60_000);
    if (rateWindow.startMs !== windowStartMs) Object.assign(rateWindow, { startMs: windowStartMs, count: 0 });
    rateWindow.count += 1;
    const remaining = Math.max(0, perMinute - rateWindow.count);
    const resetSeconds = Math.ceil((windowStartMs + 60_000 - nowMs) / 1000);
    c.header("X-Rate-Limit", String(perMinute));
    c.header("X-Rate-Limit-Remaining", String(remaining));
    c.header("ratelimit-limit", String(perMinute));
    c.header("ratelimit-remaining", String(remaining));
    c.header("ratelimit-reset", String(resetSeconds));
    return { ok: rateWindow.count <= perMinute, resetSeconds };
  }

  function tooManyRequests(c: Context, retryAfterSeconds: number): Response {
    c.header("Retry-After", String(retryAfterSeconds));
    // Zendesk answers some endpoint-specific 429s in plain text.
    return c.text("Too Many Requests", 429);
  }

  const app = new Hono<{ Variables: { exchange: RecordedExchange } }>();

  app.onError((error, c) => {
    if (error instanceof ZendeskApiError) return c.json(error.body, error.status);
    return c.json({ error: "InternalServerError", description: String(error) }, 500);
  });

  app.use("/api/v2/*", async (c, next) => {
    const method = c.req.method;
    const contentType = c.req.header("content-type") ?? null;
    let body: unknown;
    if (c.req.path === "/api/v2/uploads") body = undefined;
    else if (method === "POST" || method === "PUT") body = await c.req.json().catch(() => undefined);
    const userId = authenticatedUser(c);
    const exchange: RecordedExchange = {
      method,
      path: c.req.path,
      query: c.req.query(),
      contentType,
      body,
      userId,
      status: 0,
      responseBody: undefined,
    };
    kit.record(exchange);
    c.set("exchange", exchange);
    let fault: SimulatorFault | null = null;
    const budget = spendRateBudget(c);
    if (!budget.ok) {
      c.res = tooManyRequests(c, budget.resetSeconds);
    } else if (userId === null) {
      c.res = c.json({ error: "Couldn't authenticate you" }, 401);
    } else {
      fault = kit.takeRequestFault(method, c.req.path, (candidate) => candidate.kind !== "conflict");
      if (fault?.kind === "status") {
        if (fault.status === 429) c.res = tooManyRequests(c, fault.retryAfterSeconds ?? 1);
        else {
          if (fault.retryAfterSeconds !== undefined) c.header("Retry-After", String(fault.retryAfterSeconds));
          // Gateway errors and maintenance pages come from the edge as HTML.
          c.res = c.html("<html><body><h1>Service Unavailable</h1></body></html>", fault.status);
        }
      } else {
        await next();
      }
    }
    exchange.status = c.res.status;
    if ((c.res.headers.get("content-type") ?? "").includes("json")) {
      exchange.responseBody = await c.res
        .clone()
        .json()
        .catch(() => undefined);
    }
    if (fault?.kind === "timeout") await sleep(fault.delayMs);
  });

  function ticketOf(c: Context): SimTicket {
    const ticket = state.tickets.get(Number(c.req.param("ticketId")));
    if (ticket === undefined) throw notFound();
    return ticket;
  }

  function bodyTicket(body: unknown): Record<string, unknown> {
    if (!isRecord(body) || !isRecord(body["ticket"])) {
      throw new ZendeskApiError(400, {
        error: "InvalidEndpoint",
        description: 'Expected a {"ticket": {...}} body',
      });
    }
    return body["ticket"];
  }

  app.get("/api/v2/tickets", (c) => {
    const externalId = c.req.query("external_id");
    const tickets = [...state.tickets.values()]
      .filter((ticket) => externalId === undefined || ticket.external_id === externalId)
      .sort((a, b) => a.id - b.id)
      .slice(0, 100);
    return c.json({
      tickets: tickets.map(renderTicket),
      next_page: null,
      previous_page: null,
      count: tickets.length,
    });
  });

  app.post("/api/v2/tickets", async (c) => {
    const input = bodyTicket(await c.req.json().catch(() => undefined));
    const { ticket } = save(null, input, authenticatedUser(c)!);
    c.header("Location", `${accountUrl}/api/v2/tickets/${ticket.id}.json`);
    return c.json({ ticket: renderTicket(ticket) }, 201);
  });

  app.get("/api/v2/tickets/:ticketId", (c) => c.json({ ticket: renderTicket(ticketOf(c)) }));

  app.put("/api/v2/tickets/:ticketId", async (c) => {
    const existing = ticketOf(c);
    const input = bodyTicket(await c.req.json().catch(() => undefined));
    if (input["safe_update"] === true) {
      const stamp =
        typeof input["updated_stamp"] === "string" ? Date.parse(input["updated_stamp"]) : Number.NaN;
      if (Number.isNaN(stamp))
        throw recordInvalid("updated_stamp", "Updated stamp: is required with safe_update");
      const injected = kit.takeRequestFault("PUT", c.req.path, (fault) => fault.kind === "conflict");
      if (injected !== null || stamp < Date.parse(existing.updated_at)) {
        throw new ZendeskApiError(409, {
          error: "UpdateConflict",
          description:
            "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
        });
      }
    }
    const { ticket, audit } = save(existing, input, authenticatedUser(c)!);
    return c.json({ ticket: renderTicket(ticket), audit: renderAudit(audit) });
  });

  app.get("/api/v2/tickets/:ticketId/comments", (c) => {
    const ticket = ticketOf(c);
    const descending = c.req.query("sort") === "-created_at";
    const all = state.comments
      .filter((comment) => comment.ticket_id === ticket.id)
      .sort((a, b) => (descending ? b.id - a.id : a.id - b.id));
    const size = Math.min(100, Math.max(1, Number(c.req.query("page[size]") ?? "100") || 100));
    const after = c.req.query("page[after]");
    const afterId = after === undefined ? null : Number(Buffer.from(after, "base64").toString("utf8"));
    const start = afterId === null ? 0 : all.findIndex((comment) => comment.id === afterId) + 1;
    const page = all.slice(start, start + size);
    const hasMore = start + size < all.length;
    const cursorOf = (comment: SimComment | undefined) =>
      comment === undefined ? null : Buffer.from(String(comment.id)).toString("base64");
    const afterCursor = cursorOf(page.at(-1));
    const base = `${accountUrl}/api/v2/tickets/${ticket.id}/comments.json?page%5Bsize%5D=${size}`;
    return c.json({
      comments: page.map(renderComment),
      meta: { has_more: hasMore, after_cursor: afterCursor, before_cursor: cursorOf(page[0]) },
      links: { next: hasMore ? `${base}&page%5Bafter%5D=${afterCursor}` : null, prev: null },
    });
  });

  app.get("/api/v2/tickets/:ticketId/audits", (c) => {
    const ticket = ticketOf(c);
    const descending = c.req.query("sort_order") === "desc";
    const all = state.audits
      .filter((audit) => audit.ticket_id === ticket.id)
      .sort((a, b) => (descending ? b.id - a.id : a.id - b.id));
    const perPage = Math.min(100, Math.max(1, Number(c.req.query("per_page") ?? "100") || 100));
    const pageNumber = Math.max(1, Number(c.req.query("page") ?? "1") || 1);
    const page = all.slice((pageNumber - 1) * perPage, pageNumber * perPage);
    const next = pageNumber * perPage < all.length;
    return c.json({
      audits: page.map(renderAudit),
      count: all.length,
      next_page: next ? `${accountUrl}/api/v2/tickets/${ticket.id}/audits.json?page=${pageNumber + 1}` : null,
      previous_page: null,
    });
  });

  app.get("/api/v2/users/me", (c) => c.json({ user: renderUser(state.users.get(authenticatedUser(c)!)!) }));

  app.get("/api/v2/users/:userId", (c) => {
    const user = state.users.get(Number(c.req.param("userId")));
    if (user === undefined) throw notFound();
    return c.json({ user: renderUser(user) });
  });

  app.get("/api/v2/incremental/tickets/cursor", (c) => {
    const nowMs = now().getTime();
    while ((incrementalStartsMs[0] ?? Number.POSITIVE_INFINITY) <= nowMs - 60_000)
      incrementalStartsMs.shift();
    if (incrementalStartsMs.length >= incrementalPerMinute) {
      return tooManyRequests(c, Math.ceil((incrementalStartsMs[0]! + 60_000 - nowMs) / 1000));
    }
    incrementalStartsMs.push(nowMs);
    const latest = seconds() - 60;
    const cursor = c.req.query("cursor");
    const startTime = c.req.query("start_time");
    let position: { t: number; id: number };
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor);
      if (decoded === null)
        throw new ZendeskApiError(400, { error: "InvalidCursor", description: "Invalid cursor" });
      position = decoded;
    } else if (startTime !== undefined && /^\d+$/.test(startTime)) {
      if (Number(startTime) > latest) {
        throw new ZendeskApiError(400, {
          error: "InvalidValue",
          description: "Too recent start_time. Use a start_time older than 1 minute.",
        });
      }
      position = { t: Number(startTime), id: 0 };
    } else {
      throw new ZendeskApiError(400, {
        error: "InvalidValue",
        description: "start_time or cursor is required",
      });
    }
    const perPage = Math.min(1000, Math.max(1, Number(c.req.query("per_page") ?? "1000") || 1000));
    // Ordered by (generated_timestamp, id); the latest minute is never exported.
    const pending = [...state.tickets.values()]
      .filter(
        (ticket) =>
          ticket.generated_timestamp <= latest &&
          (ticket.generated_timestamp > position.t ||
            (ticket.generated_timestamp === position.t && ticket.id > position.id)),
      )
      .sort((a, b) => a.generated_timestamp - b.generated_timestamp || a.id - b.id);
    const page = pending.slice(0, perPage);
    const last = page.at(-1);
    const afterCursor = encodeCursor(
      last === undefined ? position : { t: last.generated_timestamp, id: last.id },
    );
    return c.json({
      after_cursor: afterCursor,
      after_url: `${accountUrl}/api/v2/incremental/tickets/cursor.json?cursor=${encodeURIComponent(afterCursor)}`,
      before_cursor: null,
      before_url: null,
      end_of_stream: pending.length <= perPage,
      tickets: page.map(renderTicket),
    });
  });

  app.post("/api/v2/uploads", async (c) => {
    const fileName = c.req.query("filename");
    if (fileName === undefined || fileName === "") {
      throw new ZendeskApiError(400, { error: "InvalidValue", description: "filename is required" });
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > 50 * 1024 * 1024) {
      throw new ZendeskApiError(413, { error: "RecordInvalid", description: "File is larger than 50 MB" });
    }
    const existing = c.req.query("token");
    const token = existing ?? randomBytes(18).toString("base64url");
    const attachment: SimAttachment = {
      id: nextId++,
      file_name: fileName,
      content_type: c.req.header("content-type") ?? "application/binary",
      size: bytes.byteLength,
      token: randomBytes(18).toString("base64url"),
      bytes,
    };
    const attachments = [...(state.uploads.get(token) ?? []), attachment];
    state.uploads.set(token, attachments);
    c.get("exchange").body = { bytes: bytes.byteLength };
    return c.json(
      {
        upload: {
          token,
          attachment: renderAttachment(attachment),
          attachments: attachments.map(renderAttachment),
        },
      },
      201,
    );
  });

  app.get("/attachments/token/:token/", (c) => {
    const token = c.req.param("token");
    const attachment = [
      ...state.comments.flatMap((comment) => comment.attachments),
      ...[...state.uploads.values()].flat(),
    ].find((candidate) => candidate.token === token);
    if (attachment === undefined) return c.text("Not Found", 404);
    return c.body(attachment.bytes.slice().buffer as ArrayBuffer, 200, {
      "content-type": attachment.content_type,
      "content-length": String(attachment.size),
    });
  });

  app.notFound((c) => c.json({ error: "InvalidEndpoint", description: "Not found" }, 404));

  return {
    app,
    state,
    faults: kit.faults,
    requests: kit.exchanges,
    webhooks,
    apiToken,
    oauthToken,
    setAccountUrl(url) {
      accountUrl = url.replace(/\/+$/, "");
    },
    simulateAgentUpdate(ticketId, fields, agentOptions) {
      const existing = state.tickets.get(ticketId);
      if (existing === undefined) throw new Error(`no simulated ticket ${ticketId}`);
      return save(existing, fields, agentOptions?.authorId ?? simulatorUsers.agent.id).ticket;
    },
    simulateAgentComment(ticketId, comment, agentOptions) {
      const existing = state.tickets.get(ticketId);
      if (existing === undefined) throw new Error(`no simulated ticket ${ticketId}`);
      const authorId = agentOptions?.authorId ?? simulatorUsers.agent.id;
      const { audit } = save(existing, { comment: { ...comment } }, authorId);
      const commentEvent = audit.events.find((event) => event.type === "Comment")!;
      return state.comments.find((candidate) => candidate.id === commentEvent.id)!;
    },
    simulateAgentUpload(file) {
      const token = randomBytes(18).toString("base64url");
      state.uploads.set(token, [
        {
          id: nextId++,
          file_name: file.fileName,
          content_type: file.contentType,
          size: file.bytes.byteLength,
          token: randomBytes(18).toString("base64url"),
          bytes: file.bytes,
        },
      ]);
      return token;
    },
    simulateAgentCreate(fields, agentOptions) {
      const authorId = agentOptions?.authorId ?? simulatorUsers.requester.id;
      const input = { comment: { body: "Created in Zendesk", public: true }, ...fields };
      return save(null, input, authorId).ticket;
    },
    settled: kit.settled,
  };
}
