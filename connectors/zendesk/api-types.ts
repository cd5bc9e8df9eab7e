import { z } from "@hono/zod-openapi";

// Shapes of the Support API responses the client reads, checked against Zendesk's published
// oas.yaml (test/specs/zendesk/oas.yaml). Only the fields we use are listed; objects are not
// strict, since Zendesk adds fields without notice.
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/

/** Zendesk ids are integers; we carry them as decimal strings (ExternalRef.externalId). */
export const ZendeskId = z.number().int().positive();
/** "2009-07-20T22:55:29Z": ISO-8601 UTC, whole seconds. */
export const ZendeskDateTime = z.iso.datetime({ offset: true });

/** The ticket statuses of the Support API; the incremental export adds "deleted" for deleted tickets. */
export const zendeskStatuses = ["new", "open", "pending", "hold", "solved", "closed"] as const;
export type ZendeskStatus = (typeof zendeskStatuses)[number];

export const CustomFieldValue = z.object({
  id: ZendeskId,
  // Text fields carry strings, numeric fields numbers, checkboxes booleans, multiselect arrays.
  value: z.unknown(),
});

export const Ticket = z.object({
  id: ZendeskId,
  url: z.string().optional(),
  external_id: z.string().nullable().optional(),
  subject: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  status: z.string(),
  priority: z.string().nullable().optional(),
  requester_id: ZendeskId.nullable().optional(),
  assignee_id: ZendeskId.nullable().optional(),
  brand_id: ZendeskId.nullable().optional(),
  custom_fields: z.array(CustomFieldValue).nullable().optional(),
  created_at: ZendeskDateTime,
  updated_at: ZendeskDateTime,
  generated_timestamp: z.number().int().optional(),
});
export type Ticket = z.infer<typeof Ticket>;

export const TicketResponse = z.object({ ticket: Ticket });
export const TicketsResponse = z.object({ tickets: z.array(Ticket) });

/** One event of a ticket audit; a `Comment` event's id is the id of the comment it created. */
export const AuditEvent = z.object({ id: ZendeskId, type: z.string() });
export const Audit = z.object({
  id: ZendeskId,
  author_id: z.number().int().nullable().optional(),
  created_at: ZendeskDateTime.optional(),
  events: z.array(AuditEvent).default([]),
});
export type Audit = z.infer<typeof Audit>;

export const TicketUpdateResponse = z.object({ ticket: Ticket, audit: Audit });
export const AuditsResponse = z.object({ audits: z.array(Audit) });

export const Attachment = z.object({
  id: ZendeskId,
  file_name: z.string(),
  content_type: z.string().nullable().optional(),
  content_url: z.string(),
  size: z.number().int().nonnegative().nullable().optional(),
});
export type Attachment = z.infer<typeof Attachment>;

export const Comment = z.object({
  id: ZendeskId,
  type: z.string().optional(),
  author_id: z.number().int(),
  body: z.string().default(""),
  public: z.boolean(),
  created_at: ZendeskDateTime,
  attachments: z.array(Attachment).default([]),
});
export type Comment = z.infer<typeof Comment>;

/** Cursor pagination: `page[size]`, `page[after]`; `meta.has_more` and `meta.after_cursor` say what is next. */
export const CommentsPage = z.object({
  comments: z.array(Comment),
  meta: z.object({ has_more: z.boolean(), after_cursor: z.string().nullable() }).optional(),
});

export const User = z.object({
  id: ZendeskId,
  name: z.string(),
  email: z.string().nullable().optional(),
  phone: z.string().nullable().optional(),
  role: z.string().optional(),
});
export type User = z.infer<typeof User>;
export const UserResponse = z.object({ user: User });

/** What the changed-since poll needs of each exported ticket. */
export const ExportedTicket = z.object({
  id: ZendeskId,
  updated_at: ZendeskDateTime,
  brand_id: ZendeskId.nullable().optional(),
});

/** `GET /api/v2/incremental/tickets/cursor`: `after_cursor` continues, `end_of_stream` says caught up. */
export const IncrementalTicketsPage = z.object({
  tickets: z.array(ExportedTicket),
  after_cursor: z.string().nullable(),
  end_of_stream: z.boolean(),
});

export const UploadResponse = z.object({
  upload: z.object({ token: z.string().min(1), attachment: Attachment }),
});

/**
 * The error body of 4xx answers, e.g. a closed ticket:
 * `{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: closed prevents ticket update"}]}}`.
 */
export const ErrorBody = z.object({
  error: z.union([z.string(), z.object({ title: z.string(), message: z.string() })]),
  description: z.string().optional(),
  details: z.record(z.string(), z.array(z.object({ description: z.string() }))).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
