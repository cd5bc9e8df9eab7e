import { sql } from "drizzle-orm";
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { tenants } from "./access.js";
import { instant, timestamps } from "./columns.js";
import { attachments, comments, tickets } from "./tickets.js";

/** A configured link to a client's servicedesk (one tenant) or a carrier (the provider's, all tenants). */
export const connections = pgTable(
  "connections",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").references(() => tenants.id),
    type: text("type").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: ["servicedesk", "carrier"] }).notNull(),
    direction: text("direction", { enum: ["both", "inbound", "outbound"] }).notNull(),
    /** AES-256-GCM of the settings JSON (credentials included), key from SECRETS_KEY. */
    settingsEncrypted: text("settings_encrypted").notNull(),
    /** Unguessable path segment for vendors that cannot sign (`/webhooks/:id/:secret`), encrypted. */
    pathSecretEncrypted: text("path_secret_encrypted").notNull(),
    /** Carrier connections: OLA (calendar and targets per priority) and how the carrier leg reaches the client. */
    carrierOptions: jsonb("carrier_options").$type<Record<string, unknown> | null>(),
    /** The outbound filter from the settings, kept in the clear (no secrets) so ticket writes can apply it. */
    filter: jsonb("filter").$type<{
      priorities?: string[];
      categories?: string[];
      affectedServices?: string[];
    } | null>(),
    /** Paused connections keep accepting webhooks; their jobs wait until an operator resumes them. */
    status: text("status", { enum: ["active", "paused", "deleted"] })
      .notNull()
      .default("active"),
    pausedReason: text("paused_reason"),
    /** Who paused it: an actor id (`key_...`, `admin`) or `system` when the engine did. */
    pausedBy: text("paused_by"),
    pausedAt: instant("paused_at"),
    /** A 429 or Retry-After holds the whole connection until then: no job of it is claimed before. */
    holdUntil: instant("hold_until"),
    /** In-flight jobs the vendor's reported budget allows (Zendesk's rate-limit headers), when it reports one. */
    concurrencyBudget: integer("concurrency_budget"),
    /** The vendor's last reported rate-limit budget, written with the delivery that read it (health shows it). */
    rateLimitRemaining: integer("rate_limit_remaining"),
    rateLimitResetAt: instant("rate_limit_reset_at"),
    rateLimitSeenAt: instant("rate_limit_seen_at"),
    /** Vendor-side registration to tear down on delete (a carrier hub listener id). */
    remoteListenerId: text("remote_listener_id"),
    pollCursor: text("poll_cursor"),
    /** The last reconciliation poll and, when it failed, why (secrets replaced). */
    lastPolledAt: instant("last_polled_at"),
    lastPollError: text("last_poll_error"),
    ...timestamps,
  },
  (t) => [index("connections_tenant_idx").on(t.tenantId)],
);

/** Where a canonical ticket lives in a connected system, and what we last knew of it there. */
export const externalLinks = pgTable(
  "external_links",
  {
    connectionId: text("connection_id")
      .notNull()
      .references(() => connections.id),
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    externalId: text("external_id"),
    externalKey: text("external_key"),
    url: text("url"),
    lastSyncedVersion: integer("last_synced_version"),
    /** The vendor's update time as last read or written, for last-writer-wins. */
    externalUpdatedAt: instant("external_updated_at"),
    /** The mapped vendor values after our last read or write: echo suppression compares against it. */
    snapshot: jsonb("snapshot").$type<Record<string, unknown>>().notNull().default({}),
    ...timestamps,
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.ticketId] }),
    uniqueIndex("external_links_external_idx").on(t.connectionId, t.externalId),
  ],
);

/** Which canonical comment is which vendor comment, per connection: a comment is never written twice. */
export const commentLinks = pgTable(
  "comment_links",
  {
    connectionId: text("connection_id").notNull(),
    commentId: text("comment_id")
      .notNull()
      .references(() => comments.id, { onDelete: "cascade" }),
    externalCommentId: text("external_comment_id").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.commentId] }),
    uniqueIndex("comment_links_external_idx").on(t.connectionId, t.externalCommentId),
  ],
);

/** Which canonical attachment is which vendor file, per connection: a file is never attached twice. */
export const attachmentLinks = pgTable(
  "attachment_links",
  {
    connectionId: text("connection_id").notNull(),
    attachmentId: text("attachment_id")
      .notNull()
      .references(() => attachments.id, { onDelete: "cascade" }),
    /** Null when the vendor named no id for a file we attached (echoes are then dropped by author). */
    externalAttachmentId: text("external_attachment_id"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.attachmentId] }),
    uniqueIndex("attachment_links_external_idx").on(t.connectionId, t.externalAttachmentId),
  ],
);

/**
 * Which vendor work log is which canonical one, per connection: written when a worklog is copied out and when
 * one is imported, so neither side's read-back brings it in again. The worklog itself lives in the ledger
 * (`ticket.worklog_added`), where billing reads it.
 */
export const worklogLinks = pgTable(
  "worklog_links",
  {
    connectionId: text("connection_id").notNull(),
    worklogId: text("worklog_id").notNull(),
    externalWorklogId: text("external_worklog_id").notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.worklogId] }),
    uniqueIndex("worklog_links_external_idx").on(t.connectionId, t.externalWorklogId),
  ],
);

/**
 * Accepted inbound notices, durable before the webhook is answered. Each is applied by an `inbox.apply` job;
 * `status` says whether it has been (the de-duplication of notices looks at it).
 */
export const inbox = pgTable(
  "inbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    connectionId: text("connection_id").notNull(),
    /** The vendor's delivery id, or a hash of the notice: the same delivery is stored once. */
    dedupeKey: text("dedupe_key").notNull(),
    externalId: text("external_id").notNull(),
    notice: jsonb("notice").$type<Record<string, unknown>>().notNull(),
    source: text("source", { enum: ["webhook", "poll", "backfill"] }).notNull(),
    status: text("status", { enum: ["pending", "applied", "dead"] })
      .notNull()
      .default("pending"),
    receivedAt: instant("received_at").notNull().defaultNow(),
    appliedAt: instant("applied_at"),
  },
  (t) => [
    uniqueIndex("inbox_dedupe_idx").on(t.connectionId, t.dedupeKey),
    // Retention prunes applied notices by age.
    index("inbox_applied_idx").on(t.appliedAt).where(sql`${t.status} = 'applied'`),
  ],
);

/** Rejected webhooks per connection and minute: the ledger records only the first few of a flood. */
export const webhookRejections = pgTable(
  "webhook_rejections",
  {
    connectionId: text("connection_id").notNull(),
    minute: instant("minute").notNull(),
    count: integer("count").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.minute] })],
);
