import { z } from "@hono/zod-openapi";
import { PlanBilling } from "./billing.js";
import { CalendarInput } from "./calendar.js";
import { text } from "./common.js";
import { Priority } from "./ticket.js";

const kebabCase = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const eventName = /^[a-z][a-z0-9_]*$/;

const BusinessMinutes = z
  .int()
  .positive()
  .openapi({ description: "Business minutes on the plan's calendar." });
const BusinessDays = z.int().positive().openapi({ description: "Business days on the plan's calendar." });

export const PlanTargets = z
  .strictObject({
    responseMinutes: BusinessMinutes.optional(),
    responseBusinessDays: BusinessDays.optional(),
    updateMinutes: BusinessMinutes.optional(),
    resolutionMinutes: BusinessMinutes.optional(),
    resolutionBusinessDays: BusinessDays.optional(),
  })
  .superRefine((targets, ctx) => {
    if (targets.responseMinutes !== undefined && targets.responseBusinessDays !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["responseBusinessDays"],
        message: "Give the response target in minutes or in business days, not both",
      });
    }
    if (targets.resolutionMinutes !== undefined && targets.resolutionBusinessDays !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["resolutionBusinessDays"],
        message: "Give the resolution target in minutes or in business days, not both",
      });
    }
  })
  .openapi("PlanTargets", {
    description: "SLA targets for one priority. A missing clock has no target. All time is business time.",
  });
export type PlanTargets = z.infer<typeof PlanTargets>;

/** A target for one clock and priority: business minutes (0 allowed: due at the start) or business days. */
export const ClockTargetSpec = z
  .strictObject({
    minutes: z
      .int()
      .nonnegative()
      .optional()
      .openapi({ description: "Business minutes; 0 means due at once." }),
    businessDays: BusinessDays.optional(),
  })
  .superRefine((target, ctx) => {
    if ((target.minutes === undefined) === (target.businessDays === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["minutes"],
        message: "Give exactly one of minutes and businessDays",
      });
    }
  })
  .openapi("ClockTargetSpec");
export type ClockTargetSpec = z.infer<typeof ClockTargetSpec>;

const TargetsByPriority = z.strictObject({
  P1: ClockTargetSpec.optional(),
  P2: ClockTargetSpec.optional(),
  P3: ClockTargetSpec.optional(),
  P4: ClockTargetSpec.optional(),
});

export const PlanExtraClock = z
  .strictObject({
    name: text().regex(kebabCase, { message: "Expected a kebab-case clock name" }),
    description: text().min(1).max(500),
    targetMinutes: BusinessMinutes.optional(),
    targetBusinessDays: BusinessDays.optional(),
    targets: TargetsByPriority.optional().openapi({
      description: "Per-priority targets instead of one target for all; a priority left out has no clock.",
    }),
    startsOn: text()
      .regex(eventName, { message: "Expected a snake_case event name, e.g. opened" })
      .default("opened")
      .openapi({
        description:
          "`opened` (the default), `response_met` (the first response or acknowledgement), or a named event such as `part_failure_recorded`; an event starts a new cycle once the previous one is met.",
      }),
    metBy: text()
      .regex(eventName, { message: "Expected a snake_case event name, e.g. appointment_recorded" })
      .openapi({
        example: "appointment_recorded",
        description:
          "The event that meets the clock: a named event, or `status_<status>` for the provider moving the ticket to that status.",
      }),
  })
  .superRefine((clock, ctx) => {
    const given = [clock.targetMinutes, clock.targetBusinessDays, clock.targets].filter(
      (t) => t !== undefined,
    );
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["targetMinutes"],
        message:
          clock.targets === undefined
            ? "Give exactly one of targetMinutes and targetBusinessDays"
            : "Give per-priority targets or one target for all, not both",
      });
    }
  })
  .openapi("PlanExtraClock", {
    description: "A named clock beyond response/update/resolution, started and met by events.",
  });
export type PlanExtraClock = z.infer<typeof PlanExtraClock>;

export const PlanEscalationStep = z
  .strictObject({
    name: text().regex(kebabCase, { message: "Expected a kebab-case step name" }).max(60),
    role: text().min(1).max(200).openapi({ example: "Account Manager" }),
    description: text().min(1).max(500).optional(),
    after: TargetsByPriority.openapi({
      description:
        "Per priority, the business time a ticket may stay unresolved before this step fires; a priority left out is not escalated by this step.",
    }),
  })
  .openapi("PlanEscalationStep", {
    description:
      "An escalation step: when a ticket of a listed priority is still unresolved after the given business time, `sla.escalated` names the role.",
  });
export type PlanEscalationStep = z.infer<typeof PlanEscalationStep>;

/** The variables an automatic status update's template may use, each written `{{name}}`. */
export const statusUpdateTemplateVariables = [
  "ticketId",
  "title",
  "status",
  "priority",
  "nextUpdateDue",
] as const;

export const defaultStatusUpdateTemplate =
  'Automatic status update: your ticket "{{title}}" ({{priority}}) is {{status}}. We are working on it; the next update is due by {{nextUpdateDue}}.';

const templateVariable = /\{\{\s*([^{}]*?)\s*\}\}/g;

const StatusUpdateTemplate = text()
  .min(1)
  .max(2000)
  .superRefine((template, ctx) => {
    for (const [, name] of template.matchAll(templateVariable)) {
      if (!(statusUpdateTemplateVariables as readonly string[]).includes(name!)) {
        ctx.addIssue({
          code: "custom",
          message: `unknown variable {{${name}}}; one of: ${statusUpdateTemplateVariables.join(", ")}`,
        });
      }
    }
  });

export const AutoStatusUpdate = z
  .strictObject({
    enabled: z.boolean(),
    template: StatusUpdateTemplate.default(defaultStatusUpdateTemplate).openapi({
      description:
        "The public comment posted; variables `{{ticketId}}`, `{{title}}`, `{{status}}`, `{{priority}}`, `{{nextUpdateDue}}`.",
    }),
    meetsUpdateClock: z.boolean().default(false).openapi({
      description: "Whether the automatic post counts as the provider's update (meets the update clock).",
    }),
  })
  .openapi("AutoStatusUpdate", {
    description:
      "A templated public status update the gateway posts for the provider when the update clock's warning instant comes and the provider has been silent.",
  });
export type AutoStatusUpdate = z.infer<typeof AutoStatusUpdate>;

export const WarningRatios = z
  .array(z.number().gt(0).lt(1))
  .max(10)
  .refine((ratios) => new Set(ratios).size === ratios.length, "ratios must be distinct")
  .openapi({
    description:
      "Fractions of a target at which a running clock writes an `sla.warning` (e.g. [0.5, 0.75]), besides the at-risk ratio.",
    example: [0.5, 0.75],
  });

const UpdateDueWarningMinutes = z.int().positive().max(10_080).openapi({
  description:
    "Business minutes before an update cycle's due at which `sla.update_due` is written (and an automatic status update posted).",
});

/** A tenant's own SLA alerting, overriding its plan's field by field. */
export const SlaAlertSettings = z
  .strictObject({
    warningRatios: WarningRatios.optional(),
    updateDueWarningMinutes: UpdateDueWarningMinutes.optional(),
    autoStatusUpdate: AutoStatusUpdate.optional(),
  })
  .openapi("SlaAlertSettings", {
    description: "Per-tenant overrides of the plan's SLA warnings and automatic status updates.",
  });
export type SlaAlertSettings = z.infer<typeof SlaAlertSettings>;

export const Plan = z
  .strictObject({
    id: text().regex(kebabCase, { message: "Expected a kebab-case plan id" }).max(100),
    name: text().min(1).max(200),
    source: text()
      .min(1)
      .max(500)
      .optional()
      .openapi({ description: "Which support document the preset is from." }),
    calendar: CalendarInput,
    timezoneOverridable: z
      .boolean()
      .openapi({ description: "A tenant may run the plan's hours in its own zone." }),
    pauseOnPendingCustomer: z.boolean().default(true),
    atRiskRatio: z.number().gt(0).lt(1).default(0.8).openapi({
      description: "Fraction of a target after which a running clock is reported at risk.",
    }),
    warningRatios: WarningRatios.default([]),
    updateDueWarningMinutes: UpdateDueWarningMinutes.default(15),
    autoStatusUpdate: AutoStatusUpdate.optional(),
    updateUntil: z.enum(["resolved", "closed"]).openapi({
      description: "Status updates recur until the ticket reaches this status.",
    }),
    priorityScheme: text().min(1).max(100).optional().openapi({
      description: "The priority scheme the plan's own documents use (e.g. ombori-level).",
    }),
    targets: z.strictObject({
      P1: PlanTargets.optional(),
      P2: PlanTargets.optional(),
      P3: PlanTargets.optional(),
      P4: PlanTargets.optional(),
    }),
    extraClocks: z.array(PlanExtraClock).optional(),
    escalations: z.array(PlanEscalationStep).optional(),
    billing: PlanBilling.optional().openapi({
      description:
        "Entitlements and billable-unit rules; tenants override the terms (PUT .../billing/terms).",
    }),
    defaultPriority: Priority.optional().openapi({
      description:
        "The priority a ticket or inbound record without one gets; without it, priority is required.",
    }),
  })
  .superRefine((plan, ctx) => {
    const steps = new Set<string>();
    plan.escalations?.forEach((step, index) => {
      if (steps.has(step.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["escalations", index, "name"],
          message: `Duplicate escalation step ${step.name}`,
        });
      }
      steps.add(step.name);
    });
    const seen = new Set<string>();
    plan.extraClocks?.forEach((clock, index) => {
      if (seen.has(clock.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["extraClocks", index, "name"],
          message: `Duplicate clock name ${clock.name}`,
        });
      }
      seen.add(clock.name);
    });
  })
  .openapi("Plan", {
    description: "A support plan: business calendar and SLA targets per canonical priority.",
  });
export type Plan = z.infer<typeof Plan>;
export type PlanInput = z.input<typeof Plan>;

export const PlanCatalog = z
  .strictObject({ plans: z.array(Plan) })
  .superRefine(
    (catalog, ctx) => {
      const seen = new Set<string>();
      // Also runs when other plans are invalid (see `when`), so read each id defensively.
      (catalog.plans as readonly unknown[]).forEach((plan, index) => {
        const id = typeof plan === "object" && plan !== null && "id" in plan ? plan.id : undefined;
        if (typeof id !== "string") return;
        if (seen.has(id)) {
          ctx.addIssue({ code: "custom", path: ["plans", index, "id"], message: `Duplicate plan id ${id}` });
        }
        seen.add(id);
      });
    },
    // Report duplicate ids together with every other issue, not only once the rest is fixed.
    { when: (payload) => Array.isArray((payload.value as { plans?: unknown } | null | undefined)?.plans) },
  )
  .openapi("PlanCatalog");
export type PlanCatalog = z.infer<typeof PlanCatalog>;
export type PlanCatalogInput = z.input<typeof PlanCatalog>;
