import { z } from "@hono/zod-openapi";
import { instant, text } from "./common.js";

/** Canonical priority levels. Every scheme translates to and from these. */
export const priorityLevels = ["P1", "P2", "P3", "P4"] as const;
export const Priority = z.enum(priorityLevels).openapi("Priority", {
  description: "Canonical priority: P1 Critical, P2 Major, P3 Minor, P4 Cosmetic.",
});
export type Priority = z.infer<typeof Priority>;
export const priorityNames: Record<Priority, string> = {
  P1: "Critical",
  P2: "Major",
  P3: "Minor",
  P4: "Cosmetic",
};

export const openStatuses = [
  "new",
  "acknowledged",
  "in_progress",
  "pending_customer",
  "pending_carrier",
  "on_hold",
] as const;
export const ticketStatuses = [...openStatuses, "resolved", "closed", "cancelled"] as const;
export const TicketStatus = z.enum(ticketStatuses).openapi("TicketStatus");
export type TicketStatus = z.infer<typeof TicketStatus>;

export const Side = z.enum(["provider", "client", "carrier"]).openapi("Side", {
  description: "Whose act it was: the provider (operators, admin), the client (tenant), or a carrier.",
});
export type Side = z.infer<typeof Side>;

export const Visibility = z.enum(["public", "internal"]).openapi("Visibility", {
  description:
    "public: the client may see it and it goes to the client's servicedesk. internal: provider-only (or a client's own agent note); never sent toward a client.",
});
export type Visibility = z.infer<typeof Visibility>;

export const Requester = z
  .strictObject({
    name: text().min(1).max(200),
    email: z.email().max(320).optional(),
    phone: text().min(1).max(50).optional(),
  })
  .openapi("Requester");
export type Requester = z.infer<typeof Requester>;

const instantField = instant();

export const Ticket = z
  .object({
    id: text().openapi({ example: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    tenantId: text(),
    title: text(),
    description: text().nullable(),
    priority: Priority,
    status: TicketStatus,
    requester: Requester.nullable(),
    assigneeGroup: text().nullable(),
    category: text().nullable(),
    affectedService: text().nullable(),
    createdAt: instantField,
    updatedAt: instantField,
    acknowledgedAt: instantField.nullable(),
    resolvedAt: instantField.nullable(),
    closedAt: instantField.nullable(),
    version: z.number().int().positive(),
  })
  .openapi("Ticket");
export type Ticket = z.infer<typeof Ticket>;

export const CommentAuthor = z
  .object({
    type: z.enum(["admin", "operator", "tenant_key", "connection", "system"]),
    id: text().nullable(),
    name: text().nullable(),
  })
  .openapi("CommentAuthor");
export type CommentAuthor = z.infer<typeof CommentAuthor>;

export const Comment = z
  .object({
    id: text().openapi({ example: "cmt_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    ticketId: text(),
    body: text(),
    visibility: Visibility,
    author: CommentAuthor,
    side: Side,
    createdAt: instantField,
  })
  .openapi("Comment");
export type Comment = z.infer<typeof Comment>;

export const Attachment = z
  .object({
    id: text(),
    ticketId: text(),
    fileName: text(),
    contentType: text().nullable(),
    sizeBytes: z.number().int().nonnegative().nullable(),
    sha256: text().nullable(),
    createdAt: instantField,
  })
  .openapi("Attachment");
export type Attachment = z.infer<typeof Attachment>;

export const ExternalLink = z
  .object({
    connectionId: text(),
    externalId: text(),
    externalKey: text().nullable(),
    url: text().nullable(),
    lastSyncedVersion: z.number().int().nullable(),
  })
  .openapi("ExternalLink");
export type ExternalLink = z.infer<typeof ExternalLink>;

const title = text().trim().min(1).max(500);
const description = text().max(100_000).nullable();
const shortText = text().trim().min(1).max(200).nullable();

export const CreateTicket = z
  .strictObject({
    tenantId: text().min(1).optional().openapi({
      description: "Required with provider credentials; a tenant key creates in its own tenant.",
    }),
    title,
    description: description.optional(),
    priority: Priority.optional().openapi({
      description: "Required unless the tenant's plan names a `defaultPriority` (Roxen: Normal, P3).",
    }),
    requester: Requester.nullable().optional(),
    assigneeGroup: shortText.optional(),
    category: shortText.optional(),
    affectedService: shortText.optional(),
  })
  .openapi("CreateTicket");
export type CreateTicket = z.infer<typeof CreateTicket>;

export const UpdateTicket = z
  .strictObject({
    title: title.optional(),
    description: description.optional(),
    priority: Priority.optional(),
    status: TicketStatus.optional(),
    requester: Requester.nullable().optional(),
    assigneeGroup: shortText.optional(),
    category: shortText.optional(),
    affectedService: shortText.optional(),
  })
  .openapi("UpdateTicket");
export type UpdateTicket = z.infer<typeof UpdateTicket>;

export const CreateComment = z
  .strictObject({
    body: text().trim().min(1).max(100_000),
    visibility: Visibility.default("internal"),
  })
  .openapi("CreateComment");
export type CreateComment = z.infer<typeof CreateComment>;

export const TicketListQuery = z.object({
  status: TicketStatus.optional(),
  priority: Priority.optional(),
  tenantId: text().min(1).optional(),
  updatedSince: instant().optional(),
});
