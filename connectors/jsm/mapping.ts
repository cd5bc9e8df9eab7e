import { fromCanonical, type PriorityScheme, resolveScheme, toCanonical } from "../../schemas/priority.js";
import { type Priority, Requester, type TicketStatus, type Visibility } from "../../schemas/ticket.js";
import type {
  ConnectorMapping,
  ExternalAttachment,
  ExternalComment,
  ExternalTicket,
  ExternalWorklog,
  MappingContextOptions,
  MappingOverrides,
  OutboundComment,
  OutboundTicket,
  OutboundTicketPatch,
  OutboundWorklog,
  StatusMappingRow,
} from "../sdk/index.js";
import { type AdfNode, adfToCanonical, canonicalToAdf } from "./adf.js";
import type { IssueRecord, JiraAttachment, JiraComment, JiraWorklog, Transition } from "./api-types.js";
import {
  browseUrl,
  type FieldMappingEntry,
  type JsmSettings,
  type MappableCanonicalField,
} from "./config.js";
import { jiraPriorityTable } from "./priority.js";
import { canonicalToWiki } from "./wiki-markup.js";

/** What the client and mapping use beyond settings, built once per connection by {@link jsmMappingContext}. */
export interface JsmMappingContext {
  /** Jira priority names <-> canonical levels, with the connection's overrides applied. */
  priority: PriorityScheme;
}

/**
 * The Jira scheme (Highest/High/Medium/Low/Lowest) with the connection's `priorityOverride` on top (else the
 * tenant's), for sites that renamed or added priorities.
 */
export function jsmMappingContext(
  settings: Pick<JsmSettings, "priorityOverride">,
  options: MappingContextOptions = {},
): JsmMappingContext {
  return {
    priority: resolveScheme(jiraPriorityTable, settings.priorityOverride ?? options.tenantPriorityOverride),
  };
}

/** Jira status categories as real sites report them in `statusCategory.key`. */
export type StatusCategory = "new" | "indeterminate" | "done";

export interface JsmStatusRow extends StatusMappingRow {
  category: StatusCategory;
}

/**
 * Vendor status values are Jira status names, compared case-insensitively. Names differ per
 * workflow and site, so connections rename them with `mapping.status` (see docs).
 */
export const jsmStatusTable: readonly JsmStatusRow[] = [
  { vendor: "Open", label: "Open", canonical: "new", category: "new" },
  { vendor: "To Do", label: "To Do", canonical: "new", category: "new" },
  // The client's agents hand the ticket back to support, which is us: work is on our side.
  { vendor: "Waiting for support", label: "Waiting for support", canonical: "in_progress", category: "new" },
  { vendor: "In Progress", label: "In Progress", canonical: "in_progress", category: "indeterminate" },
  {
    vendor: "Work in progress",
    label: "Work in progress",
    canonical: "in_progress",
    category: "indeterminate",
  },
  { vendor: "Escalated", label: "Escalated", canonical: "in_progress", category: "indeterminate" },
  {
    vendor: "Waiting for customer",
    label: "Waiting for customer",
    canonical: "pending_customer",
    category: "indeterminate",
  },
  { vendor: "Pending", label: "Pending", canonical: "on_hold", category: "indeterminate" },
  { vendor: "Resolved", label: "Resolved", canonical: "resolved", category: "done" },
  { vendor: "Done", label: "Done", canonical: "resolved", category: "done" },
  { vendor: "Closed", label: "Closed", canonical: "closed", category: "done" },
  { vendor: "Canceled", label: "Canceled", canonical: "cancelled", category: "done" },
  { vendor: "Cancelled", label: "Cancelled", canonical: "cancelled", category: "done" },
  { vendor: "Declined", label: "Declined", canonical: "cancelled", category: "done" },
];

export const outboundStatus: Record<TicketStatus, string> = {
  new: "Open",
  // JSM has no acknowledged status; In Progress is what the client's agents would expect.
  acknowledged: "In Progress",
  in_progress: "In Progress",
  pending_customer: "Waiting for customer",
  // The client sees the provider waiting on its carrier as Pending.
  pending_carrier: "Pending",
  on_hold: "Pending",
  resolved: "Resolved",
  closed: "Closed",
  cancelled: "Canceled",
};

export const lossyOutbound: Partial<Record<TicketStatus, string>> = {
  acknowledged: "written as In Progress, read back as in_progress",
  pending_carrier: "written as Pending, read back as on_hold",
};

/** The category a canonical status belongs to, for transitions to a status whose name the site changed. */
export const canonicalCategory: Record<TicketStatus, StatusCategory> = {
  new: "new",
  acknowledged: "indeterminate",
  in_progress: "indeterminate",
  pending_customer: "indeterminate",
  pending_carrier: "indeterminate",
  on_hold: "indeterminate",
  resolved: "done",
  closed: "done",
  cancelled: "done",
};

const statusKey = (name: string) => name.trim().replace(/\s+/g, " ").toLowerCase();
const inboundStatus = new Map(jsmStatusTable.map((row) => [statusKey(row.vendor), row.canonical]));

/** Jira status name -> canonical; null when the name is unknown (flagged, not guessed). */
export function toCanonicalStatus(statusName: string, overrides?: MappingOverrides): TicketStatus | null {
  const wanted = statusKey(statusName);
  for (const [name, canonical] of Object.entries(overrides?.status?.inbound ?? {})) {
    if (statusKey(name) === wanted) return canonical;
  }
  return inboundStatus.get(wanted) ?? null;
}

/** canonical -> the Jira status name to transition to. */
export function fromCanonicalStatus(status: TicketStatus, overrides?: MappingOverrides): string {
  return overrides?.status?.outbound?.[status] ?? outboundStatus[status];
}

export function sameStatusName(left: string, right: string): boolean {
  return statusKey(left) === statusKey(right);
}

/**
 * The category to fall back on for `status`, or null when several canonical statuses share it:
 * only `new` is alone in its category, so only it may follow a renamed status by category.
 */
export function fallbackCategory(status: TicketStatus): StatusCategory | null {
  const category = canonicalCategory[status];
  const sharing = Object.values(canonicalCategory).filter((candidate) => candidate === category);
  return sharing.length === 1 ? category : null;
}

/** What `chooseTransition` decided. */
export type TransitionChoice =
  | { kind: "transition"; transition: Transition; matchedBy: "name" | "category" }
  | { kind: "none"; reason: string };

/**
 * Picks the transition that leads to `targetName`, looked up by the target status (ids differ
 * per workflow and per current status, so they are never hard-coded). The exact name wins; with
 * a `fallback` category, a single transition into that category is taken for a site that renamed
 * the status; anything else is refused rather than guessed.
 */
export function chooseTransition(
  transitions: readonly Transition[],
  targetName: string,
  fallback: StatusCategory | null,
): TransitionChoice {
  const available = transitions.filter((transition) => transition.isAvailable !== false);
  const byName = available.filter((transition) => sameStatusName(transition.to.name, targetName));
  if (byName.length > 0) return { kind: "transition", transition: byName[0]!, matchedBy: "name" };
  const byCategory =
    fallback === null ? [] : available.filter((transition) => transition.to.statusCategory?.key === fallback);
  if (byCategory.length === 1)
    return { kind: "transition", transition: byCategory[0]!, matchedBy: "category" };
  const offered = available.map(
    (transition) => `${transition.name ?? transition.id} -> ${transition.to.name}`,
  );
  return {
    kind: "none",
    reason:
      byCategory.length > 1
        ? `no transition to "${targetName}"; ${byCategory.length} lead into category ${fallback}, so none is chosen (name the status in mapping.status.outbound)`
        : `no transition to "${targetName}" from the current status (name the status in mapping.status.outbound if the site calls it differently); available: ${offered.join(", ") || "none"}`,
  };
}

/** Jira priority name -> canonical; null for a name the scheme does not know. */
export function fromJiraPriority(name: string, scheme: PriorityScheme): Priority | null {
  const result = toCanonical(scheme, name);
  return "priority" in result ? result.priority : null;
}

/** canonical -> the `{name}` Jira accepts for `fields.priority`. */
export function toJiraPriority(priority: Priority, scheme: PriorityScheme): { name: string } {
  return { name: fromCanonical(scheme, priority).value };
}

/** Jira's summary is one line of at most 255 characters. */
export const summaryMaxLength = 255;

export function summaryOf(title: string): string {
  const line = title.replace(/\s*[\r\n]+\s*/g, " ").trim();
  // Longer titles are cut at the client only; our canonical title keeps the full text.
  return line.length <= summaryMaxLength ? line : `${line.slice(0, summaryMaxLength - 1)}…`;
}

/** Comments carry `public` in the servicedesk API; an internal note is never sent as public. */
export function commentIsPublic(
  visibility: Visibility,
  settings: Pick<JsmSettings, "publicCommentsAsInternal">,
) {
  return visibility === "public" && !settings.publicCommentsAsInternal;
}

/** The canonical text written for a comment: attributed, since Jira records the integration user as author. */
export function commentText(comment: Pick<OutboundComment, "body" | "authorName">): string {
  return comment.authorName === undefined
    ? comment.body
    : `On behalf of ${comment.authorName}:\n\n${comment.body}`;
}

/** The `body` of `POST /rest/servicedeskapi/request/{key}/comment`: wiki markup. */
export function toServiceDeskCommentBody(
  comment: Pick<OutboundComment, "body" | "authorName" | "visibility">,
  settings: JsmSettings,
) {
  return {
    body: canonicalToWiki(commentText(comment)),
    public: commentIsPublic(comment.visibility, settings),
  };
}

// ---------------------------------------------------------------------------------------------
// Custom field mapping

type MappedValues = Partial<Record<MappableCanonicalField, string | null>>;

function canonicalValues(
  ticket: Partial<Pick<OutboundTicket, "category" | "affectedService" | "requester">>,
): MappedValues {
  const values: MappedValues = {};
  if (ticket.category !== undefined) values.category = ticket.category;
  if (ticket.affectedService !== undefined) values.affectedService = ticket.affectedService;
  if (ticket.requester !== undefined) {
    values["requester.name"] = ticket.requester?.name ?? null;
    values["requester.email"] = ticket.requester?.email ?? null;
    values["requester.phone"] = ticket.requester?.phone ?? null;
  }
  return values;
}

/** Canonical values -> custom field values, for the fields mapped outbound whose canonical value is given. */
export function toMappedFields(
  ticket: Partial<Pick<OutboundTicket, "category" | "affectedService" | "requester">>,
  mapping: readonly FieldMappingEntry[] | undefined,
): Record<string, unknown> {
  const values = canonicalValues(ticket);
  const fields: Record<string, unknown> = {};
  for (const entry of mapping ?? []) {
    if (entry.direction === "inbound" || !(entry.canonical in values)) continue;
    const value = values[entry.canonical] ?? null;
    fields[entry.fieldId] = value === null ? null : entry.type === "select" ? { value } : value;
  }
  return fields;
}

/** Custom field values -> canonical values, for the fields mapped inbound. */
export function fromMappedFields(
  fields: Record<string, unknown>,
  mapping: readonly FieldMappingEntry[] | undefined,
): MappedValues {
  const values: MappedValues = {};
  for (const entry of mapping ?? []) {
    if (entry.direction === "outbound") continue;
    const raw = fields[entry.fieldId];
    const value =
      typeof raw === "string"
        ? raw
        : typeof raw === "object" && raw !== null && typeof (raw as { value?: unknown }).value === "string"
          ? (raw as { value: string }).value
          : null;
    values[entry.canonical] = value === null || value.trim() === "" ? null : value.trim();
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/** `POST /rest/api/3/issue` body for `createAs: "issue"`. */
export function toCreateIssueBody(ticket: OutboundTicket, settings: JsmSettings, scheme: PriorityScheme) {
  const fields: Record<string, unknown> = {
    project: { key: settings.projectKey },
    issuetype: { name: settings.issueTypeName },
    summary: summaryOf(ticket.title),
    priority: toJiraPriority(ticket.priority, scheme),
    [settings.correlationFieldId]: ticket.canonicalId,
    ...toMappedFields(ticket, settings.fieldMapping),
  };
  const description = canonicalToAdf(ticket.description);
  if (description !== null) fields["description"] = description;
  return { fields };
}

/**
 * `POST /rest/servicedeskapi/request` body for `createAs: "request"`. Only summary and
 * description: the request type's form rarely holds priority or our custom fields, so those
 * follow in {@link toAfterRequestCreateFields}.
 */
export function toCreateRequestBody(ticket: OutboundTicket, settings: JsmSettings) {
  const requestFieldValues: Record<string, string> = { summary: summaryOf(ticket.title) };
  if (ticket.description !== null && ticket.description.trim() !== "") {
    requestFieldValues["description"] = canonicalToWiki(ticket.description);
  }
  return {
    serviceDeskId: settings.serviceDeskId!,
    requestTypeId: settings.requestTypeId!,
    requestFieldValues,
  };
}

/**
 * The `PUT /rest/api/3/issue/{key}` fields that follow a customer request: the correlation id,
 * priority, mapped fields, and the description again as ADF so it is exact.
 */
export function toAfterRequestCreateFields(
  ticket: OutboundTicket,
  settings: JsmSettings,
  scheme: PriorityScheme,
) {
  const fields: Record<string, unknown> = {
    [settings.correlationFieldId]: ticket.canonicalId,
    priority: toJiraPriority(ticket.priority, scheme),
    ...toMappedFields(ticket, settings.fieldMapping),
  };
  const description = canonicalToAdf(ticket.description);
  if (description !== null) fields["description"] = description;
  return fields;
}

/** Changed canonical fields -> `PUT /rest/api/3/issue/{key}` fields. Status goes through transitions, not here. */
export function toEditFields(patch: OutboundTicketPatch, settings: JsmSettings, scheme: PriorityScheme) {
  const fields: Record<string, unknown> = {};
  if (patch.title !== undefined) fields["summary"] = summaryOf(patch.title);
  if (patch.description !== undefined) fields["description"] = canonicalToAdf(patch.description);
  if (patch.priority !== undefined) fields["priority"] = toJiraPriority(patch.priority, scheme);
  // Links a record opened at the site to our ticket, so later creates and the poller find it.
  if (patch.correlationId !== undefined) fields[settings.correlationFieldId] = patch.correlationId;
  Object.assign(fields, toMappedFields(patch, settings.fieldMapping));
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Attachment metadata as read from `fields.attachment`. Jira gives no checksum. */
export interface JsmExternalAttachment extends ExternalAttachment {
  sizeBytes: number;
  createdAt: string;
  /** The uploader's account id. */
  author: string | null;
}

/** An {@link ExternalTicket} plus what only Jira has. */
export interface JsmExternalTicket extends ExternalTicket {
  /** `statusCategory.key` of the status: `new`, `indeterminate` or `done`. */
  statusCategory: string | null;
  attachments: JsmExternalAttachment[];
  /** Canonical values read from the connection's inbound `fieldMapping` (requester.* also feed `requester`). */
  mappedFields: Partial<Record<MappableCanonicalField, string | null>>;
}

export function toExternalAttachment(attachment: JiraAttachment & { id: string }): JsmExternalAttachment {
  return {
    externalId: attachment.id,
    fileName: attachment.filename,
    contentType: attachment.mimeType ?? null,
    sizeBytes: attachment.size,
    createdAt: attachment.created,
    author: attachment.author?.accountId ?? null,
  };
}

/** The worklog property the gateway stamps its worklog id under, so a retry and an echo are recognised. */
export const worklogPropertyKey = "ticket-sync-gateway";

/** A Jira worklog -> the SDK's; the canonical id is read from the gateway's own worklog property. */
export function toExternalWorklog(worklog: JiraWorklog): ExternalWorklog {
  const stamped = worklog.properties?.find((property) => property.key === worklogPropertyKey)?.value;
  const canonicalId =
    typeof stamped === "object" &&
    stamped !== null &&
    typeof (stamped as { worklogId?: unknown }).worklogId === "string"
      ? (stamped as { worklogId: string }).worklogId
      : null;
  return {
    externalId: worklog.id,
    author: worklog.author?.accountId ?? null,
    authorName: worklog.author?.displayName ?? null,
    startedAt: worklog.started,
    durationSeconds: worklog.timeSpentSeconds,
    comment: adfToCanonical(worklog.comment),
    canonicalId,
  };
}

/** Canonical -> the `POST /rest/api/3/issue/{key}/worklog` body; Jira records the integration user as author. */
export function toWorklogBody(worklog: OutboundWorklog) {
  const text = worklog.comment ? `${worklog.author}: ${worklog.comment}` : `Logged by ${worklog.author}`;
  return {
    // Jira's date-time form: milliseconds and a +hhmm offset ("2021-01-17T12:34:00.000+0000").
    started: new Date(worklog.startedAt).toISOString().replace("Z", "+0000"),
    // Jira keeps whole minutes; at least one.
    timeSpentSeconds: Math.max(60, Math.round(worklog.durationSeconds / 60) * 60),
    comment: canonicalToAdf(text),
    properties: [{ key: worklogPropertyKey, value: { worklogId: worklog.canonicalId } }],
  };
}

/** A platform comment -> canonical. `jsdPublic: false` is an internal note; absent means public (Jira's default). */
export function toExternalComment(comment: JiraComment): ExternalComment {
  return {
    externalId: comment.id,
    body: adfToCanonical(comment.body) ?? "",
    visibility: comment.jsdPublic === false ? "internal" : "public",
    author: comment.author?.accountId ?? null,
    createdAt: comment.created,
  };
}

function requesterOf(
  issue: IssueRecord,
  mapped: MappedValues,
  integrationAccountId: string,
): Requester | null {
  // Requests we raise are reported by the integration account, which is not the requester.
  const reporter = issue.fields.reporter?.accountId === integrationAccountId ? null : issue.fields.reporter;
  const name = mapped["requester.name"] ?? reporter?.displayName?.trim() ?? "";
  if (name === "") return null;
  const requester: Requester = { name: name.slice(0, 200) };
  const email = mapped["requester.email"] ?? reporter?.emailAddress ?? null;
  // Jira hides emails by profile visibility; an unusable one is dropped rather than failing the read.
  if (email !== null && Requester.shape.email.safeParse(email).success) requester.email = email;
  const phone = mapped["requester.phone"];
  if (phone !== undefined && phone !== null) requester.phone = phone.slice(0, 50);
  return requester;
}

/** The last writer: newest of the changelog histories and the comments (comments leave no history). */
function lastWriterOf(issue: IssueRecord, comments: readonly JiraComment[]): string | null {
  let latest: { at: string; by: string } | null = null;
  for (const history of issue.changelog?.histories ?? []) {
    if (history.author !== undefined && (latest === null || history.created > latest.at))
      latest = { at: history.created, by: history.author.accountId };
  }
  for (const comment of comments) {
    const at = comment.updated ?? comment.created;
    if (comment.author !== undefined && (latest === null || at > latest.at))
      latest = { at, by: comment.author.accountId };
  }
  return latest?.by ?? null;
}

/** An issue and its comments -> the normalised ticket. */
export function toExternalTicket(input: {
  issue: IssueRecord;
  comments: readonly JiraComment[];
  settings: JsmSettings;
  scheme: PriorityScheme;
}): JsmExternalTicket {
  const { issue, settings, scheme } = input;
  const { fields } = issue;
  const mapped = fromMappedFields(fields, settings.fieldMapping);
  const correlation = fields[settings.correlationFieldId];
  const priorityName = fields.priority?.name ?? null;
  return {
    externalId: issue.id,
    externalKey: issue.key,
    url: browseUrl(settings, issue.key),
    title: fields.summary,
    description: adfToCanonical(fields.description as AdfNode | null | undefined),
    status: fields.status.name,
    canonicalStatus: toCanonicalStatus(fields.status.name, settings.mapping),
    statusCategory: fields.status.statusCategory?.key ?? null,
    priority: priorityName,
    canonicalPriority: priorityName === null ? null : fromJiraPriority(priorityName, scheme),
    requester: requesterOf(issue, mapped, settings.integrationAccountId),
    correlationId: typeof correlation === "string" && correlation.trim() !== "" ? correlation.trim() : null,
    createdAt: fields.created,
    updatedAt: fields.updated,
    updatedBy: lastWriterOf(issue, input.comments),
    // Jira has no modification counter.
    version: null,
    comments: input.comments.map(toExternalComment),
    attachments: (fields.attachment ?? [])
      .filter((attachment): attachment is JiraAttachment & { id: string } => attachment.id !== undefined)
      .map(toExternalAttachment),
    mappedFields: mapped,
  };
}

// ---------------------------------------------------------------------------------------------
// JQL

const safeJqlValue = /^[A-Za-z0-9_.:-]+$/;

/** A JQL string literal. */
export function jqlString(value: string): string {
  return `"${value.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

/** `customfield_10050` -> `cf[10050]`, the clause name that works for any custom field id. */
export function customFieldClause(fieldId: string): string {
  return `cf[${fieldId.replace(/^customfield_/, "")}]`;
}

/**
 * The JQL that finds issues carrying `canonicalId`. Text fields only support `~` (a full-text
 * match), so we search the exact phrase and then compare the value ourselves.
 */
export function correlationJql(
  settings: Pick<JsmSettings, "correlationFieldId">,
  canonicalId: string,
): string {
  if (!safeJqlValue.test(canonicalId)) {
    throw new TypeError(`canonical id cannot be used in JQL: ${JSON.stringify(canonicalId)}`);
  }
  return `${customFieldClause(settings.correlationFieldId)} ~ ${jqlString(`"${canonicalId}"`)}`;
}

interface WallClock {
  text: string;
  offsetMs: number;
}

function wallClock(instantMs: number, timeZone: string): WallClock {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(instantMs))
      .map((part) => [part.type, part.value]),
  );
  const asUtc = Date.UTC(
    Number(parts["year"]),
    Number(parts["month"]) - 1,
    Number(parts["day"]),
    Number(parts["hour"]),
    Number(parts["minute"]),
    Number(parts["second"]),
  );
  return {
    text: `${parts["year"]}/${parts["month"]}/${parts["day"]} ${parts["hour"]}:${parts["minute"]}`,
    offsetMs: asUtc - Math.floor(instantMs / 1000) * 1000,
  };
}

/**
 * A JQL date literal (`"yyyy/MM/dd HH:mm"`) at or before `instant`, in the zone Jira reads it in
 * (the searching user's). Minutes are floored. In the repeated hour after a DST change the same
 * wall time names two instants; if Jira could read it as the later one we step back an hour, so
 * the literal never lands after `instant`.
 */
export function jqlDateTime(instant: Date, timeZone: string): string {
  let at = instant.getTime();
  for (let step = 0; step < 3; step++) {
    const { text, offsetMs } = wallClock(at, timeZone);
    const offsets = new Set([-3, 3].map((hours) => wallClock(at + hours * 3_600_000, timeZone).offsetMs));
    const laterReading = [...offsets]
      .map((offset) => at + (offsetMs - offset))
      .filter((candidate) => candidate > at && wallClock(candidate, timeZone).text === text);
    if (laterReading.length === 0) return text;
    at -= Math.max(...laterReading) - at;
  }
  return wallClock(at, timeZone).text;
}

// ---------------------------------------------------------------------------------------------

export const jsmMapping: ConnectorMapping<JsmSettings> = {
  statuses: jsmStatusTable,
  lossyOutbound,
  toCanonicalStatus: (vendorStatus, settings) => toCanonicalStatus(vendorStatus, settings.mapping),
  fromCanonicalStatus: (status, settings) => fromCanonicalStatus(status, settings.mapping),
};
