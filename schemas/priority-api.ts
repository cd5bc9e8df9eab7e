import { z } from "@hono/zod-openapi";
import { PrioritySchemeId } from "./priority.js";
import { Priority } from "./ticket.js";

export const PrioritySchemeView = z
  .object({
    id: PrioritySchemeId,
    source: z.string(),
    field: z.string(),
    values: z.array(z.object({ value: z.string(), aliases: z.array(z.string()), priority: Priority })),
    outbound: z.record(z.string(), z.string()),
    lossless: z.record(z.string(), z.boolean()),
  })
  .openapi("PriorityScheme");

export const TranslatePriority = z
  .strictObject({
    scheme: PrioritySchemeId,
    value: z
      .union([z.string().min(1).max(100), z.number()])
      .optional()
      .openapi({ description: "A scheme value to read as canonical." }),
    priority: Priority.optional().openapi({ description: "A canonical priority to write in the scheme." }),
    tenantId: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: "Apply this tenant's overrides (provider credentials)." }),
  })
  .refine((body) => (body.value === undefined) !== (body.priority === undefined), {
    message: "give exactly one of value and priority",
    path: ["value"],
  })
  .openapi("TranslatePriority");

export const TranslatedPriority = z
  .object({
    scheme: PrioritySchemeId,
    priority: Priority.optional(),
    exact: z.boolean().optional(),
    value: z.string().optional(),
    lossy: z.boolean().optional(),
  })
  .openapi("TranslatedPriority");
