import { z } from "@hono/zod-openapi";

// Shapes of the Jira Cloud platform (v3) and JSM servicedesk API responses the client reads.
// Only the fields we use are declared; everything else is stripped, so additions by Atlassian
// never fail a parse. Official specs: test/specs/jira and test/specs/jsm (SOURCES.md).
// https://developer.atlassian.com/cloud/jira/platform/rest/v3/
// https://developer.atlassian.com/cloud/jira/service-desk/rest/

/**
 * Jira's date-time, e.g. `2024-01-01T10:00:00.000+0000`: ISO-8601 with an offset that lacks
 * the colon. Normalised to a UTC instant with milliseconds, `2024-01-01T10:00:00.000Z`.
 */
export const JiraDateTime = z.union([z.string(), z.number()]).transform((value, ctx) => {
  // Some documented examples give epoch milliseconds; live responses give strings.
  const instant = typeof value === "number" ? new Date(value).toISOString() : parseJiraDateTime(value);
  if (instant === null) {
    ctx.addIssue({ code: "custom", message: `not a Jira date-time: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return instant;
});

/** `2024-01-01T10:00:00.000+0000` (or any ISO-8601 instant) -> `2024-01-01T10:00:00.000Z`; null when unreadable. */
export function parseJiraDateTime(value: string): string | null {
  const normalised = value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(normalised)) return null;
  const millis = Date.parse(normalised);
  return Number.isNaN(millis) ? null : new Date(millis).toISOString();
}

/** A user as the platform API embeds it (UserDetails). */
export const JiraUser = z.object({
  accountId: z.string(),
  displayName: z.string().optional(),
  emailAddress: z.string().optional(),
  timeZone: z.string().optional(),
});
export type JiraUser = z.infer<typeof JiraUser>;

/** `GET /rest/api/3/myself`. */
export const Myself = JiraUser;

/** One entry of `GET /rest/api/3/field`. */
export const FieldDetails = z.object({
  id: z.string(),
  name: z.string(),
  custom: z.boolean().optional(),
  schema: z.object({ type: z.string(), custom: z.string().optional() }).optional(),
  clauseNames: z.array(z.string()).optional(),
});
export type FieldDetails = z.infer<typeof FieldDetails>;

/** `POST /rest/api/3/issue` 201 (CreatedIssue). */
export const CreatedIssue = z.object({ id: z.string(), key: z.string() });

/** `POST /rest/servicedeskapi/request` 201 (CustomerRequestDTO). */
export const CreatedCustomerRequest = z.object({ issueId: z.string(), issueKey: z.string() });

/** `GET /rest/servicedeskapi/servicedesk/{id}/requesttype/{typeId}` (RequestTypeDTO). */
export const RequestType = z.object({ id: z.string(), name: z.string().optional() });

export const StatusCategoryKey = z.string();
/** A status with its category (`new`, `indeterminate`, `done` on real sites). */
export const JiraStatus = z.object({
  id: z.string().optional(),
  name: z.string(),
  statusCategory: z.object({ key: StatusCategoryKey.optional(), name: z.string().optional() }).optional(),
});
export type JiraStatus = z.infer<typeof JiraStatus>;

/** `fields.attachment[]` and the `POST …/attachments` response (Attachment). Ids are numbers in some responses. */
export const JiraAttachment = z.object({
  // The documented example lists an attachment without one; only the ones with an id are usable.
  id: z.union([z.string(), z.number()]).transform(String).optional(),
  filename: z.string(),
  mimeType: z.string().optional(),
  size: z.number().int().nonnegative(),
  created: JiraDateTime,
  author: JiraUser.optional(),
});
export type JiraAttachment = z.infer<typeof JiraAttachment>;

/** One changelog history (from `expand=changelog`). */
export const ChangelogHistory = z.object({
  id: z.string(),
  author: JiraUser.optional(),
  created: JiraDateTime,
  // fromString/toString are not read: a missing `toString` key would find Object.prototype's.
  items: z.array(z.object({ field: z.string(), fieldId: z.string().optional() })),
});
export type ChangelogHistory = z.infer<typeof ChangelogHistory>;

/**
 * The issue fields we read. Custom fields (correlation, mapped fields) stay in the catch-all
 * and are read by id; `description` is ADF, parsed by adf.ts.
 */
export const IssueFields = z
  .object({
    summary: z.string().default(""),
    description: z.unknown().optional(),
    status: JiraStatus,
    priority: z.object({ id: z.string().optional(), name: z.string() }).nullable().optional(),
    reporter: JiraUser.nullable().optional(),
    created: JiraDateTime,
    updated: JiraDateTime,
    attachment: z.array(JiraAttachment).optional(),
  })
  .catchall(z.unknown());
export type IssueFields = z.infer<typeof IssueFields>;

/** `GET /rest/api/3/issue/{key}` (IssueBean). */
export const IssueRecord = z.object({
  id: z.string(),
  key: z.string(),
  fields: IssueFields,
  changelog: z.object({ histories: z.array(ChangelogHistory).default([]) }).optional(),
});
export type IssueRecord = z.infer<typeof IssueRecord>;

/** The few fields a write needs back. */
export const IssueRef = z.object({
  id: z.string(),
  key: z.string(),
  fields: z.object({ updated: JiraDateTime, status: JiraStatus.optional() }),
});
export type IssueRef = z.infer<typeof IssueRef>;

/** `GET /rest/api/3/issue/{key}/transitions` (Transitions) with `expand=transitions.fields`. */
export const Transitions = z.object({
  transitions: z.array(
    z.object({
      id: z.string(),
      name: z.string().optional(),
      to: JiraStatus,
      isAvailable: z.boolean().optional(),
      fields: z.record(z.string(), z.object({ required: z.boolean().optional() })).optional(),
    }),
  ),
});
export type Transition = z.infer<typeof Transitions>["transitions"][number];

/** A platform comment (Comment). `jsdPublic` is false for JSM internal notes. */
export const JiraComment = z.object({
  id: z.string(),
  author: JiraUser.optional(),
  body: z.unknown(),
  created: JiraDateTime,
  updated: JiraDateTime.optional(),
  jsdPublic: z.boolean().optional(),
});
export type JiraComment = z.infer<typeof JiraComment>;

/** A worklog (Worklog); `properties` come with `expand=properties`. */
export const JiraWorklog = z.object({
  id: z.string(),
  author: JiraUser.optional(),
  comment: z.unknown().optional(),
  started: JiraDateTime,
  timeSpentSeconds: z.number().int().nonnegative(),
  properties: z.array(z.object({ key: z.string(), value: z.unknown() })).optional(),
});
export type JiraWorklog = z.infer<typeof JiraWorklog>;

/** `GET /rest/api/3/issue/{key}/worklog` (PageOfWorklogs). */
export const PageOfWorklogs = z.object({
  startAt: z.number().int(),
  maxResults: z.number().int(),
  total: z.number().int(),
  worklogs: z.array(JiraWorklog),
});

/** `GET /rest/api/3/issue/{key}/comment` (PageOfComments). */
export const PageOfComments = z.object({
  startAt: z.number().int(),
  maxResults: z.number().int(),
  total: z.number().int(),
  comments: z.array(JiraComment),
});

/** `POST /rest/servicedeskapi/request/{key}/comment` 201 (CommentDTO). */
export const ServiceDeskComment = z.object({
  id: z.string(),
  public: z.boolean().optional(),
});

/** `POST /rest/api/3/search/jql` (SearchAndReconcileResults), asked for `updated` only. */
export const SearchResults = z.object({
  issues: z
    .array(
      z.object({
        id: z.string(),
        key: z.string(),
        fields: z.object({ updated: JiraDateTime }).catchall(z.unknown()),
      }),
    )
    .default([]),
  nextPageToken: z.string().nullable().optional(),
  isLast: z.boolean().optional(),
});
export type SearchResults = z.infer<typeof SearchResults>;

/** `POST /rest/servicedeskapi/servicedesk/{id}/attachTemporaryFile` 201 (undocumented schema; the doc example's shape). */
export const TemporaryAttachments = z.object({
  temporaryAttachments: z.array(z.object({ temporaryAttachmentId: z.string(), fileName: z.string() })).min(1),
});

/** `POST /rest/servicedeskapi/request/{key}/attachment` 201 (AttachmentCreateResultDTO); attachments carry no id. */
export const AttachmentCreateResult = z.object({
  attachments: z
    .object({
      values: z.array(z.object({ filename: z.string(), size: z.number().int().optional() })).default([]),
    })
    .optional(),
});

/** `POST /rest/api/3/issue/{key}/attachments` 200. */
export const AddedAttachments = z.array(JiraAttachment).min(1);

/** Jira platform error body (ErrorCollection). */
export const ErrorCollection = z.object({
  errorMessages: z.array(z.string()).optional(),
  errors: z.record(z.string(), z.string()).optional(),
});

/** JSM error body (ErrorResponse). */
export const ServiceDeskError = z.object({ errorMessage: z.string().optional() });
