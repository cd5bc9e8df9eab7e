import { z } from "@hono/zod-openapi";
import { CalendarInput } from "./calendar.js";
import { text } from "./common.js";

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

export const PlanExtraClock = z
  .strictObject({
    name: text().regex(kebabCase, { message: "Expected a kebab-case clock name" }),
    description: text().min(1).max(500),
    targetMinutes: BusinessMinutes.optional(),
    targetBusinessDays: BusinessDays.optional(),
    metBy: text()
      .regex(eventName, { message: "Expected a snake_case event name, e.g. appointment_recorded" })
      .openapi({ example: "appointment_recorded" }),
  })
  .superRefine((clock, ctx) => {
    if ((clock.targetMinutes === undefined) === (clock.targetBusinessDays === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["targetMinutes"],
        message: "Give exactly one of targetMinutes and targetBusinessDays",
      });
    }
  })
  .openapi("PlanExtraClock", {
    description: "A named clock beyond response/update/resolution, met by an event.",
  });
export type PlanExtraClock = z.infer<typeof PlanExtraClock>;

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
  })
  .superRefine((plan, ctx) => {
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
