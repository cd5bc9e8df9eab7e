import { z } from "@hono/zod-openapi";
import { CalendarInput } from "./calendar.js";
import { instant, text } from "./common.js";
import { Priority } from "./ticket.js";

const instantWithOffset = instant().openapi({
  description: "An instant with an offset (`Z` or `+01:00`).",
  example: "2026-03-27T16:30:00+01:00",
});

export const ClockView = z
  .object({
    dueAt: text().nullable().openapi({ example: "2026-11-23T09:30:00Z" }),
    metAt: text().nullable(),
    pausedSeconds: z.number().int().openapi({ description: "Business seconds the clock was paused." }),
    remainingBusinessSeconds: z.number().int().nullable(),
    state: z.enum(["running", "paused", "met", "breached", "none"]),
  })
  .openapi("SlaClock");

export const TicketSla = z
  .object({
    plan: text().nullable(),
    response: ClockView,
    update: ClockView,
    resolution: ClockView,
  })
  .catchall(z.union([ClockView, text(), z.null()]))
  .openapi("TicketSla", {
    description: "The ticket's SLA clocks; a plan's extra named clocks appear by name.",
  });

const SlaPause = z
  .strictObject({ from: instantWithOffset, to: instantWithOffset })
  .refine((pause) => Date.parse(pause.to) >= Date.parse(pause.from), {
    message: "must not be before from",
    path: ["to"],
  });

export const SlaTargetsInput = z
  .strictObject({
    responseMinutes: z.int().positive().optional(),
    responseBusinessDays: z.int().positive().optional(),
    updateMinutes: z.int().positive().optional(),
    resolutionMinutes: z.int().positive().optional(),
    resolutionBusinessDays: z.int().positive().optional(),
  })
  .superRefine((targets, ctx) => {
    for (const clock of ["response", "resolution"] as const) {
      if (targets[`${clock}Minutes`] !== undefined && targets[`${clock}BusinessDays`] !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [`${clock}BusinessDays`],
          message: `give the ${clock} target in minutes or in business days, not both`,
        });
      }
    }
  })
  .openapi("SlaTargetsInput");

export const SlaPreviewByPlan = z
  .strictObject({
    openedAt: instantWithOffset,
    plan: text().min(1).max(100).openapi({ example: "ombori-pilot" }),
    priority: Priority,
    timezone: text().min(1).max(64).optional(),
    pauses: z.array(SlaPause).max(500).optional(),
  })
  .openapi("SlaPreviewByPlan");

export const SlaPreviewByCalendar = z
  .strictObject({
    openedAt: instantWithOffset,
    calendar: CalendarInput,
    targets: SlaTargetsInput,
    pauses: z.array(SlaPause).max(500).optional(),
  })
  .openapi("SlaPreviewByCalendar");

export const SlaPreviewRequest = z
  .union([SlaPreviewByPlan, SlaPreviewByCalendar])
  .openapi("SlaPreviewRequest");

export const SlaPreviewResponse = z
  .object({
    responseDueAt: text().nullable(),
    firstUpdateDueAt: text()
      .nullable()
      .openapi({ description: "Assumes the response is met exactly at its due time." }),
    resolutionDueAt: text().nullable(),
    calendar: z.object({
      timezone: text(),
      hours: z.record(text(), z.array(z.tuple([text(), text()]))),
      holidays: z.array(text()),
    }),
    targets: SlaTargetsInput,
  })
  .openapi("SlaPreviewResponse");

export const SlaReportQuery = z.object({
  from: instantWithOffset,
  to: instantWithOffset,
  groupBy: z.enum(["priority", "plan", "tenant", "ticket"]).default("priority"),
  tenantId: text().min(1).optional(),
});

export const SlaReportGroup = z
  .object({
    group: text(),
    tickets: z.number().int(),
    responseMet: z.number().int(),
    responseBreached: z.number().int(),
    resolutionMet: z.number().int(),
    resolutionBreached: z.number().int(),
    medianResponseBusinessMinutes: z.number().nullable(),
    p90ResponseBusinessMinutes: z.number().nullable(),
    medianResolutionBusinessMinutes: z.number().nullable(),
    p90ResolutionBusinessMinutes: z.number().nullable(),
    updateMet: z
      .number()
      .int()
      .openapi({ description: "Status-update cycles met by a provider update in time." }),
    updateMissed: z.number().int().openapi({
      description:
        "Status-update cycles breached: updated late, marked breached, or still silent past their due.",
    }),
    longestSilenceBusinessMinutes: z.number().nullable().openapi({
      description:
        "The longest a ticket waited for a status update after the response, in business minutes (cycles still open count up to now or their stop).",
    }),
  })
  .openapi("SlaReportGroup");

export const SlaReport = z
  .object({ from: text(), to: text(), groupBy: text(), groups: z.array(SlaReportGroup) })
  .openapi("SlaReport");

export const RecordAppointment = z
  .strictObject({
    scheduledFor: instantWithOffset,
  })
  .openapi("RecordAppointment");

export const RecordPartFailure = z
  .strictObject({
    part: text().trim().min(1).max(200).openapi({ example: "PSU-48V" }),
    serialNumber: text().trim().min(1).max(200).optional(),
  })
  .openapi("RecordPartFailure", { description: "A component the provider confirmed failed." });
export type RecordPartFailure = z.infer<typeof RecordPartFailure>;

export const RecordReplacementShipment = z
  .strictObject({
    carrier: text().trim().min(1).max(200).optional(),
    trackingNumber: text().trim().min(1).max(200).optional(),
  })
  .openapi("RecordReplacementShipment", { description: "The replacement part has been shipped." });
export type RecordReplacementShipment = z.infer<typeof RecordReplacementShipment>;

export const RecordedReplacementEvent = z
  .object({
    ticketId: text(),
    recordedAt: text(),
    version: z.number().int(),
    part: text().optional(),
    serialNumber: text().nullable().optional(),
    carrier: text().nullable().optional(),
    trackingNumber: text().nullable().optional(),
  })
  .openapi("RecordedReplacementEvent");
