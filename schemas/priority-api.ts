import { z } from "@hono/zod-openapi";
import { text } from "./common.js";
import { PrioritySchemeId } from "./priority.js";
import { Priority } from "./ticket.js";

export const PrioritySchemeView = z.object({
  id: PrioritySchemeId,
  source: text(),
  field: text(),
  values: z.array(z.object({ value: text(), aliases: z.array(text()), priority: Priority })),
  outbound: z.record(text(), text()),
  lossless: z.record(text(), z.boolean()),
});

export const TranslatePriority = z
  .strictObject({
    scheme: PrioritySchemeId,
    value: z
      .union([text().min(1).max(100), z.number()])
      .optional()
      .openapi({ description: "A scheme value to read as canonical." }),
    priority: Priority.optional().openapi({ description: "A canonical priority to write in the scheme." }),
    tenantId: text()
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
    value: text().optional(),
    lossy: z.boolean().optional(),
  })
  .openapi("TranslatedPriority");
