import { z } from "@hono/zod-openapi";

// PostgreSQL text cannot hold NUL, and an unpaired UTF-16 surrogate has no UTF-8 form (it would be
// stored as U+FFFD, silently changing what the client sent): both are refused, naming the field.
export const NUL = "\u0000";
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL could not store this string as sent, or null when it can. */
export function unstorable(value: string): string | null {
  if (value.includes(NUL)) return "must not contain a NUL character";
  if (LONE_SURROGATE.test(value)) return "must not contain an unpaired UTF-16 surrogate";
  return null;
}

/** Every string the API accepts: `text()` instead of `z.string()`, so nothing PostgreSQL cannot store gets in. */
export function text() {
  return z.string().superRefine((value, ctx) => {
    const problem = unstorable(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Prefixes of the gateway's ids (`tkt_01J...`): one per kind of resource. */
export const idPrefixes = {
  ticket: "tkt",
  comment: "cmt",
  attachment: "att",
  tenant: "ten",
  operator: "opr",
  apiKey: "key",
  connection: "con",
  job: "job",
  delegation: "dlg",
  request: "req",
  checkpoint: "lcp",
  appointment: "apt",
  dispatch: "dsp",
  worklog: "wlg",
  eventSubscription: "evs",
  /** Test events only: ledger events are `evt_<ledger sequence>`. */
  testEvent: "evt_test",
} as const;

/** A prefixed ULID of one kind; path ids are checked against it before any query. */
export function idOf(kind: keyof typeof idPrefixes) {
  return z
    .string()
    .regex(new RegExp(`^${idPrefixes[kind]}_[0-9A-HJKMNP-TV-Z]{26}$`), `must be a ${idPrefixes[kind]}_ id`)
    .openapi({ example: `${idPrefixes[kind]}_01JD3Q0W6F7V8Y9Z0A1B2C3D4E` });
}

// PostgreSQL's timestamptz takes years 1..9999 here (year 0 does not exist; 10000+ does not parse back).
function inPostgresRange(value: string): boolean {
  const year = new Date(value).getUTCFullYear();
  return year >= 1 && year <= 9999;
}

/** An ISO 8601 instant with an offset, within years 0001..9999 in UTC. */
export function instant() {
  return z.iso
    .datetime({ offset: true })
    .refine(inPostgresRange, "must be between years 0001 and 9999 (UTC)");
}

/** An ISO 8601 calendar date within years 0001..9999. */
export function isoDate() {
  return z.iso.date().refine(inPostgresRange, "must be between years 0001 and 9999");
}

export const Problem = z
  .object({
    type: z.string().openapi({ example: "/problems/validation-failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details (application/problem+json)." });

export const Instant = instant().openapi({ example: "2026-11-22T09:30:00Z" });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: "Page size (1-200)." }),
  cursor: text().min(1).max(500).optional().openapi({ description: "The nextCursor of the previous page." }),
});

/** Every list in the API answers `{items, nextCursor}`. */
export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z
        .string()
        .nullable()
        .openapi({ description: "Pass as `cursor` for the next page; null at the end." }),
    })
    .openapi(name);
}

/** `{id}` of a path, checked against the resource's id format. */
export function idParam(kind: keyof typeof idPrefixes) {
  return z.object({ id: idOf(kind) });
}
