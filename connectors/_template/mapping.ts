import {
  type PriorityScheme,
  type PrioritySchemeTable,
  resolveScheme,
  toCanonical,
} from "../../schemas/priority.js";
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
import type { VendorComment, VendorRecord } from "./api-types.js";
import type { TemplateSettings } from "./config.js";

// Pure functions and lookup tables only: no I/O, no clock, no settings lookups hidden in closures.
// Every lossy or unknown value gets a one-line why; unknown vendor values map to null (flagged by the
// engine as `sync.unmapped`), never to a guess.

/**
 * EXAMPLE priority table. TODO: the vendor's table, with `id` = your type id. It is the connector's
 * `priorityScheme` (index.ts): the API lists it and tenants override it by this id. Rows for it go in
 * ./test/priority.test.ts. (Could live in its own priority.ts, as the other connectors do.)
 */
export const examplePriorityTable: PrioritySchemeTable = {
  id: "template",
  source: "EXAMPLE: the made-up vendor's record.priority",
  field: "priority",
  values: [
    { value: "critical", priority: "P1" },
    { value: "high", priority: "P2" },
    { value: "medium", priority: "P3" },
    { value: "low", priority: "P4" },
    // Some vendors have a fifth level; read it as the lowest, it goes back out as "low".
    { value: "planning", priority: "P4" },
  ],
  outbound: { P1: "critical", P2: "high", P3: "medium", P4: "low" },
};

/** What the client and mapping need beyond settings; built once per connection by {@link templateMappingContext}. */
export interface TemplateMappingContext {
  /** The vendor's priority scheme with the connection's `priorityOverride` (else the tenant's) applied. */
  priority: PriorityScheme;
}

export function templateMappingContext(
  settings: Pick<TemplateSettings, "priorityOverride">,
  options: MappingContextOptions = {},
): TemplateMappingContext {
  return {
    priority: resolveScheme(
      examplePriorityTable,
      settings.priorityOverride ?? options.tenantPriorityOverride,
    ),
  };
}

/** EXAMPLE vendor statuses. TODO: the vendor's status values and labels, one row each, with a why on any surprise. */
export const statusTable: readonly StatusMappingRow[] = [
  { vendor: "new", label: "New", canonical: "new" },
  { vendor: "open", label: "Open", canonical: "in_progress" },
  { vendor: "pending", label: "Pending (waiting on requester)", canonical: "pending_customer" },
  { vendor: "on-hold", label: "On hold", canonical: "on_hold" },
  { vendor: "solved", label: "Solved", canonical: "resolved" },
  { vendor: "closed", label: "Closed", canonical: "closed" },
  { vendor: "cancelled", label: "Cancelled", canonical: "cancelled" },
];

const inboundStatus = new Map(statusTable.map((row) => [row.vendor, row.canonical]));

/** canonical -> vendor. Total: `Record<TicketStatus, ...>` makes tsc fail when a status is added. */
export const outboundStatus: Record<TicketStatus, string> = {
  new: "new",
  // The vendor has no acknowledged state; Open is the nearest the client can see.
  acknowledged: "open",
  in_progress: "open",
  pending_customer: "pending",
  // The client sees the provider waiting on its carrier as a hold, not as waiting on the requester.
  pending_carrier: "on-hold",
  on_hold: "on-hold",
  resolved: "solved",
  closed: "closed",
  cancelled: "cancelled",
};

/** Canonical statuses that read back as another status, with why (the mapping test keeps this list honest). */
export const lossyOutbound: Partial<Record<TicketStatus, string>> = {
  acknowledged: "written as open, read back as in_progress",
  pending_carrier: "written as on-hold, read back as on_hold",
};

/** vendor status -> canonical, honouring the connection's inbound overrides; null when unknown. */
export function toCanonicalStatus(vendorStatus: string, overrides?: MappingOverrides): TicketStatus | null {
  return overrides?.status?.inbound?.[vendorStatus] ?? inboundStatus.get(vendorStatus) ?? null;
}

/** canonical -> vendor status, honouring the connection's outbound overrides. */
export function fromCanonicalStatus(status: TicketStatus, overrides?: MappingOverrides): string {
  return overrides?.status?.outbound?.[status] ?? outboundStatus[status];
}

/** A vendor priority -> canonical; null when the scheme does not know it. */
export function toCanonicalPriority(value: string | null, ctx: TemplateMappingContext): Priority | null {
  if (value === null || value === "") return null;
  const result = toCanonical(ctx.priority, value);
  return "priority" in result ? result.priority : null;
}

/** Any offset the vendor writes -> ISO-8601 UTC, whole seconds when the vendor stores seconds. */
export function toUtcIso(value: string): string {
  return new Date(value).toISOString().replace(/\.000Z$/, "Z");
}

/** The text written as a comment: the vendor records the integration user, so the person goes in the text. */
export function commentText(comment: Pick<OutboundComment, "body" | "authorName">): string {
  return comment.authorName === undefined ? comment.body : `[${comment.authorName}] ${comment.body}`;
}

/** Vendors normalise whitespace and line endings; compare read-back text after this. */
export function normaliseCommentText(text: string): string {
  return text.replace(/\r\n/g, "\n").trim();
}

/**
 * A canonical ticket -> the create body. Carries our canonical id in the correlation field, which is
 * what create-or-link searches for. TODO: the vendor's field names; requester, category and affected
 * service only where the vendor has a field we can fill without guessing (say why otherwise).
 */
export function toCreateBody(
  ticket: OutboundTicket,
  settings: TemplateSettings,
  ctx: TemplateMappingContext,
): Record<string, unknown> {
  return {
    title: ticket.title,
    description: ticket.description ?? "",
    status: fromCanonicalStatus(ticket.status, settings.mapping),
    priority: ctx.priority.outbound[ticket.priority],
    correlation_id: ticket.canonicalId,
    ...resolutionFields(ticket.status, ticket.resolutionNote, settings),
  };
}

/** Changed canonical fields -> the update body. Absent fields are not touched. */
export function toPatchBody(
  patch: OutboundTicketPatch,
  settings: TemplateSettings,
  ctx: TemplateMappingContext,
): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (patch.correlationId !== undefined) body["correlation_id"] = patch.correlationId;
  if (patch.title !== undefined) body["title"] = patch.title;
  if (patch.description !== undefined) body["description"] = patch.description ?? "";
  if (patch.priority !== undefined) body["priority"] = ctx.priority.outbound[patch.priority];
  if (patch.status !== undefined) {
    body["status"] = fromCanonicalStatus(patch.status, settings.mapping);
    Object.assign(body, resolutionFields(patch.status, patch.resolutionNote, settings));
  }
  return body;
}

function resolutionFields(
  status: TicketStatus,
  note: string | undefined,
  settings: TemplateSettings,
): Record<string, string> {
  return status === "resolved" || status === "closed"
    ? { resolution_notes: note ?? settings.resolutionNotes }
    : {};
}

/** The vendor's requester -> canonical; null without a usable name. Invalid e-mails are dropped, not fatal. */
export function toRequester(requester: VendorRecord["requester"]): Requester | null {
  const name = requester?.name.trim() ?? "";
  if (requester === null || name === "") return null;
  const result: Requester = { name: name.slice(0, 200) };
  if (requester.email !== null && Requester.shape.email.safeParse(requester.email).success)
    result.email = requester.email;
  return result;
}

export function toExternalComment(comment: VendorComment): ExternalComment {
  return {
    externalId: comment.id,
    body: comment.body,
    visibility: comment.public ? "public" : "internal",
    // Must be in the same form as the integration identity (config.ts) so our own comments are skipped.
    author: comment.author,
    createdAt: toUtcIso(comment.created_at),
  };
}

/** A record and its comments -> the normalised ticket the engine compares and applies. */
export function toExternalTicket(input: {
  record: VendorRecord;
  comments: readonly VendorComment[];
  recordUrl: string | null;
  settings: TemplateSettings;
  ctx: TemplateMappingContext;
}): ExternalTicket {
  const { record, settings, ctx } = input;
  return {
    externalId: record.id,
    externalKey: record.key,
    url: input.recordUrl,
    title: record.title,
    description: record.description === "" ? null : record.description,
    // The raw vendor value: the engine's vendor baseline compares it, so it must read the same every time.
    status: record.status,
    canonicalStatus: toCanonicalStatus(record.status, settings.mapping),
    priority: record.priority === "" ? null : record.priority,
    canonicalPriority: toCanonicalPriority(record.priority, ctx),
    requester: toRequester(record.requester),
    correlationId: record.correlation_id === "" ? null : record.correlation_id,
    createdAt: toUtcIso(record.created_at),
    updatedAt: toUtcIso(record.updated_at),
    updatedBy: record.updated_by,
    version: record.version === null ? null : String(record.version),
    comments: [...input.comments]
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))
      .map(toExternalComment),
  };
}

export const templateMapping: ConnectorMapping<TemplateSettings> = {
  statuses: statusTable,
  lossyOutbound,
  toCanonicalStatus: (vendorStatus, settings) => toCanonicalStatus(vendorStatus, settings.mapping),
  fromCanonicalStatus: (status, settings) => fromCanonicalStatus(status, settings.mapping),
};
