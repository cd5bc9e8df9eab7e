import { fromCanonical, type PriorityScheme, resolveScheme, toCanonical } from "../../schemas/priority.js";
import { type Priority, Requester, type TicketStatus } from "../../schemas/ticket.js";
import type {
  ConnectorMapping,
  ExternalComment,
  ExternalTicket,
  MappingContextOptions,
  MappingOverrides,
  OutboundComment,
  OutboundTicket,
  OutboundTicketPatch,
  StatusMappingRow,
} from "../sdk/index.js";
import type { Attachment, Comment, Ticket, User, ZendeskStatus } from "./api-types.js";
import type { FieldMapping, ZendeskSettings } from "./config.js";
import { zendeskPriorityTable } from "./priority.js";

/** What the client and mapping use beyond settings, built once per connection by {@link zendeskMappingContext}. */
export interface ZendeskMappingContext {
  /** The Zendesk priority scheme (./priority.ts) with the connection's `priorityOverride` (else the tenant's) applied. */
  priority: PriorityScheme;
}

export function zendeskMappingContext(
  settings: Pick<ZendeskSettings, "priorityOverride">,
  options: MappingContextOptions = {},
): ZendeskMappingContext {
  return {
    priority: resolveScheme(
      zendeskPriorityTable,
      settings.priorityOverride ?? options.tenantPriorityOverride,
    ),
  };
}

/** Attachment metadata as read from a comment; content is fetched on demand with `downloadAttachment`. */
export interface AttachmentMeta {
  externalId: string;
  fileName: string;
  contentType: string | null;
  sizeBytes: number | null;
  contentUrl: string;
}

export interface ZendeskExternalComment extends ExternalComment {
  attachments: AttachmentMeta[];
}

/** {@link ExternalTicket} plus what only Zendesk has: attachments and custom-field-backed canonical fields. */
export interface ZendeskExternalTicket extends ExternalTicket {
  comments: ZendeskExternalComment[];
  /** Canonical fields read from the custom fields named in `fieldMapping`; null when unmapped or empty. */
  fields: { category: string | null; affectedService: string | null };
}

export const zendeskStatusTable: readonly StatusMappingRow[] = [
  { vendor: "new", label: "New", canonical: "new" },
  { vendor: "open", label: "Open", canonical: "in_progress" },
  { vendor: "pending", label: "Pending", canonical: "pending_customer" },
  // Hold is "waiting on a third party"; for the client's agent that third party is us, not a carrier.
  { vendor: "hold", label: "On-hold", canonical: "on_hold" },
  { vendor: "solved", label: "Solved", canonical: "resolved" },
  // Zendesk closes solved tickets by itself after a few days: an archive step, not the provider closing the
  // case, so it reads as resolved (and a later reopen makes a follow-up). Override per connection if needed.
  { vendor: "closed", label: "Closed", canonical: "resolved" },
];

const inboundStatus = new Map(zendeskStatusTable.map((row) => [row.vendor, row.canonical]));

export const outboundStatus: Record<TicketStatus, ZendeskStatus> = {
  new: "new",
  // Zendesk has no acknowledged status; Open is what the client sees once someone works on it.
  acknowledged: "open",
  in_progress: "open",
  pending_customer: "pending",
  // The client sees the provider waiting on its carrier as waiting on a third party.
  pending_carrier: "hold",
  on_hold: "hold",
  resolved: "solved",
  closed: "closed",
  // Zendesk has no cancelled status; Closed is its only terminal one, as cancelled is ours.
  cancelled: "closed",
};

export const lossyOutbound: Partial<Record<TicketStatus, string>> = {
  acknowledged: "written as open, read back as in_progress",
  pending_carrier: "written as hold, read back as on_hold",
  closed: "written as closed, read back as resolved (Zendesk closes solved tickets by itself)",
  cancelled: "written as closed, read back as resolved",
};

/** Zendesk status -> canonical; `null` for a value we do not know ("deleted", a new category). */
export function toCanonicalStatus(vendorStatus: string, overrides?: MappingOverrides): TicketStatus | null {
  return overrides?.status?.inbound?.[vendorStatus] ?? inboundStatus.get(vendorStatus) ?? null;
}

/** canonical -> Zendesk status, honouring outbound overrides. */
export function fromCanonicalStatus(status: TicketStatus, overrides?: MappingOverrides): string {
  return overrides?.status?.outbound?.[status] ?? outboundStatus[status];
}

export function toZendeskPriority(priority: Priority, scheme: PriorityScheme): string {
  return fromCanonical(scheme, priority).value;
}

/** Zendesk priority -> canonical; `null` when unset (Zendesk allows no priority) or unknown. */
export function toCanonicalPriority(
  value: string | null | undefined,
  scheme: PriorityScheme,
): Priority | null {
  if (value === null || value === undefined || value === "") return null;
  const result = toCanonical(scheme, value);
  return "priority" in result ? result.priority : null;
}

/** Comments go out public unless the canonical one is internal or the connection turns public into internal. */
export function commentIsPublic(
  visibility: OutboundComment["visibility"],
  settings: ZendeskSettings,
): boolean {
  return visibility === "public" && !settings.publicCommentsAsInternal;
}

/**
 * The text written to Zendesk. We cannot set `author_id` to a person we have no Zendesk user for,
 * so the integration user is the author and the person is named in the text.
 */
export function commentText(comment: Pick<OutboundComment, "body" | "authorName">): string {
  const name = comment.authorName?.trim() ?? "";
  return name === "" ? comment.body : `On behalf of ${name}:\n${comment.body}`;
}

/** Zendesk normalises line endings and trailing whitespace of plain-text bodies. */
export function normaliseCommentText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .trim();
}

/** Any instant -> "YYYY-MM-DDTHH:MM:SSZ", the form Zendesk itself uses. */
export function toUtcSeconds(value: string | Date): string {
  const instant = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(instant.getTime())) throw new RangeError(`not an instant: ${JSON.stringify(value)}`);
  return instant.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The agent UI link of a ticket. */
export function ticketUrl(baseUrl: string, ticketId: number | string): string {
  return `${baseUrl.replace(/\/+$/, "")}/agent/tickets/${ticketId}`;
}

function customFieldsFor(
  values: { category?: string | null; affectedService?: string | null },
  mapping: FieldMapping | undefined,
): { id: number; value: string | null }[] {
  const fields: { id: number; value: string | null }[] = [];
  for (const key of ["category", "affectedService"] as const) {
    const id = mapping?.[key];
    const value = values[key];
    if (id !== undefined && value !== undefined) fields.push({ id, value });
  }
  return fields;
}

/** A custom field's value as text; null when absent or empty. */
export function customFieldText(
  ticket: Pick<Ticket, "custom_fields">,
  fieldId: number | undefined,
): string | null {
  if (fieldId === undefined) return null;
  const value = ticket.custom_fields?.find((field) => field.id === fieldId)?.value;
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** A canonical ticket -> the body of `POST /api/v2/tickets`. */
export function toTicketCreateBody(
  ticket: OutboundTicket,
  settings: ZendeskSettings,
  scheme: PriorityScheme,
): { ticket: Record<string, unknown> } {
  const status = fromCanonicalStatus(ticket.status, settings.mapping);
  const body: Record<string, unknown> = {
    subject: ticket.title,
    // The description of a Zendesk ticket is its first comment; one with no text is refused.
    comment: { body: ticket.description ?? ticket.title, public: !settings.publicCommentsAsInternal },
    priority: toZendeskPriority(ticket.priority, scheme),
    external_id: ticket.canonicalId,
  };
  if (status !== "new") body["status"] = status;
  if (settings.brandId !== undefined) body["brand_id"] = settings.brandId;
  // Zendesk finds or creates the end user by email; without one the integration user is the requester.
  if (ticket.requester?.email !== undefined) {
    body["requester"] = { name: ticket.requester.name, email: ticket.requester.email };
  }
  // Solving needs an assignee; a new ticket has none.
  if (status === "solved" || status === "closed") body["assignee_id"] = settings.integrationUserId;
  const customFields = customFieldsFor(ticket, settings.fieldMapping);
  if (customFields.length > 0) body["custom_fields"] = customFields;
  return { ticket: body };
}

/**
 * The fields of `PUT /api/v2/tickets/{id}` that bring `current` to `patch`. Computed against a
 * fresh read on every safe_update attempt, so a retry after a 409 re-applies only what still
 * differs and never touches fields the engine did not name. The description is not written:
 * it is the ticket's first comment, read-only once created.
 */
export function toTicketUpdateFields(
  patch: OutboundTicketPatch,
  current: Ticket,
  settings: ZendeskSettings,
  scheme: PriorityScheme,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (patch.correlationId !== undefined && patch.correlationId !== current.external_id) {
    fields["external_id"] = patch.correlationId;
  }
  if (patch.title !== undefined && patch.title !== current.subject) fields["subject"] = patch.title;
  if (patch.priority !== undefined) {
    const priority = toZendeskPriority(patch.priority, scheme);
    if (priority !== current.priority) fields["priority"] = priority;
  }
  if (patch.status !== undefined) {
    const status = fromCanonicalStatus(patch.status, settings.mapping);
    // Zendesk never returns a ticket to New; neither does the canonical model, so nothing is lost.
    if (status !== current.status && status !== "new") fields["status"] = status;
    // Solving needs an assignee ("Assignee: is required when solving a ticket").
    if ((status === "solved" || status === "closed") && (current.assignee_id ?? null) === null) {
      fields["assignee_id"] = settings.integrationUserId;
    }
  }
  const customFields = customFieldsFor(patch, settings.fieldMapping).filter(
    (field) => customFieldText(current, field.id) !== field.value,
  );
  if (customFields.length > 0) fields["custom_fields"] = customFields;
  return fields;
}

/** On a closed ticket Zendesk accepts only subject, priority and tags; the rest is dropped. */
export function closedTicketFields(fields: Record<string, unknown>): Record<string, unknown> {
  const allowed: Record<string, unknown> = {};
  for (const key of ["subject", "priority"]) if (key in fields) allowed[key] = fields[key];
  return allowed;
}

/** True when `patch` asks a closed Zendesk ticket to be open again. */
export function reopensClosedTicket(patch: OutboundTicketPatch, settings: ZendeskSettings): boolean {
  return patch.status !== undefined && fromCanonicalStatus(patch.status, settings.mapping) !== "closed";
}

/**
 * `POST /api/v2/tickets` body of a follow-up: Zendesk's replacement for reopening a closed ticket.
 * It carries our canonical id, so create-or-link finds it, and the closed ticket's requester.
 */
export function toFollowUpCreateBody(input: {
  closed: Ticket;
  patch: OutboundTicketPatch;
  canonicalId: string;
  settings: ZendeskSettings;
  scheme: PriorityScheme;
}): { ticket: Record<string, unknown> } {
  const { closed, patch, settings, scheme } = input;
  const status = fromCanonicalStatus(patch.status ?? "in_progress", settings.mapping);
  const body: Record<string, unknown> = {
    via_followup_source_id: closed.id,
    external_id: input.canonicalId,
    subject: patch.title ?? closed.subject ?? `Follow-up of #${closed.id}`,
    // Internal, so reopening does not mail the requester a note they did not ask for.
    comment: { body: `Reopened by the service provider as a follow-up of #${closed.id}.`, public: false },
  };
  if (patch.priority !== undefined) body["priority"] = toZendeskPriority(patch.priority, scheme);
  else if (closed.priority !== null && closed.priority !== undefined) body["priority"] = closed.priority;
  if (status !== "new") body["status"] = status;
  if (closed.requester_id !== null && closed.requester_id !== undefined) {
    body["requester_id"] = closed.requester_id;
  }
  const brandId = settings.brandId ?? closed.brand_id ?? undefined;
  if (brandId !== undefined) body["brand_id"] = brandId;
  const customFields = customFieldsFor(patch, settings.fieldMapping);
  if (customFields.length > 0) body["custom_fields"] = customFields;
  return { ticket: body };
}

/** A Zendesk user -> requester; null when there is none or it has no usable name. */
export function requesterFromUser(user: User | null): Requester | null {
  if (user === null) return null;
  const name = user.name.trim();
  if (name === "") return null;
  const requester: Requester = { name: name.slice(0, 200) };
  if (user.email && Requester.shape.email.safeParse(user.email).success) requester.email = user.email;
  if (user.phone && user.phone.trim() !== "") requester.phone = user.phone.trim().slice(0, 50);
  return requester;
}

export function toAttachmentMeta(attachment: Attachment): AttachmentMeta {
  return {
    externalId: String(attachment.id),
    fileName: attachment.file_name,
    contentType: attachment.content_type ?? null,
    sizeBytes: attachment.size ?? null,
    contentUrl: attachment.content_url,
  };
}

export function toExternalComment(comment: Comment): ZendeskExternalComment {
  return {
    externalId: String(comment.id),
    body: comment.body,
    visibility: comment.public ? "public" : "internal",
    author: String(comment.author_id),
    createdAt: toUtcSeconds(comment.created_at),
    attachments: comment.attachments.map(toAttachmentMeta),
  };
}

/** A ticket, its comments, requester and last audit author -> the normalised ticket. */
export function toExternalTicket(input: {
  ticket: Ticket;
  comments: readonly Comment[];
  requester: User | null;
  /** Author of the newest audit: who changed the ticket last. */
  lastAuthorId: number | null;
  baseUrl: string;
  settings: ZendeskSettings;
  scheme: PriorityScheme;
}): ZendeskExternalTicket {
  const { ticket, settings } = input;
  return {
    externalId: String(ticket.id),
    externalKey: `#${ticket.id}`,
    url: ticketUrl(input.baseUrl, ticket.id),
    title: ticket.subject ?? "",
    description: ticket.description ? ticket.description : null,
    status: ticket.status,
    canonicalStatus: toCanonicalStatus(ticket.status, settings.mapping),
    priority: ticket.priority ?? null,
    canonicalPriority: toCanonicalPriority(ticket.priority, input.scheme),
    requester: requesterFromUser(input.requester),
    correlationId: ticket.external_id ? ticket.external_id : null,
    createdAt: toUtcSeconds(ticket.created_at),
    updatedAt: toUtcSeconds(ticket.updated_at),
    updatedBy: input.lastAuthorId === null ? null : String(input.lastAuthorId),
    // generated_timestamp moves on every update, system ones included; Zendesk has no counter.
    version: ticket.generated_timestamp === undefined ? null : String(ticket.generated_timestamp),
    comments: input.comments.map(toExternalComment),
    fields: {
      category: customFieldText(ticket, settings.fieldMapping?.category),
      affectedService: customFieldText(ticket, settings.fieldMapping?.affectedService),
    },
  };
}

export const zendeskMapping: ConnectorMapping<ZendeskSettings> = {
  statuses: zendeskStatusTable,
  lossyOutbound,
  toCanonicalStatus: (vendorStatus, settings) => toCanonicalStatus(vendorStatus, settings.mapping),
  fromCanonicalStatus: (status, settings) => fromCanonicalStatus(status, settings.mapping),
};
