import type { z } from "@hono/zod-openapi";
import type { PrioritySchemeTable, PriorityTableOverride } from "../../schemas/priority.js";
import type { Priority, Requester, TicketStatus, Visibility } from "../../schemas/ticket.js";
import type { RetryPolicy } from "./http.js";
import type { BaseConnectionSettings } from "./settings.js";
import type { VerifyResult } from "./webhook-signature.js";

/**
 * A connector's type id, e.g. `servicenow`: its key in the registry (`connectors/index.ts`), which is the one
 * list of connector types; `ConnectorType` there is the union of the registered ones.
 */
export type ConnectorTypeId = string;

/** One outbound URL a connection's settings make the gateway call, with the setting it comes from. */
export interface GuardedUrl {
  /** Dot path in the settings, e.g. `baseUrl` or `auth.tokenUrl`; a refusal names it. */
  path: string;
  url: string;
}

/**
 * The URLs every connection calls: `baseUrl` and, for OAuth2, `auth.tokenUrl`. Connectors whose settings hold
 * further URLs (a separate upload host, a site URL) add them to this list in their `outboundUrls`.
 */
export function baseOutboundUrls(settings: BaseConnectionSettings): GuardedUrl[] {
  const urls: GuardedUrl[] = [{ path: "baseUrl", url: settings.baseUrl }];
  if (settings.auth.type === "oauth2") urls.push({ path: "auth.tokenUrl", url: settings.auth.tokenUrl });
  return urls;
}

/** What the engine adds when it asks a connector for its {@link Connector.mappingContext}. */
export interface MappingContextOptions {
  /**
   * The tenant's override of this connector's {@link Connector.priorityScheme} (tenant `priorityOverrides`
   * keyed by the scheme id). A connection's own override, when its settings have one, wins over it.
   */
  tenantPriorityOverride?: PriorityTableOverride;
}

/** The priority facts a connector owns (see {@link Connector.priorityScheme}). */
export interface ConnectorPriorityFacts {
  /**
   * The table canonical priorities are translated with, the vendor's own (ids are global: by convention the
   * connector type, e.g. `zendesk`). Listed by `GET /v1/priority-schemes`, usable in `POST /v1/priority/translate`,
   * and a tenant's `priorityOverrides[id]` reaches this connector's connections through
   * {@link MappingContextOptions.tenantPriorityOverride}. `null`: the connector has no priority field.
   */
  readonly priorityScheme: PrioritySchemeTable | null;
  /** Further tables the connector ships (MEF severity), listed and translatable like the main one. */
  readonly otherPrioritySchemes?: readonly PrioritySchemeTable[];
}

/**
 * One step of what the vendor's (or carrier's) admin sets up so the connection's events reach the gateway,
 * shown on the console's connections page. A summary of the connector's doc, which has the details.
 */
export interface SetupStep {
  title: string;
  /** What to do, in plain text. */
  detail: string;
  /** Text to paste at the vendor (a script, a JSON body, a URL), with the webhook URL filled in. */
  code?: string;
  /**
   * The heading of `docs/connectors/<type>.md` this step summarises, as its anchor without `#`
   * (`3-the-webhook-business-rule`); tested to exist.
   */
  docAnchor: string;
}

/** What a connector's {@link Connector.setupSteps} are built from. Never a secret. */
export interface SetupContext {
  /**
   * The connection's webhook URL. For connections reached at a path secret it ends in a placeholder
   * instead of the secret.
   */
  webhookUrl: string;
}

/** What a connector can stand in for. */
export interface ConnectorCapabilities {
  /** A client's servicedesk: tickets sync both ways with a tenant's own tool. */
  servicedesk: boolean;
  /** A carrier: tickets are delegated to a network provider and tracked there. */
  carrier: boolean;
}

/**
 * A canonical ticket as the sync engine sends it to a vendor. Built from `schemas/ticket.ts`
 * `Ticket`; the connector decides how each field lands on the vendor record.
 */
export interface OutboundTicket {
  /** Our ticket id (`tkt_…`), written to the vendor's correlation field for create-or-link. */
  canonicalId: string;
  title: string;
  description: string | null;
  priority: Priority;
  status: TicketStatus;
  requester: Requester | null;
  category: string | null;
  affectedService: string | null;
  /**
   * Text for vendors that demand one when resolving or closing (ServiceNow `close_notes`). The engine
   * does not set it today, so the connection's default (`resolutionNotes`) is used.
   */
  resolutionNote?: string;
}

/** The fields of an {@link OutboundTicket} that changed; absent fields are left alone at the vendor. */
export type OutboundTicketPatch = Partial<Omit<OutboundTicket, "canonicalId">> & {
  /**
   * Writes our canonical id onto a record that was created at the vendor (ServiceNow `correlation_id`),
   * so later creates and reconciliation find it.
   */
  correlationId?: string;
};

/** Where a canonical ticket lives at the vendor, returned by writes. Maps onto `ExternalLink`. */
export interface ExternalRef {
  /** The vendor's stable id (ServiceNow `sys_id`). */
  externalId: string;
  /** The human key (ServiceNow `number`, Jira `PROJ-123`), when the vendor has one. */
  externalKey: string | null;
  /** A link for humans to open the record in the vendor's UI. */
  url: string | null;
  /** The vendor's last-update instant after the write, ISO-8601 UTC. */
  updatedAt: string;
  /** `linked`: create-or-link found a record already carrying our canonical id. */
  action: "created" | "linked" | "updated";
}

/** One comment or journal entry read from the vendor. */
export interface ExternalComment {
  externalId: string;
  body: string;
  visibility: Visibility;
  /**
   * The author as the vendor names them (a user name, or an id such as Zendesk's `author_id`), in the same
   * form as {@link Connector.integrationIdentity}: the engine never imports comments by that identity.
   */
  author: string | null;
  /** ISO-8601 UTC. */
  createdAt: string;
}

/** A vendor record read back and normalised. The engine compares and applies it; it never trusts webhook bodies. */
export interface ExternalTicket {
  externalId: string;
  externalKey: string | null;
  url: string | null;
  title: string;
  description: string | null;
  /**
   * The vendor's own status value, opaque to the engine. The engine keeps it as the link's vendor
   * baseline and compares later reads with it, so the echo of a lossy write (e.g. `acknowledged`
   * written as ServiceNow In Progress) is not mistaken for a vendor-side change.
   */
  status: string;
  /** The canonical status this vendor value suggests, or `null` when it is unknown (flagged, not guessed). */
  canonicalStatus: TicketStatus | null;
  /** The vendor's priority value (ServiceNow `priority` 1–5). */
  priority: string | null;
  /** The canonical priority suggested by the connection's priority translation, or `null`. */
  canonicalPriority: Priority | null;
  requester: Requester | null;
  /** Our canonical id when the record carries it (it was created or linked by us). */
  correlationId: string | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC; whole seconds for vendors that store seconds. */
  updatedAt: string;
  /** The vendor user name of the last writer; equal to the integration user for our own writes. */
  updatedBy: string | null;
  /** The vendor's modification counter, when it has one (ServiceNow `sys_mod_count`). */
  version: string | null;
  /** Comments oldest first. */
  comments: ExternalComment[];
}

/** A comment the engine wants on the vendor record. */
export interface OutboundComment {
  /** Our comment id (`cmt_…`), for logs and the ledger. */
  canonicalId: string;
  body: string;
  /** The engine only sends `internal` comments where the connection allows it. */
  visibility: Visibility;
  /** Shown as the author inside the text, since the vendor records the integration user. */
  authorName?: string;
}

/** Retry context of {@link ServicedeskClient.addComment}. */
export interface AddCommentOptions {
  /** 1 on the first try of this outbox item, then 2, 3, … on engine retries. */
  attempt: number;
  /** When the first attempt started; a read-back looks for the entry at or after this instant. */
  since: Date;
}

/** One record that changed, from {@link ServicedeskClient.listChangedSince}. */
export interface ChangedRecord {
  externalId: string;
  /**
   * ISO-8601 UTC. With `externalId` it is the de-duplication key once its second is over; within that second
   * the engine cannot tell two changes apart and reads the record again.
   */
  updatedAt: string;
  /**
   * The vendor's modification counter of this change (ServiceNow `sys_mod_count`), when the list carries one:
   * it tells two changes within one second apart, so the engine need not read the record again.
   */
  version?: string;
}

/** A page of {@link ServicedeskClient.listChangedSince}. */
export interface ChangedPage {
  items: ChangedRecord[];
  /** Pass back on the next call. Equal to the input when nothing changed. */
  nextCursor: string;
}

/** A file attached to a vendor record, as listed by {@link ServicedeskClient.listAttachments}. Metadata only. */
export interface ExternalAttachment {
  /** The vendor's attachment id (Zendesk attachment id, Jira attachment id). */
  externalId: string;
  fileName: string;
  /** MIME type as the vendor reports it; null when it reports none. */
  contentType: string | null;
  /** Size in bytes as the vendor reports it; null when unknown. */
  sizeBytes: number | null;
  /**
   * Who attached it, in the form {@link ExternalComment.author} carries; compare with the integration identity
   * to drop the echo of a file the gateway attached itself. Absent when the vendor does not tell.
   */
  author?: string | null;
  /**
   * Who may see the file at the vendor, where the vendor scopes files (Zendesk: the visibility of the comment
   * carrying it). Absent: as visible as the record.
   */
  visibility?: Visibility;
  /** ISO-8601 UTC, when known. */
  createdAt?: string | null;
}

/** A work log on a vendor record (Jira worklog, ServiceNow time worked), as {@link ServicedeskClient.listWorklogs} reads it. */
export interface ExternalWorklog {
  /** The vendor's worklog id (Jira worklog id, ServiceNow `task_time_worked` sys_id). */
  externalId: string;
  /** Who logged it, in the form {@link ExternalComment.author} carries; absent when the vendor does not tell. */
  author?: string | null;
  /** Display name of who logged it, for the canonical record. */
  authorName?: string | null;
  /** ISO-8601 UTC: when the work started (ServiceNow records no start: its creation time). */
  startedAt: string;
  durationSeconds: number;
  comment?: string | null;
  /**
   * The canonical worklog id the gateway stamped on the record when it wrote it (Jira: a worklog property),
   * absent for vendors without a place for one; either way the engine's links and the integration identity
   * drop the echo.
   */
  canonicalId?: string | null;
}

/** A canonical work log to write with {@link ServicedeskClient.addWorklog}. */
export interface OutboundWorklog {
  /** The gateway's worklog id, stamped on the vendor record where the vendor has a place for it. */
  canonicalId: string;
  /** ISO-8601 UTC. */
  startedAt: string;
  durationSeconds: number;
  /** Who did the work, named in the text: the vendor records the integration user as the author. */
  author: string;
  comment?: string | null;
}

/** An attachment's content opened for reading by {@link ServicedeskClient.openAttachment}. */
export interface AttachmentContent {
  /**
   * The bytes, streamed from the vendor as they arrive (never buffered whole). Read it to the end or cancel it,
   * exactly once. It errors with a permanent error (`retryable === false`) once more than `maxBytes` passed.
   */
  body: ReadableStream<Uint8Array>;
  fileName: string;
  contentType: string | null;
  /** Declared size, when the vendor declares one; the stream is the authority. */
  sizeBytes: number | null;
}

/** A file the engine wants on a vendor record, see {@link ServicedeskClient.putAttachment}. */
export interface OutboundAttachment {
  fileName: string;
  contentType: string | null;
  /** Declared size when known: a file declared over the cap is refused before any byte is sent. */
  sizeBytes: number | null;
  /** The content, read once while it is sent. */
  body: ReadableStream<Uint8Array>;
}

/** Options of {@link ServicedeskClient.putAttachment}. */
export interface PutAttachmentOptions {
  /** The size cap of this transfer; the connection's own cap applies as well (the smaller wins). */
  maxBytes: number;
  /** Who sees the file at the vendor, where the vendor can scope it. */
  visibility: Visibility;
  /**
   * The text of the comment that carries the file, for vendors that attach through a comment (Zendesk),
   * e.g. `Attachment from Jira Service Management`.
   */
  note?: string;
}

/** What {@link ServicedeskClient.putAttachment} stored. */
export interface PutAttachmentResult {
  /** The vendor's id of the new attachment; null when the vendor named none and a read-back found none. */
  externalId: string | null;
  /** SHA-256 (hex) of the bytes sent, computed while streaming. */
  sha256: string;
  /** Bytes sent. */
  sizeBytes: number;
}

/**
 * Calls a vendor on behalf of one connection. Every method validates responses with zod
 * and throws `HttpError` subclasses (see `errors.ts`) on failure; the engine reads
 * `error.retryable` to decide between retry and dead-letter.
 */
export interface ServicedeskClient {
  /**
   * Create-or-link: first looks for a vendor record already carrying `input.canonicalId`
   * (ServiceNow `correlation_id`) and links it; only when none exists does it create one.
   * Safe to call again after a failure whose outcome is unknown.
   */
  createTicket(input: OutboundTicket): Promise<ExternalRef>;
  /** Applies the changed fields. Fields absent from `patch` are not touched. */
  updateTicket(externalId: string, patch: OutboundTicketPatch): Promise<ExternalRef>;
  /** Reads the record and its comments, normalised. */
  getTicket(externalId: string): Promise<ExternalTicket>;
  /**
   * Appends a comment. Vendor appends are not idempotent, so when `opts.attempt > 1` the
   * journal is read back first and an entry with the identical body by the integration
   * user at or after `opts.since` is returned instead of writing a second copy.
   */
  addComment(
    externalId: string,
    comment: OutboundComment,
    opts: AddCommentOptions,
  ): Promise<{ externalId: string }>;
  /**
   * Records updated at or after the cursor, oldest first. The boundary second is read again
   * on the next call (inclusive), so an update landing in the same second as the last one
   * seen is never lost; the caller de-duplicates with `(externalId, updatedAt)`.
   * `cursor: null` starts from the beginning; any ISO-8601 UTC instant is also accepted
   * as a starting cursor. `limit` is a page size, not a hard cap: a single second holding
   * more than `limit` updates is walked with a tie-break so the cursor always advances.
   */
  listChangedSince(cursor: string | null, limit: number): Promise<ChangedPage>;
  /** Checks URL, credentials and read access. Never throws. */
  testConnection(): Promise<{ ok: boolean; detail: string }>;
  /**
   * Requests the vendor's reported budget still allows right now (rate-limit headers seen on the last
   * responses), or `null` when the vendor reports none. The engine never runs more of this connection's
   * jobs at once than this, across all its processes; at 0 it holds the connection until `resetAt`.
   */
  rateBudget?(): { remaining: number; resetAt: Date } | null;
  /**
   * Whether the record is within the connection's `inboundQuery` (a ServiceNow encoded query, JQL, ...).
   * The engine asks before importing a record it does not know yet, for webhooks and polls alike. Absent:
   * the connector cannot tell, and everything is imported.
   */
  matchesInboundQuery?(externalId: string): Promise<boolean>;
  /**
   * The files attached to the record, metadata only, oldest first. Absent: the connector does not sync
   * attachments.
   */
  listAttachments?(externalId: string): Promise<ExternalAttachment[]>;
  /**
   * Opens one attachment of the record for streaming. The size cap is enforced before the download where the
   * vendor declares a size, and while streaming in any case: past `opts.maxBytes` the stream errors with a
   * permanent error (`retryable === false`); an attachment declared larger is refused at once with one.
   * @param attachmentId - an {@link ExternalAttachment.externalId} of this record.
   */
  openAttachment?(
    externalId: string,
    attachmentId: string,
    opts: { maxBytes: number },
  ): Promise<AttachmentContent>;
  /**
   * Streams a file onto the record, hashing and counting it on the way; never buffers it whole. Over
   * `opts.maxBytes` (or the connection's own cap) it fails with a permanent error (`retryable === false`).
   * Not idempotent: on a retry the engine first looks for the file in {@link listAttachments}.
   */
  putAttachment?(
    externalId: string,
    file: OutboundAttachment,
    opts: PutAttachmentOptions,
  ): Promise<PutAttachmentResult>;
  /** The record's work logs, oldest first. Absent: the connector does not sync work logs (Zendesk has none). */
  listWorklogs?(externalId: string): Promise<ExternalWorklog[]>;
  /**
   * Logs work on the record. Vendor appends are not idempotent, so when `opts.attempt > 1` the record's work
   * logs are read back first and one this worklog already wrote is returned instead of writing a second.
   */
  addWorklog?(
    externalId: string,
    worklog: OutboundWorklog,
    opts: AddCommentOptions,
  ): Promise<{ externalId: string }>;
}

/** Dependencies of {@link Connector.createClient}. */
export interface ClientDeps<MappingContext = unknown> {
  /** Translation the connector must not hard-code (priority tables), wired by the engine. */
  mapping: MappingContext;
  /**
   * Every request the client makes goes through this fetch, token and attachment URLs included. The engine
   * passes {@link createGuardedFetch}'s, which refuses internal destinations at connect time. Defaults to
   * the global `fetch`.
   */
  fetch?: typeof fetch;
  /** Largest API response body read (attachments keep their own cap). Default {@link defaultMaxResponseBytes}. */
  maxResponseBytes?: number;
  /** Per HTTP attempt. Default 15 000. */
  timeoutMs?: number;
  /** Default `{retries: 3, minTimeoutMs: 500, maxTimeoutMs: 30_000}`. */
  retry?: RetryPolicy;
  now?: () => Date;
}

/** What the gateway's webhook route hands to {@link Connector.verifyWebhook}. */
export interface WebhookInput {
  headers: Headers;
  /** The body bytes exactly as received. */
  rawBody: Uint8Array;
  /** A secret taken from the webhook URL path, for vendors that cannot send headers. */
  pathSecret?: string;
  /** What the vendor appended after the webhook URL (e.g. TMF `listener/<eventName>`), without a leading slash. */
  subPath?: string;
}

/**
 * A thin "something changed" signal parsed from a webhook. The engine re-reads the record
 * through the client before applying anything, so a notice carries identifiers only.
 */
export interface InboundNotice {
  externalId: string;
  /** Unique per vendor change when the vendor provides one; the inbox de-duplicates on it. */
  deliveryId?: string;
  /** ISO-8601 UTC. */
  occurredAt?: string;
  operation?: "insert" | "update" | "delete";
}

/** One row of a connector's status table, for docs, the admin UI and table-driven tests. */
export interface StatusMappingRow {
  /** The vendor status value (see {@link ExternalTicket.status}). */
  vendor: string;
  /** Human label at the vendor. */
  label: string;
  /** Canonical status read from this vendor value. */
  canonical: TicketStatus;
}

/** Pure status mapping of a connector, honouring a connection's `mapping` overrides. */
export interface ConnectorMapping<Settings extends BaseConnectionSettings = BaseConnectionSettings> {
  /** The vendor values the connector knows, inbound direction. */
  statuses: readonly StatusMappingRow[];
  /**
   * Canonical statuses that cannot survive a round trip, with why. For each, reading the
   * written value back yields a different canonical status.
   */
  lossyOutbound: Partial<Record<TicketStatus, string>>;
  /** vendor status value -> canonical; `null` when unknown (flag it, do not guess). */
  toCanonicalStatus(vendorStatus: string, settings: Settings): TicketStatus | null;
  /** canonical -> vendor status value. Total: every canonical status has a vendor value. */
  fromCanonicalStatus(status: TicketStatus, settings: Settings): string;
}

/**
 * A vendor integration. Implementations are plain objects (see {@link defineConnector});
 * nothing runs at import time.
 *
 * @typeParam Settings - the connector's parsed settings, an extension of `baseConnectionSettings`.
 * @typeParam MappingContext - translation wired by the engine (e.g. priority tables from `schemas/priority.ts`).
 */
export interface Connector<
  Settings extends BaseConnectionSettings = BaseConnectionSettings,
  MappingContext = unknown,
> extends ConnectorPriorityFacts {
  /** Servicedesk connectors mirror a client's tickets; carrier connectors are {@link CarrierConnector}s. */
  readonly kind: "servicedesk";
  /** Equal to the connector's key in the registry (`connectors/index.ts`); tested. */
  readonly type: ConnectorTypeId;
  readonly displayName: string;
  readonly capabilities: ConnectorCapabilities;
  /** Validates stored settings; applies defaults. Strict: unknown keys are rejected. */
  readonly settingsSchema: z.ZodType<Settings>;
  /**
   * Dot paths in `Settings` that hold secrets (see `baseSecretPaths`): redacted in API answers, kept when an
   * update leaves them out. Add `auth.username` when the vendor takes an API key as the Basic user name.
   */
  readonly secretPaths: readonly string[];
  /**
   * Every URL in the settings the gateway will call, with its setting path. Saving a connection refuses
   * internal addresses among them with a 400 naming the setting. Usually {@link baseOutboundUrls}.
   */
  outboundUrls(settings: Settings): readonly GuardedUrl[];
  /**
   * The connection's attachment size cap in bytes, when the connector syncs attachments and its settings set
   * one (Zendesk `attachmentMaxBytes`). Absent or `null`: the engine's default applies.
   */
  attachmentMaxBytes?(settings: Settings): number | null;
  /** Builds a client for one connection. Does no I/O until a method is called. */
  createClient(settings: Settings, deps: ClientDeps<MappingContext>): ServicedeskClient;
  /**
   * The translation context (the {@link priorityScheme} with the connection's override, else the tenant's) the
   * client and mapping use.
   */
  mappingContext(settings: Settings, options?: MappingContextOptions): MappingContext;
  /**
   * Who the connection writes as at the vendor, in the form {@link ExternalComment.author} carries (a user
   * name or id): comments by this identity are our own and are never imported back.
   */
  integrationIdentity(settings: Settings): string | null;
  /**
   * Authenticates a webhook on the raw bytes before anything parses it. Never throws.
   * `now` bounds signed timestamps for vendors that sign one.
   */
  verifyWebhook(input: WebhookInput, settings: Settings, now: Date): VerifyResult;
  /**
   * Parses a verified webhook body into notices (one delivery may carry several).
   * @throws {WebhookPayloadError} when the body is not the documented shape.
   */
  parseWebhook(rawBody: Uint8Array, headers: Headers): InboundNotice[];
  readonly mapping: ConnectorMapping<Settings>;
  /**
   * The vendor-side setup of one connection, in order, from the connector's doc: settings fill in names
   * (the integration user, the project), never secret values.
   */
  setupSteps(context: SetupContext, settings: Settings): readonly SetupStep[];
}

/** Identity helper that keeps a connector literal's types precise. */
export function defineConnector<Settings extends BaseConnectionSettings, MappingContext>(
  connector: Connector<Settings, MappingContext>,
): Connector<Settings, MappingContext> {
  return connector;
}
