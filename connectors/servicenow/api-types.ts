import { z } from "@hono/zod-openapi";

// Shapes of Table API responses read with sysparm_display_value=false: every value is a
// string, "" stands for empty, dates are "YYYY-MM-DD HH:MM:SS" in UTC.
// https://www.servicenow.com/docs/r/australia/api-reference/rest-apis/c_TableAPI.html

export const SysId = z.string().regex(/^[0-9a-f]{32}$/);

/** "YYYY-MM-DD HH:MM:SS" (UTC) or "" when unset. */
export const SnDateTime = z.string().regex(/^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})?$/);
/** A date-time that is always set (sys_created_on, sys_updated_on). */
export const SnRequiredDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

/**
 * A reference field: `{link, value}` when set and "" when empty; a bare sys_id string under
 * sysparm_exclude_reference_link=true. Normalised to the sys_id or null.
 */
export const SnReference = z
  .union([z.object({ value: z.string(), link: z.string().optional() }), z.string()])
  .transform((reference) => {
    const value = typeof reference === "string" ? reference : reference.value;
    return value === "" ? null : value;
  });

/** Wraps a single record the way the Table API does. */
export function resultOf<T extends z.ZodType>(record: T) {
  return z.object({ result: record });
}

/** Wraps a record list the way the Table API does. */
export function resultListOf<T extends z.ZodType>(record: T) {
  return z.object({ result: z.array(record) });
}

/** The few fields a write or a correlation lookup needs back. */
export const IncidentRef = z.object({
  sys_id: SysId,
  number: z.string(),
  sys_updated_on: SnRequiredDateTime,
});
export type IncidentRef = z.infer<typeof IncidentRef>;
export const incidentRefFields = Object.keys(IncidentRef.shape).join(",");

// Fields the caller may not read are silently omitted by ACLs, so all but the identity
// fields default to "" rather than failing the whole read.
export const IncidentRecord = z.object({
  sys_id: SysId,
  number: z.string(),
  short_description: z.string().default(""),
  description: z.string().default(""),
  state: z.string().default(""),
  hold_reason: z.string().default(""),
  impact: z.string().default(""),
  urgency: z.string().default(""),
  priority: z.string().default(""),
  caller_id: SnReference.optional(),
  assignment_group: SnReference.optional(),
  correlation_id: z.string().default(""),
  correlation_display: z.string().default(""),
  close_code: z.string().default(""),
  close_notes: z.string().default(""),
  sys_created_on: SnRequiredDateTime,
  sys_updated_on: SnRequiredDateTime,
  sys_updated_by: z.string().default(""),
  sys_mod_count: z.string().default(""),
});
export type IncidentRecord = z.infer<typeof IncidentRecord>;
export const incidentRecordFields = Object.keys(IncidentRecord.shape).join(",");

/** A record of the changed-since poll. */
export const ChangedIncident = z.object({
  sys_id: SysId,
  sys_updated_on: SnRequiredDateTime,
});
export const changedIncidentFields = Object.keys(ChangedIncident.shape).join(",");

/** The journal fields a comment can be written to. */
export const journalElements = ["comments", "work_notes"] as const;
export type JournalElement = (typeof journalElements)[number];

/** A sys_journal_field row: one comment or work note. */
export const JournalEntry = z.object({
  sys_id: SysId,
  element: z.string(),
  element_id: z.string(),
  value: z.string(),
  sys_created_on: SnRequiredDateTime,
  sys_created_by: z.string(),
});
export type JournalEntry = z.infer<typeof JournalEntry>;
export const journalEntryFields = Object.keys(JournalEntry.shape).join(",");

/**
 * A Time Worked (`task_time_worked`) row: the platform writes one per save of a task's Time worked timer, and
 * the Table API takes them directly. `time_worked` is a glide_duration ("1970-01-01 01:30:00"); the row records
 * no start, only its creation.
 */
export const TimeWorkedEntry = z.object({
  sys_id: SysId,
  task: z.union([z.string(), z.object({ value: z.string() }).transform((ref) => ref.value)]),
  time_worked: z.string(),
  comments: z.string().default(""),
  sys_created_on: SnRequiredDateTime,
  sys_created_by: z.string(),
});
export type TimeWorkedEntry = z.infer<typeof TimeWorkedEntry>;
export const timeWorkedFields = Object.keys(TimeWorkedEntry.shape).join(",");

/** The sys_user fields a requester is built from. */
export const SysUser = z.object({
  sys_id: SysId,
  user_name: z.string().default(""),
  name: z.string().default(""),
  email: z.string().default(""),
  phone: z.string().default(""),
});
export type SysUser = z.infer<typeof SysUser>;
export const sysUserFields = Object.keys(SysUser.shape).join(",");

/** The error envelope ServiceNow sends with 4xx/5xx. */
export const ErrorBody = z.object({
  error: z.object({ message: z.string(), detail: z.string().nullable().optional() }),
  status: z.literal("failure"),
});
