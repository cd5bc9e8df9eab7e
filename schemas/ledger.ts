import { z } from "@hono/zod-openapi";
import { Instant, instant, text } from "./common.js";
import { Side } from "./ticket.js";

export const LedgerEntry = z
  .object({
    sequence: z.number().int(),
    occurredAt: Instant,
    tenantId: text().nullable(),
    ticketId: text().nullable(),
    connectionId: text().nullable(),
    direction: z.enum(["inbound", "outbound", "internal"]),
    kind: text().openapi({ example: "ticket.status_changed" }),
    actor: z.object({ type: text(), id: text().nullable() }),
    side: Side,
    externalId: text().nullable(),
    payloadHash: text().nullable(),
    detail: z.record(text(), z.unknown()),
    prevHash: text().nullable(),
    hash: text(),
  })
  .openapi("LedgerEntry");

export const LedgerQuery = z.object({
  tenantId: text().min(1).optional(),
  ticketId: text().min(1).optional(),
  kind: text().min(1).max(100).optional().openapi({ description: "Exact kind, or a prefix ending in `.*`." }),
  since: instant().optional(),
});

export const LedgerVerification = z
  .object({
    ok: z.boolean(),
    checked: z.number().int(),
    firstBrokenSequence: z.number().int().nullable(),
  })
  .openapi("LedgerVerification");
