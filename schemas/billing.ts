import { z } from "@hono/zod-openapi";
import { Instant, instant, isoDate, text } from "./common.js";

const kebabCase = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Provider acts on a ticket that billing rules can charge for. */
export const BillingEvent = z.enum(["handover", "appointment_concluded", "worklog", "dispatch"]);
export type BillingEvent = z.infer<typeof BillingEvent>;

/** What a rule draws on: prepaid incidents, prepaid minutes from blocks of hours, or T&M money owed. */
export const BillingAccount = z.enum(["incidents", "hours", "time_and_materials"]);
export type BillingAccount = z.infer<typeof BillingAccount>;

/** The unit each account counts in: incidents, minutes, minor currency units (cents). */
export const accountUnit = {
  incidents: "incident",
  hours: "minute",
  time_and_materials: "cent",
} as const satisfies Record<BillingAccount, string>;

export const BillingQuantity = z
  .union([
    z.strictObject({ fixed: z.int().positive().openapi({ description: "Units per event." }) }),
    z.strictObject({
      stepped: z.strictObject({
        firstMinutes: z.int().positive(),
        firstUnits: z.int().positive(),
        thenEveryMinutes: z.int().positive(),
        thenUnits: z.int().positive(),
      }),
    }),
    z.strictObject({
      minutesOf: z.enum(["duration", "travel"]),
      atRate: z.literal("hourlyRate").optional(),
    }),
    z.strictObject({ amount: z.literal("tripFee") }),
  ])
  .openapi("BillingQuantity", {
    description:
      "`fixed` units per event; `stepped`: `firstUnits` for up to `firstMinutes` (a minimum), then `thenUnits` per started `thenEveryMinutes`; `minutesOf` the event's duration or travel time (at the hourly rate, in cents, with `atRate`); `amount: tripFee` the terms' trip fee.",
  });
export type BillingQuantity = z.infer<typeof BillingQuantity>;

export const BillingRule = z
  .strictObject({
    name: text().regex(kebabCase).max(60),
    on: BillingEvent,
    account: BillingAccount,
    quantity: BillingQuantity,
    billableOnly: z
      .boolean()
      .default(false)
      .openapi({ description: "Only work logs marked billable count." }),
    unlessIncluded: z
      .enum(["tripFee", "travelTime"])
      .optional()
      .openapi({ description: "Skipped when the terms include this service (SPP-SA)." }),
  })
  .openapi("BillingRule");
export type BillingRule = z.infer<typeof BillingRule>;
export type BillingRuleInput = z.input<typeof BillingRule>;

export const BillingTerms = z
  .strictObject({
    currency: text()
      .regex(/^[A-Z]{3}$/)
      .default("USD"),
    hourlyRateCents: z.int().nonnegative().optional(),
    tripFeeCents: z.int().nonnegative().optional(),
    included: z
      .strictObject({ tripFee: z.boolean().default(false), travelTime: z.boolean().default(false) })
      .default({ tripFee: false, travelTime: false }),
    incidentRolloverCap: z
      .int()
      .nonnegative()
      .optional()
      .openapi({ description: "Unused incidents carried into the next contract year, at most." }),
  })
  .openapi("BillingTerms");
export type BillingTerms = z.infer<typeof BillingTerms>;

export const PlanBilling = z
  .strictObject({ terms: BillingTerms.default({} as never), rules: z.array(BillingRule) })
  .superRefine((billing, ctx) => {
    const seen = new Set<string>();
    billing.rules.forEach((rule, index) => {
      if (seen.has(rule.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", index, "name"],
          message: `Duplicate rule ${rule.name}`,
        });
      }
      seen.add(rule.name);
    });
  })
  .openapi("PlanBilling", { description: "What a plan bills: terms and billable-unit rules." });
export type PlanBilling = z.infer<typeof PlanBilling>;

/** A tenant's overrides of its plan's terms and rules, plus its contract start date. */
export const TenantBillingTerms = z
  .strictObject({
    contractStart: isoDate()
      .nullable()
      .optional()
      .openapi({ description: "Contract years run from this date; null or absent: calendar years." }),
    currency: text()
      .regex(/^[A-Z]{3}$/)
      .optional(),
    hourlyRateCents: z.int().nonnegative().optional(),
    tripFeeCents: z.int().nonnegative().optional(),
    included: z.strictObject({ tripFee: z.boolean(), travelTime: z.boolean() }).optional(),
    incidentRolloverCap: z.int().nonnegative().optional(),
    rules: z.array(BillingRule).max(50).optional().openapi({ description: "Replaces the plan's rules." }),
  })
  .openapi("TenantBillingTerms");
export type TenantBillingTerms = z.infer<typeof TenantBillingTerms>;

export const Purchase = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("incident_pack"), incidents: z.int().positive().max(100_000) }),
    z.strictObject({
      kind: z.literal("hour_block"),
      hours: z.number().positive().max(100_000).multipleOf(0.25),
      rateCents: z.int().nonnegative().optional(),
      expiresOn: z.iso.date().openapi({ description: "Last day the block may be drawn on (tenant zone)." }),
    }),
  ])
  .openapi("Purchase");
export type Purchase = z.infer<typeof Purchase>;

export const Correction = z
  .strictObject({
    reverses: z.int().positive().openapi({ description: "Sequence of the billing entry to reverse." }),
    reason: text().trim().min(1).max(200),
  })
  .openapi("Correction");

export const instantAt = instant().optional().openapi({ description: "When it happened; default now." });

export const Handover = z.strictObject({ at: instantAt }).openapi("Handover");
export const AppointmentInstant = z.strictObject({ at: instantAt }).openapi("AppointmentInstant");
export const Dispatch = z
  .strictObject({
    at: instantAt,
    travelMinutes: z
      .int()
      .nonnegative()
      .max(24 * 60),
    technician: text().trim().min(1).max(200).optional(),
  })
  .openapi("Dispatch");

export const CreateWorklog = z
  .strictObject({
    author: text().trim().min(1).max(200).openapi({ description: "Who did the work." }),
    startedAt: instant(),
    durationMinutes: z
      .int()
      .positive()
      .max(24 * 60),
    billable: z.boolean().default(true),
  })
  .openapi("CreateWorklog");
export type CreateWorklog = z.infer<typeof CreateWorklog>;

export const Worklog = z
  .object({
    id: text(),
    ticketId: text(),
    author: text(),
    startedAt: Instant,
    durationMinutes: z.number().int(),
    billable: z.boolean(),
    source: text().openapi({ description: "`api`, or the connector it came from." }),
    sequence: z.number().int(),
  })
  .openapi("Worklog");

export const BillingCharge = z
  .object({
    sequence: z.number().int(),
    kind: text(),
    account: BillingAccount,
    delta: z.number().int(),
    unit: text(),
    rule: text().nullable(),
    ticketId: text().nullable(),
  })
  .openapi("BillingCharge");

export const ProviderActResult = z
  .object({
    ticketId: text(),
    recordedAt: text(),
    version: z.number().int(),
    sequence: z.number().int(),
    charges: z.array(BillingCharge),
  })
  .openapi("ProviderActResult");
