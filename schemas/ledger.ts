import { z } from "@hono/zod-openapi";
import { Instant } from "./common.js";
import { Side } from "./ticket.js";

export const LedgerEntry = z
  .object({
    sequence: z.number().int(),
    occurredAt: Instant,
    tenantId: z.string().nullable(),
    ticketId: z.string().nullable(),
    connectionId: z.string().nullable(),
    direction: z.enum(["inbound", "outbound", "internal"]),
    kind: z.string().openapi({ example: "ticket.status_changed" }),
    actor: z.object({ type: z.string(), id: z.string().nullable() }),
    side: Side,
    externalId: z.string().nullable(),
    payloadHash: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
    prevHash: z.string().nullable(),
    hash: z.string(),
  })
  .openapi("LedgerEntry");

export const LedgerQuery = z.object({
  tenantId: z.string().min(1).optional(),
  ticketId: z.string().min(1).optional(),
  kind: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "Exact kind, or a prefix ending in `.*`." }),
  since: z.iso.datetime({ offset: true }).optional(),
});

export const LedgerVerification = z
  .object({
    ok: z.boolean(),
    checked: z.number().int(),
    firstBrokenSequence: z.number().int().nullable(),
  })
  .openapi("LedgerVerification");
