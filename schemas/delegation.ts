import { z } from "@hono/zod-openapi";
import { CalendarInput } from "./calendar.js";
import { Instant, instant, text } from "./common.js";

export const delegationStateValues = [
  "requested",
  "open",
  "in_progress",
  "pending",
  "resolved",
  "closed",
  "cancelled",
  "rejected",
  "failed",
] as const;

const OlaTargets = z.strictObject({
  acknowledgeMinutes: z.int().positive().optional(),
  restoreMinutes: z.int().positive().optional(),
});

export const CarrierOptions = z
  .strictObject({
    ola: z
      .strictObject({
        calendar: CalendarInput,
        targets: z.strictObject({
          P1: OlaTargets.optional(),
          P2: OlaTargets.optional(),
          P3: OlaTargets.optional(),
          P4: OlaTargets.optional(),
        }),
      })
      .optional()
      .openapi({
        description: "The carrier's OLA: acknowledge and restore targets per priority, in business minutes.",
      }),
    resolveTicketOnCarrierResolution: z.boolean().default(false).openapi({
      description: "Resolve the client's ticket when the carrier resolves (off: the provider decides).",
    }),
    relayStatusToClient: z.boolean().default(true).openapi({
      description:
        "Tell the client about the carrier leg's progress with public comments (no carrier internals).",
    }),
  })
  .openapi("CarrierOptions");
export type CarrierOptions = z.infer<typeof CarrierOptions>;

export const CreateDelegation = z
  .strictObject({
    connectionId: text().min(1),
    reason: text().trim().min(1).max(2000).optional(),
    service: z
      .strictObject({ id: text().min(1).max(200), type: text().min(1).max(100).optional() })
      .optional(),
    pendingCarrier: z
      .boolean()
      .default(true)
      .openapi({ description: "Move the ticket to pending_carrier while the carrier works on it." }),
  })
  .openapi("CreateDelegation");

export const Delegation = z
  .object({
    id: text().openapi({ example: "dlg_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    ticketId: text(),
    connectionId: text(),
    state: z.enum(delegationStateValues),
    carrierTicketId: text().nullable(),
    carrierStatus: text().nullable(),
    reason: text().nullable(),
    service: z.object({ id: text(), type: text().nullable() }).nullable(),
    acknowledgedAt: Instant.nullable(),
    resolvedAt: Instant.nullable(),
    closedAt: Instant.nullable(),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .openapi("Delegation");

export const DelegationNote = z
  .strictObject({ text: text().trim().min(1).max(10_000) })
  .openapi("DelegationNote");
export const DelegationAction = z
  .strictObject({ reason: text().trim().min(1).max(2000).optional() })
  .openapi("DelegationAction");

export const CarrierReportQuery = z.object({
  from: instant(),
  to: instant(),
});

export const CarrierReportRow = z
  .object({
    connectionId: text(),
    name: text(),
    type: text(),
    delegations: z.number().int(),
    acknowledged: z.number().int(),
    resolved: z.number().int(),
    rejected: z.number().int(),
    medianAcknowledgeBusinessMinutes: z.number().nullable(),
    p90AcknowledgeBusinessMinutes: z.number().nullable(),
    medianResolveBusinessMinutes: z.number().nullable(),
    p90ResolveBusinessMinutes: z.number().nullable(),
    olaBreaches: z.number().int(),
    totalWaitBusinessMinutes: z.number(),
    medianWaitBusinessMinutes: z.number().nullable(),
  })
  .openapi("CarrierReportRow");
