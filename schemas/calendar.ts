import { z } from "@hono/zod-openapi";
import { IANAZone } from "luxon";
import { isoDate, text } from "./common.js";

export const weekdayKeys = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type WeekdayKey = (typeof weekdayKeys)[number];

const startTimePattern = /^(?:[01]\d|2[0-3]):[0-5]\d$/;
const endTimePattern = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** Minutes after local midnight for an already validated "HH:MM" ("24:00" gives 1440). */
export function minutesOfDay(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

const StartTime = text()
  .regex(startTimePattern, { message: 'Expected a local time "HH:MM" between 00:00 and 23:59' })
  .openapi({ example: "08:00" });
const EndTime = text()
  .regex(endTimePattern, { message: 'Expected a local time "HH:MM" between 00:00 and 24:00' })
  .openapi({ example: "17:00" });

const OpenInterval = z.tuple([StartTime, EndTime]).openapi({
  description: "Half-open local interval [start, end): open from start up to, not including, end.",
  example: ["08:00", "17:00"],
});

const DayHours = z
  .array(OpenInterval)
  .max(48)
  .superRefine((input, ctx) => {
    // Format issues do not stop refinements in zod 4; judge only the well-formed intervals here.
    const intervals = input.map(([start, end], index) => ({ start, end, index }));
    const wellFormed = intervals.filter(
      ({ start, end }) => startTimePattern.test(start) && endTimePattern.test(end),
    );
    wellFormed.forEach(({ start, end, index }) => {
      if (minutesOfDay(start) >= minutesOfDay(end)) {
        ctx.addIssue({
          code: "custom",
          message: `Interval ${start}-${end} is empty or reversed: start must be before end`,
          path: [index],
        });
      }
    });
    // Overlap is judged on the intervals in time order, so the input order is free.
    const byStart = wellFormed
      .map(({ start, end, index }) => ({ start: minutesOfDay(start), end: minutesOfDay(end), index }))
      .filter((interval) => interval.start < interval.end)
      .sort((a, b) => a.start - b.start || a.end - b.end);
    for (let i = 1; i < byStart.length; i++) {
      const previous = byStart[i - 1]!;
      const current = byStart[i]!;
      if (current.start < previous.end) {
        ctx.addIssue({
          code: "custom",
          message: `Interval ${current.index} overlaps interval ${previous.index} (touching is allowed, overlapping is not)`,
          path: [current.index],
        });
      }
    }
  });

const WeekHours = z
  .strictObject({
    mon: DayHours.optional(),
    tue: DayHours.optional(),
    wed: DayHours.optional(),
    thu: DayHours.optional(),
    fri: DayHours.optional(),
    sat: DayHours.optional(),
    sun: DayHours.optional(),
  })
  .openapi({
    description: "Open intervals per weekday in local time. A weekday left out (or empty) is closed.",
    example: {
      mon: [["08:00", "17:00"]],
      tue: [["08:00", "17:00"]],
      wed: [["08:00", "17:00"]],
      thu: [["08:00", "17:00"]],
      fri: [
        ["08:00", "12:00"],
        ["13:00", "16:00"],
      ],
    },
  });

const LocalDate = isoDate().openapi({ example: "2026-12-25" });

export const CalendarInput = z
  .strictObject({
    timezone: text()
      .refine((zone) => IANAZone.isValidZone(zone), { message: "Unknown IANA time zone" })
      .openapi({ example: "Europe/Stockholm" }),
    hours: WeekHours,
    holidays: z.array(LocalDate).max(20_000).optional().openapi({
      description: "Local dates (YYYY-MM-DD) that are closed all day.",
    }),
  })
  .superRefine((calendar, ctx) => {
    const hasOpenTime = weekdayKeys.some((day) => (calendar.hours[day]?.length ?? 0) > 0);
    if (!hasOpenTime) {
      ctx.addIssue({ code: "custom", message: "The week has no open time at all", path: ["hours"] });
    }
  })
  .openapi("Calendar", {
    description:
      "Business calendar for SLA clocks: weekly open hours in a time zone, minus holidays. Wall-clock based, so it follows DST.",
  });
export type CalendarInput = z.infer<typeof CalendarInput>;
