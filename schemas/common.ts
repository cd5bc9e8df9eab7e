import { z } from "@hono/zod-openapi";

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

export const Instant = z.iso.datetime({ offset: true }).openapi({ example: "2026-11-22T09:30:00Z" });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: "Page size (1-200)." }),
  cursor: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .openapi({ description: "The nextCursor of the previous page." }),
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

export const IdParam = z.object({ id: z.string().min(1).max(100) });
