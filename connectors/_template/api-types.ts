import { z } from "@hono/zod-openapi";

// EXAMPLE: the shapes below describe a made-up vendor API (`/api/v1/records`), so that the skeleton
// compiles and its tests run. TODO: replace them with the vendor's documented shapes, one zod schema per
// body the client reads, and put the vendor's API reference URL here and above each call in client.ts.
//
// Rules: parse every response (the SDK's http client does, given `schema`); do not use `.strict()` on
// responses (vendors add fields); default fields that ACLs or field-level permissions may hide instead of
// failing the whole read; keep identity fields required.

/** ISO-8601 instant as the vendor writes it. TODO: the vendor's own date format (see servicenow). */
export const VendorInstant = z.iso.datetime({ offset: true });

/** What a write or a correlation lookup needs back. */
export const RecordRef = z.object({
  id: z.string().min(1),
  key: z.string().nullable().default(null),
  updated_at: VendorInstant,
});
export type RecordRef = z.infer<typeof RecordRef>;

/** A full record as `GET /api/v1/records/{id}` returns it. */
export const VendorRecord = RecordRef.extend({
  title: z.string().default(""),
  description: z.string().nullable().default(null),
  status: z.string(),
  priority: z.string().nullable().default(null),
  /** Where we store our canonical id (`tkt_…`) for create-or-link. */
  correlation_id: z.string().nullable().default(null),
  requester: z
    .object({ name: z.string(), email: z.string().nullable().default(null) })
    .nullable()
    .default(null),
  created_at: VendorInstant,
  updated_by: z.string().nullable().default(null),
  version: z.number().int().nullable().default(null),
});
export type VendorRecord = z.infer<typeof VendorRecord>;

export const VendorComment = z.object({
  id: z.string().min(1),
  body: z.string(),
  public: z.boolean(),
  author: z.string().nullable().default(null),
  created_at: VendorInstant,
});
export type VendorComment = z.infer<typeof VendorComment>;

/** One row of the changed-since listing. */
export const ChangedRow = z.object({ id: z.string().min(1), updated_at: VendorInstant });

export const RecordEnvelope = z.object({ record: VendorRecord });
export const RecordRefEnvelope = z.object({ record: RecordRef });
export const RecordRefList = z.object({ records: z.array(RecordRef) });
export const ChangedList = z.object({ records: z.array(ChangedRow) });
export const CommentEnvelope = z.object({ comment: VendorComment });
export const CommentList = z.object({ comments: z.array(VendorComment) });
export const CurrentUser = z.object({ user: z.object({ id: z.string(), name: z.string() }) });

/** The vendor's error body, for tests and handlers. */
export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
