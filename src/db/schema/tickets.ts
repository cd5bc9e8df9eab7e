import { index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import type { Requester } from "../../../schemas/ticket.js";
import { tenants } from "./access.js";
import { instant, timestamps } from "./columns.js";

export const tickets = pgTable(
  "tickets",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    title: text("title").notNull(),
    description: text("description"),
    priority: text("priority", { enum: ["P1", "P2", "P3", "P4"] }).notNull(),
    status: text("status").notNull(),
    requester: jsonb("requester").$type<Requester | null>(),
    assigneeGroup: text("assignee_group"),
    category: text("category"),
    affectedService: text("affected_service"),
    ...timestamps,
    acknowledgedAt: instant("acknowledged_at"),
    resolvedAt: instant("resolved_at"),
    closedAt: instant("closed_at"),
    version: integer("version").notNull().default(1),
  },
  (t) => [
    // Tenant-scoped keyset pagination: every list is filtered by tenant and ordered by id.
    index("tickets_tenant_id_idx").on(t.tenantId, t.id),
    // updatedSince filters and reconciliation scans.
    index("tickets_tenant_updated_idx").on(t.tenantId, t.updatedAt),
  ],
);

export const comments = pgTable(
  "comments",
  {
    id: text("id").primaryKey(),
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    body: text("body").notNull(),
    visibility: text("visibility", { enum: ["public", "internal"] }).notNull(),
    authorType: text("author_type").notNull(),
    authorId: text("author_id"),
    authorName: text("author_name"),
    side: text("side", { enum: ["provider", "client", "carrier"] }).notNull(),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [index("comments_ticket_idx").on(t.ticketId, t.id)],
);

export const attachments = pgTable(
  "attachments",
  {
    id: text("id").primaryKey(),
    ticketId: text("ticket_id")
      .notNull()
      .references(() => tickets.id, { onDelete: "cascade" }),
    tenantId: text("tenant_id").notNull(),
    fileName: text("file_name").notNull(),
    contentType: text("content_type"),
    sizeBytes: integer("size_bytes"),
    /** Hex SHA-256 of the content; null until the content first passed through the gateway. */
    sha256: text("sha256"),
    /** The connection the file came from; null for files not synced in. */
    sourceConnectionId: text("source_connection_id"),
    /** The vendor's id of the file at the source connection. */
    sourceExternalId: text("source_external_id"),
    createdAt: instant("created_at").notNull().defaultNow(),
  },
  (t) => [index("attachments_ticket_idx").on(t.ticketId)],
);
