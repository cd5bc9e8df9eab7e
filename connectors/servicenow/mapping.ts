import { type Priority, Requester, type TicketStatus } from "../../schemas/ticket.js";
import type {
  ConnectorMapping,
  ExternalComment,
  ExternalTicket,
  ExternalWorklog,
  MappingOverrides,
  OutboundComment,
  OutboundTicket,
  OutboundTicketPatch,
  OutboundWorklog,
  StatusMappingRow,
} from "../sdk/index.js";
import type { IncidentRecord, JournalElement, JournalEntry, SysUser, TimeWorkedEntry } from "./api-types.js";
import type { ServiceNowSettings } from "./config.js";

/** Impact or urgency value: 1 High, 2 Medium, 3 Low. */
export type ImpactUrgencyValue = "1" | "2" | "3";
export interface ImpactUrgency {
  impact: ImpactUrgencyValue;
  urgency: ImpactUrgencyValue;
}

/**
 * Priority translation wired by the engine from schemas/priority.ts (with the connection's
 * `impactUrgencyMatrix`). ServiceNow derives `priority` from impact × urgency and treats it
 * as read-only, so we write impact and urgency and read priority.
 */
export interface ServiceNowPriorityTranslation {
  /** ServiceNow priority "1"–"5" -> canonical; null when unknown. */
  toCanonical(priority: string): Priority | null;
  /** Canonical -> the impact and urgency to write. */
  toImpactUrgency(priority: Priority): ImpactUrgency;
}

/** What {@link toIncidentCreateFields} and friends need beyond settings. */
export interface ServiceNowMappingContext {
  priority: ServiceNowPriorityTranslation;
}

/** Written to correlation_display so admins can see which integration owns correlation_id. */
export const correlationDisplay = "ticket-sync-gateway";
/** Length of incident.short_description in a baseline dictionary. */
export const shortDescriptionMaxLength = 160;

/** incident.state baseline choices. */
export const incidentStates = {
  new: "1",
  inProgress: "2",
  onHold: "3",
  resolved: "6",
  closed: "7",
  canceled: "8",
} as const;

/**
 * incident.hold_reason baseline choices; 2 is not used in baseline.
 * Values as in ansible-collections/servicenow.itsm plugins/module_utils/incident.py;
 * labels per https://www.servicenow.com/docs/r/it-service-management/incident-management/c_IncidentManagementStateModel.html
 */
export const holdReasons = {
  awaitingCaller: "1",
  awaitingProblem: "3",
  awaitingVendor: "4",
  awaitingChange: "5",
} as const;

/**
 * Vendor status values are `state`, or `state:hold_reason` for On Hold with a reason, so a
 * single string carries both fields the incident state model needs.
 */
export const incidentStatusTable: readonly StatusMappingRow[] = [
  { vendor: "1", label: "New", canonical: "new" },
  { vendor: "2", label: "In Progress", canonical: "in_progress" },
  { vendor: "3", label: "On Hold", canonical: "on_hold" },
  { vendor: "3:1", label: "On Hold / Awaiting Caller", canonical: "pending_customer" },
  // Awaiting Problem/Change are the client's own internal processes, not a wait on the caller.
  { vendor: "3:3", label: "On Hold / Awaiting Problem", canonical: "on_hold" },
  // The client's "vendor" is us: their agent waits on the provider, which is not a carrier wait.
  { vendor: "3:4", label: "On Hold / Awaiting Vendor", canonical: "on_hold" },
  { vendor: "3:5", label: "On Hold / Awaiting Change", canonical: "on_hold" },
  { vendor: "6", label: "Resolved", canonical: "resolved" },
  { vendor: "7", label: "Closed", canonical: "closed" },
  { vendor: "8", label: "Canceled", canonical: "cancelled" },
];

const inboundStatus = new Map(incidentStatusTable.map((row) => [row.vendor, row.canonical]));

export const outboundStatus: Record<TicketStatus, string> = {
  new: "1",
  // ServiceNow has no acknowledged state; In Progress is the nearest the client can see.
  acknowledged: "2",
  in_progress: "2",
  pending_customer: "3:1",
  // The client sees the provider waiting on its carrier as waiting on its vendor.
  pending_carrier: "3:4",
  on_hold: "3:4",
  resolved: "6",
  closed: "7",
  cancelled: "8",
};

export const lossyOutbound: Partial<Record<TicketStatus, string>> = {
  acknowledged: "written as In Progress (2), read back as in_progress",
  pending_carrier: "written as On Hold / Awaiting Vendor (3:4), read back as on_hold",
};

/** The vendor status value of a record: `state`, or `3:<hold_reason>` when on hold with a reason. */
export function vendorStatusOf(record: Pick<IncidentRecord, "state" | "hold_reason">): string {
  return record.state === incidentStates.onHold && record.hold_reason !== ""
    ? `${record.state}:${record.hold_reason}`
    : record.state;
}

/**
 * vendor status value -> canonical. An On Hold reason we do not know reads as its state's
 * mapping (On Hold -> on_hold); an unknown state is null, for the engine to flag.
 */
export function toCanonicalStatus(vendorStatus: string, overrides?: MappingOverrides): TicketStatus | null {
  const inboundOverrides = overrides?.status?.inbound ?? {};
  const exact = inboundOverrides[vendorStatus] ?? inboundStatus.get(vendorStatus);
  if (exact !== undefined) return exact;
  const state = vendorStatus.split(":")[0] ?? "";
  if (state === vendorStatus) return null;
  return inboundOverrides[state] ?? inboundStatus.get(state) ?? null;
}

/** canonical -> vendor status value, honouring outbound overrides. */
export function fromCanonicalStatus(status: TicketStatus, overrides?: MappingOverrides): string {
  return overrides?.status?.outbound?.[status] ?? outboundStatus[status];
}

/** The incident fields that set `status`. */
export function toStateFields(
  status: TicketStatus,
  settings: ServiceNowSettings,
  options: { resolutionNote?: string; clearHoldReason: boolean },
): Record<string, string> {
  const [state = "", holdReason] = fromCanonicalStatus(status, settings.mapping).split(":");
  const fields: Record<string, string> = { state };
  if (holdReason !== undefined) fields["hold_reason"] = holdReason;
  else if (options.clearHoldReason) fields["hold_reason"] = "";
  // Resolving or closing requires a Resolution code and notes (data policy on many instances).
  if (state === incidentStates.resolved || state === incidentStates.closed) {
    fields["close_code"] = settings.resolutionCode;
    fields["close_notes"] = options.resolutionNote ?? settings.resolutionNotes;
  }
  return fields;
}

/** "2016-01-22 14:28:24" (UTC) -> "2016-01-22T14:28:24Z"; "" -> null. */
export function fromServiceNowDateTime(value: string): string | null {
  if (value === "") return null;
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
  if (match === null) throw new RangeError(`not a ServiceNow date-time: ${JSON.stringify(value)}`);
  return `${match[1]}T${match[2]}Z`;
}

/** An instant -> "YYYY-MM-DD HH:MM:SS" (UTC), truncated to the second. */
export function toServiceNowDateTime(instant: Date): string {
  return instant.toISOString().slice(0, 19).replace("T", " ");
}

/** A glide_duration as the Table API gives it ("1970-01-02 01:30:00" is 25.5 hours) -> seconds. */
export function fromGlideDuration(value: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
  if (match === null) throw new RangeError(`not a ServiceNow duration: ${JSON.stringify(value)}`);
  return Date.parse(`${match[1]}T${match[2]}Z`) / 1000;
}

/** Seconds -> a glide_duration value, whole seconds. */
export function toGlideDuration(seconds: number): string {
  return toServiceNowDateTime(new Date(Math.round(seconds) * 1000));
}

/** A Time Worked row -> the SDK's worklog; the row has no start, so its creation stands in. */
export function toExternalWorklog(entry: TimeWorkedEntry): ExternalWorklog {
  return {
    externalId: entry.sys_id,
    author: entry.sys_created_by,
    authorName: entry.sys_created_by,
    startedAt: fromServiceNowDateTime(entry.sys_created_on)!,
    durationSeconds: fromGlideDuration(entry.time_worked),
    comment: entry.comments === "" ? null : entry.comments,
  };
}

/**
 * Canonical -> Time Worked fields. The row is written as the integration user and has no start field, so who
 * did the work and when it started go in its comments.
 */
export function toTimeWorkedFields(sysId: string, worklog: OutboundWorklog) {
  const started = toServiceNowDateTime(new Date(worklog.startedAt));
  const note = worklog.comment ? `: ${worklog.comment}` : "";
  return {
    task: sysId,
    time_worked: toGlideDuration(worklog.durationSeconds),
    comments: `${worklog.author} (started ${started} UTC)${note}`,
  };
}

/** A caller's sys_user record -> requester; null when there is no caller or no usable name. */
export function requesterFromCaller(caller: SysUser | null): Requester | null {
  if (caller === null) return null;
  const name = caller.name.trim() || caller.user_name.trim();
  if (name === "") return null;
  const requester: Requester = { name: name.slice(0, 200) };
  // sys_user.email is free text; an invalid one is dropped rather than failing the read.
  if (caller.email !== "" && Requester.shape.email.safeParse(caller.email).success)
    requester.email = caller.email;
  if (caller.phone.trim() !== "") requester.phone = caller.phone.trim().slice(0, 50);
  return requester;
}

function shortDescription(title: string): string {
  // Longer titles are cut; the full title is not lost on our side, only at the client.
  return title.length <= shortDescriptionMaxLength
    ? title
    : `${title.slice(0, shortDescriptionMaxLength - 1)}…`;
}

/** A canonical ticket -> the body of `POST /api/now/table/incident`. */
export function toIncidentCreateFields(
  ticket: OutboundTicket,
  settings: ServiceNowSettings,
  ctx: ServiceNowMappingContext,
): Record<string, string> {
  const { impact, urgency } = ctx.priority.toImpactUrgency(ticket.priority);
  const fields: Record<string, string> = {
    short_description: shortDescription(ticket.title),
    description: ticket.description ?? "",
    impact,
    urgency,
    correlation_id: ticket.canonicalId,
    correlation_display: correlationDisplay,
  };
  if (settings.assignmentGroup !== undefined) fields["assignment_group"] = settings.assignmentGroup;
  if (settings.callerId !== undefined) fields["caller_id"] = settings.callerId;
  if (ticket.status !== "new") {
    Object.assign(
      fields,
      toStateFields(ticket.status, settings, {
        resolutionNote: ticket.resolutionNote,
        clearHoldReason: false,
      }),
    );
  }
  return fields;
}

/**
 * Changed canonical fields -> the body of `PATCH /api/now/table/incident/{sys_id}`.
 * Requester, category and affected service are not written: caller_id, category and
 * cmdb_ci are references or per-instance choices we cannot resolve from free text.
 */
export function toIncidentPatchFields(
  patch: OutboundTicketPatch,
  settings: ServiceNowSettings,
  ctx: ServiceNowMappingContext,
): Record<string, string> {
  const fields: Record<string, string> = {};
  if (patch.correlationId !== undefined) {
    fields["correlation_id"] = patch.correlationId;
    fields["correlation_display"] = correlationDisplay;
  }
  if (patch.title !== undefined) fields["short_description"] = shortDescription(patch.title);
  if (patch.description !== undefined) fields["description"] = patch.description ?? "";
  if (patch.priority !== undefined) Object.assign(fields, ctx.priority.toImpactUrgency(patch.priority));
  if (patch.status !== undefined) {
    Object.assign(
      fields,
      toStateFields(patch.status, settings, { resolutionNote: patch.resolutionNote, clearHoldReason: true }),
    );
  }
  return fields;
}

/** Which journal field a comment is written to: `comments` is customer-visible, `work_notes` internal. */
export function journalElementFor(
  visibility: OutboundComment["visibility"],
  settings: ServiceNowSettings,
): JournalElement {
  if (visibility === "internal" || settings.publicCommentsAsWorkNotes) return "work_notes";
  return "comments";
}

/** The text written to the journal. The author goes in the text since ServiceNow records the integration user. */
export function commentText(comment: Pick<OutboundComment, "body" | "authorName">): string {
  return comment.authorName === undefined ? comment.body : `[${comment.authorName}] ${comment.body}`;
}

/** Journal values come back with CRLF and trailing whitespace normalised by some instances. */
export function normaliseJournalText(text: string): string {
  return text.replace(/\r\n/g, "\n").trim();
}

export function toExternalComment(entry: JournalEntry): ExternalComment {
  return {
    externalId: entry.sys_id,
    body: entry.value,
    visibility: entry.element === "comments" ? "public" : "internal",
    author: entry.sys_created_by === "" ? null : entry.sys_created_by,
    createdAt: fromServiceNowDateTime(entry.sys_created_on)!,
  };
}

/** A record, its journal and its caller -> the normalised {@link ExternalTicket}. */
export function toExternalTicket(input: {
  record: IncidentRecord;
  journal: readonly JournalEntry[];
  caller: SysUser | null;
  recordUrl: string;
  settings: ServiceNowSettings;
  ctx: ServiceNowMappingContext;
}): ExternalTicket {
  const { record, settings, ctx } = input;
  const status = vendorStatusOf(record);
  return {
    externalId: record.sys_id,
    externalKey: record.number === "" ? null : record.number,
    url: input.recordUrl,
    title: record.short_description,
    description: record.description === "" ? null : record.description,
    status,
    canonicalStatus: toCanonicalStatus(status, settings.mapping),
    priority: record.priority === "" ? null : record.priority,
    canonicalPriority: record.priority === "" ? null : ctx.priority.toCanonical(record.priority),
    requester: requesterFromCaller(input.caller),
    correlationId: record.correlation_id === "" ? null : record.correlation_id,
    createdAt: fromServiceNowDateTime(record.sys_created_on)!,
    updatedAt: fromServiceNowDateTime(record.sys_updated_on)!,
    updatedBy: record.sys_updated_by === "" ? null : record.sys_updated_by,
    version: record.sys_mod_count === "" ? null : record.sys_mod_count,
    comments: input.journal
      .filter((entry) => entry.element === "comments" || entry.element === "work_notes")
      .map(toExternalComment),
  };
}

export const serviceNowMapping: ConnectorMapping<ServiceNowSettings> = {
  statuses: incidentStatusTable,
  lossyOutbound,
  toCanonicalStatus: (vendorStatus, settings) => toCanonicalStatus(vendorStatus, settings.mapping),
  fromCanonicalStatus: (status, settings) => fromCanonicalStatus(status, settings.mapping),
};
