import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CalendarInput, minutesOfDay, weekdayKeys } from "../../schemas/calendar.js";
import {
  addBusinessDays,
  addBusinessDuration,
  businessElapsed,
  compileCalendar,
  isOpen,
  nextOpening,
} from "../../src/sla/business-time.js";
import {
  MINUTE,
  ReferenceCalendar,
  refAddBusinessDays,
  refAddBusinessDuration,
  refBusinessElapsed,
  refIsOpen,
  refNextOpening,
} from "./reference.js";

const HOUR = 60 * MINUTE;
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

const nineToFive: [string, string][] = [["08:00", "17:00"]];
const withLunch: [string, string][] = [
  ["08:00", "12:00"],
  ["13:00", "17:00"],
];
const allDay: [string, string][] = [["00:00", "24:00"]];

/** Stockholm office, Mon-Fri 08:00-17:00, Swedish Christmas / New Year / Epiphany closed. */
const officeInput: CalendarInput = {
  timezone: "Europe/Stockholm",
  hours: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive },
  holidays: ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01", "2027-01-06"],
};
const office = compileCalendar(officeInput);

describe("explicit cases (hand-computed, checked against the reference)", () => {
  interface DurationCase {
    name: string;
    input: CalendarInput;
    start: string;
    durationMs: number;
    pauses?: { from: string; to: string }[];
    due: string;
  }

  const lunchInput: CalendarInput = {
    timezone: "Europe/Stockholm",
    hours: { mon: withLunch, tue: withLunch, wed: withLunch, thu: withLunch, fri: withLunch },
  };
  /** Weekend nights in Stockholm: Saturday 22:00 to Sunday 06:00, straddling both DST Sundays of 2026. */
  const stockholmWeekendNightInput: CalendarInput = {
    timezone: "Europe/Stockholm",
    hours: { sat: [["22:00", "24:00"]], sun: [["00:00", "06:00"]] },
  };
  /** Night shift Monday night to Saturday morning: 22:00-24:00 then 00:00-06:00, merged over midnight. */
  const nightShiftInput: CalendarInput = {
    timezone: "Europe/Stockholm",
    hours: {
      mon: [["22:00", "24:00"]],
      tue: [
        ["00:00", "06:00"],
        ["22:00", "24:00"],
      ],
      wed: [
        ["00:00", "06:00"],
        ["22:00", "24:00"],
      ],
      thu: [
        ["00:00", "06:00"],
        ["22:00", "24:00"],
      ],
      fri: [
        ["00:00", "06:00"],
        ["20:00", "24:00"],
      ],
    },
  };
  /** London, every day 00:30-02:30: the spring-forward Sunday has 1 h, the fall-back Sunday 3 h. */
  const londonEarlyInput: CalendarInput = {
    timezone: "Europe/London",
    hours: {
      mon: [["00:30", "02:30"]],
      tue: [["00:30", "02:30"]],
      wed: [["00:30", "02:30"]],
      thu: [["00:30", "02:30"]],
      fri: [["00:30", "02:30"]],
      sat: [["00:30", "02:30"]],
      sun: [["00:30", "02:30"]],
    },
  };
  /** Los Angeles: weekends around the clock, weekdays 09:00-17:00. */
  const laWeekendInput: CalendarInput = {
    timezone: "America/Los_Angeles",
    hours: {
      mon: [["09:00", "17:00"]],
      tue: [["09:00", "17:00"]],
      wed: [["09:00", "17:00"]],
      thu: [["09:00", "17:00"]],
      fri: [["09:00", "17:00"]],
      sat: allDay,
      sun: allDay,
    },
  };
  const stockholm24x7Input: CalendarInput = {
    timezone: "Europe/Stockholm",
    hours: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
  };

  const durationCases: DurationCase[] = [
    {
      name: "target exactly at closing is due at closing, not next morning",
      input: officeInput,
      start: "2026-06-01T06:00:00Z", // Mon 08:00 CEST
      durationMs: 9 * HOUR,
      due: "2026-06-01T15:00:00.000Z", // Mon 17:00 CEST
    },
    {
      name: "start on a Saturday starts Monday 08:00",
      input: officeInput,
      start: "2026-06-06T08:00:00Z",
      durationMs: 1 * HOUR,
      due: "2026-06-08T07:00:00.000Z", // Mon 09:00 CEST
    },
    {
      name: "start exactly at closing starts next morning",
      input: officeInput,
      start: "2026-06-01T15:00:00Z", // Mon 17:00 CEST
      durationMs: 1 * HOUR,
      due: "2026-06-02T07:00:00.000Z", // Tue 09:00 CEST
    },
    {
      name: "duration 0 inside open time is the start itself",
      input: officeInput,
      start: "2026-06-01T10:17:00Z",
      durationMs: 0,
      due: "2026-06-01T10:17:00.000Z",
    },
    {
      name: "duration 0 at closing is the next opening",
      input: officeInput,
      start: "2026-06-05T15:00:00Z", // Fri 17:00 CEST
      durationMs: 0,
      due: "2026-06-08T06:00:00.000Z", // Mon 08:00 CEST
    },
    {
      name: "48 h target over Christmas holidays and a weekend",
      input: officeInput,
      start: "2026-12-22T09:00:00Z", // Tue 10:00 CET
      // Tue 7 h, Wed 9 h, (Thu-Sun closed), Mon 28th 9 h, Tue 9 h, Wed 9 h = 43 h, then 5 h on Thu 31st.
      durationMs: 48 * HOUR,
      due: "2026-12-31T12:00:00.000Z", // Thu 13:00 CET
    },
    {
      name: "year end: 2 h from New Year's Eve 16:00 lands on Monday 4 January 2027",
      input: officeInput,
      start: "2026-12-31T15:00:00Z", // Thu 16:00 CET: 1 h left, Fri 1st holiday, weekend
      durationMs: 2 * HOUR,
      due: "2027-01-04T08:00:00.000Z", // Mon 09:00 CET
    },
    {
      name: "16 h from 23 December skips 24-27 December",
      input: officeInput,
      start: "2026-12-23T14:00:00Z", // Wed 15:00 CET: 2 h, then Mon 28th 9 h, then 5 h on Tue
      durationMs: 16 * HOUR,
      due: "2026-12-29T12:00:00.000Z", // Tue 13:00 CET
    },
    {
      name: "lunch break is skipped",
      input: lunchInput,
      start: "2026-06-01T09:00:00Z", // Mon 11:00 CEST: 1 h before lunch, 1 h after
      durationMs: 2 * HOUR,
      due: "2026-06-01T12:00:00.000Z", // 14:00 CEST
    },
    {
      name: "target reached exactly at lunch is due at lunch",
      input: lunchInput,
      start: "2026-06-01T09:00:00Z",
      durationMs: 1 * HOUR,
      due: "2026-06-01T10:00:00.000Z", // 12:00 CEST
    },
    {
      name: "night shift does not close at midnight",
      input: nightShiftInput,
      start: "2026-06-01T21:00:00Z", // Mon 23:00 CEST
      durationMs: 3 * HOUR,
      due: "2026-06-02T00:00:00.000Z", // Tue 02:00 CEST
    },
    {
      name: '"24:00" closing followed by a closed day: due at local midnight',
      input: nightShiftInput,
      start: "2026-06-05T18:00:00Z", // Fri 20:00 CEST
      durationMs: 4 * HOUR,
      due: "2026-06-05T22:00:00.000Z", // Sat 00:00 CEST
    },
    {
      name: "Stockholm spring forward: Saturday 22:00 to Sunday 06:00 is 7 real hours",
      input: stockholmWeekendNightInput,
      start: "2026-03-28T21:00:00Z", // Sat 22:00 CET
      durationMs: 7 * HOUR,
      due: "2026-03-29T04:00:00.000Z", // Sun 06:00 CEST, exactly at closing
    },
    {
      name: "Stockholm spring forward: 3 h from Saturday 22:00 is Sunday 01:00",
      input: stockholmWeekendNightInput,
      start: "2026-03-28T21:00:00Z",
      durationMs: 3 * HOUR,
      due: "2026-03-29T00:00:00.000Z", // Sun 01:00 CET
    },
    {
      name: "Stockholm fall back: Saturday 22:00 to Sunday 06:00 is 9 real hours",
      input: stockholmWeekendNightInput,
      start: "2026-10-24T20:00:00Z", // Sat 22:00 CEST
      durationMs: 9 * HOUR,
      due: "2026-10-25T05:00:00.000Z", // Sun 06:00 CET
    },
    {
      name: "Stockholm fall back: the repeated hour counts twice",
      input: stockholmWeekendNightInput,
      start: "2026-10-24T20:00:00Z",
      durationMs: 5 * HOUR, // 22:00 CEST + 5 h real = 02:00 CET (the second 02:00)
      due: "2026-10-25T01:00:00.000Z",
    },
    {
      name: "24/7 calendar across the Stockholm gap is plain UTC arithmetic",
      input: stockholm24x7Input,
      start: "2026-03-28T23:00:00Z",
      durationMs: 4 * HOUR,
      due: "2026-03-29T03:00:00.000Z",
    },
    {
      name: "24/7 calendar with a pause",
      input: stockholm24x7Input,
      start: "2026-03-28T23:00:00Z",
      durationMs: 4 * HOUR,
      pauses: [{ from: "2026-03-29T00:00:00Z", to: "2026-03-29T01:30:00Z" }],
      due: "2026-03-29T04:30:00.000Z",
    },
    {
      name: "London spring forward: Sunday 00:30-02:30 is one real hour",
      input: londonEarlyInput,
      start: "2026-03-28T02:00:00Z", // Sat 02:00 GMT: 30 min, Sun 1 h, then Mon from 23:30Z
      durationMs: 2 * HOUR,
      due: "2026-03-30T00:00:00.000Z", // Mon 01:00 BST
    },
    {
      name: "London fall back: Sunday 00:30-02:30 is three real hours",
      input: londonEarlyInput,
      start: "2026-10-24T23:30:00Z", // Sun 00:30 BST
      durationMs: 3 * HOUR,
      due: "2026-10-25T02:30:00.000Z", // Sun 02:30 GMT
    },
    {
      name: "Los Angeles spring forward: Sunday is 23 h long",
      input: laWeekendInput,
      start: "2026-03-08T08:00:00Z", // Sun 00:00 PST: 23 h to Mon 00:00 PDT, then Mon 09:00 PDT + 7 h
      durationMs: 30 * HOUR,
      due: "2026-03-09T23:00:00.000Z", // Mon 16:00 PDT
    },
    {
      name: "Los Angeles fall back: Sunday is 25 h long",
      input: laWeekendInput,
      start: "2026-11-01T07:00:00Z", // Sun 00:00 PDT: 25 h to Mon 00:00 PST, then Mon 09:00 PST + 5 h
      durationMs: 30 * HOUR,
      due: "2026-11-02T22:00:00.000Z", // Mon 14:00 PST
    },
    {
      name: "a pause inside open hours stops the clock",
      input: officeInput,
      start: "2026-06-01T06:00:00Z", // Mon 08:00 CEST
      durationMs: 7 * HOUR,
      pauses: [{ from: "2026-06-01T08:00:00Z", to: "2026-06-01T10:00:00Z" }],
      due: "2026-06-01T15:00:00.000Z", // Mon 17:00 CEST, exactly at closing
    },
    {
      name: "overlapping pauses are merged",
      input: officeInput,
      start: "2026-06-01T06:00:00Z",
      durationMs: 7 * HOUR,
      pauses: [
        { from: "2026-06-01T08:30:00Z", to: "2026-06-01T10:00:00Z" },
        { from: "2026-06-01T08:00:00Z", to: "2026-06-01T09:00:00Z" },
      ],
      due: "2026-06-01T15:00:00.000Z",
    },
    {
      name: "only the part of a pause after the start counts",
      input: officeInput,
      start: "2026-06-01T06:00:00Z",
      durationMs: 8 * HOUR,
      pauses: [{ from: "2026-06-01T04:00:00Z", to: "2026-06-01T07:00:00Z" }],
      due: "2026-06-01T15:00:00.000Z",
    },
    {
      name: "a pause outside open hours changes nothing",
      input: officeInput,
      start: "2026-06-05T14:00:00Z", // Fri 16:00 CEST: 1 h, then Monday
      durationMs: 2 * HOUR,
      pauses: [{ from: "2026-06-06T00:00:00Z", to: "2026-06-07T12:00:00Z" }],
      due: "2026-06-08T07:00:00.000Z",
    },
    {
      name: "a pause over the night and the next morning",
      input: officeInput,
      start: "2026-06-01T06:00:00Z", // Mon 08:00 CEST: 8 h until the pause, 2 h after it
      durationMs: 10 * HOUR,
      pauses: [{ from: "2026-06-01T14:00:00Z", to: "2026-06-02T08:00:00Z" }],
      due: "2026-06-02T10:00:00.000Z", // Tue 12:00 CEST
    },
    {
      name: "a target reached exactly when a pause starts is due then",
      input: officeInput,
      start: "2026-06-01T06:00:00Z",
      durationMs: 2 * HOUR,
      pauses: [{ from: "2026-06-01T08:00:00Z", to: "2026-06-01T10:00:00Z" }],
      due: "2026-06-01T08:00:00.000Z",
    },
    {
      name: "a start inside a pause starts when it ends",
      input: officeInput,
      start: "2026-06-01T06:00:00Z",
      durationMs: 0,
      pauses: [{ from: "2026-06-01T05:00:00Z", to: "2026-06-01T07:30:00Z" }],
      due: "2026-06-01T07:30:00.000Z",
    },
  ];

  it.each(durationCases)("addBusinessDuration: $name", ({ input, start, durationMs, pauses, due }) => {
    const cal = compileCalendar(input);
    const pauseMs = pauses?.map((pause) => ({ from: at(pause.from), to: at(pause.to) }));
    expect(iso(addBusinessDuration(cal, at(start), durationMs, pauseMs))).toBe(due);
    const reference = new ReferenceCalendar(input);
    expect(iso(refAddBusinessDuration(reference, at(start), durationMs, pauseMs))).toBe(due);
  });

  interface ElapsedCase {
    name: string;
    input: CalendarInput;
    from: string;
    to: string;
    pauses?: { from: string; to: string }[];
    elapsedMs: number;
  }
  const elapsedCases: ElapsedCase[] = [
    {
      name: "office week",
      input: officeInput,
      from: "2026-06-01T00:00:00Z",
      to: "2026-06-08T00:00:00Z",
      elapsedMs: 45 * HOUR,
    },
    {
      name: "Christmas week",
      input: officeInput,
      from: "2026-12-21T00:00:00Z",
      to: "2026-12-28T00:00:00Z",
      elapsedMs: 27 * HOUR,
    },
    {
      name: "Stockholm spring-forward weekend night",
      input: stockholmWeekendNightInput,
      from: "2026-03-28T12:00:00Z",
      to: "2026-03-29T12:00:00Z",
      elapsedMs: 7 * HOUR,
    },
    {
      name: "Stockholm fall-back weekend night",
      input: stockholmWeekendNightInput,
      from: "2026-10-24T12:00:00Z",
      to: "2026-10-25T12:00:00Z",
      elapsedMs: 9 * HOUR,
    },
    {
      name: "London spring-forward Sunday",
      input: londonEarlyInput,
      from: "2026-03-29T00:00:00Z",
      to: "2026-03-29T12:00:00Z",
      elapsedMs: 1 * HOUR,
    },
    {
      name: "London fall-back Sunday",
      input: londonEarlyInput,
      from: "2026-10-24T12:00:00Z",
      to: "2026-10-25T12:00:00Z",
      elapsedMs: 3 * HOUR,
    },
    {
      name: "Los Angeles spring-forward Sunday",
      input: laWeekendInput,
      from: "2026-03-08T08:00:00Z",
      to: "2026-03-09T08:00:00Z",
      elapsedMs: 23 * HOUR,
    },
    {
      name: "Los Angeles fall-back Sunday",
      input: laWeekendInput,
      from: "2026-11-01T07:00:00Z",
      to: "2026-11-02T08:00:00Z",
      elapsedMs: 25 * HOUR,
    },
    {
      name: "pauses are excluded, including overlapping ones",
      input: officeInput,
      from: "2026-06-01T00:00:00Z",
      to: "2026-06-02T00:00:00Z",
      pauses: [
        { from: "2026-06-01T07:00:00Z", to: "2026-06-01T09:00:00Z" },
        { from: "2026-06-01T08:00:00Z", to: "2026-06-01T10:00:00Z" },
        { from: "2026-06-01T14:30:00Z", to: "2026-06-01T20:00:00Z" },
      ],
      elapsedMs: 9 * HOUR - 3 * HOUR - 30 * MINUTE,
    },
    {
      name: "reversed range is zero",
      input: officeInput,
      from: "2026-06-02T00:00:00Z",
      to: "2026-06-01T00:00:00Z",
      elapsedMs: 0,
    },
  ];

  it.each(elapsedCases)("businessElapsed: $name", ({ input, from, to, pauses, elapsedMs }) => {
    const cal = compileCalendar(input);
    const pauseMs = pauses?.map((pause) => ({ from: at(pause.from), to: at(pause.to) }));
    expect(businessElapsed(cal, at(from), at(to), pauseMs)).toBe(elapsedMs);
    if (at(to) > at(from)) {
      expect(refBusinessElapsed(new ReferenceCalendar(input), at(from), at(to), pauseMs)).toBe(elapsedMs);
    }
  });

  interface DaysCase {
    name: string;
    input: CalendarInput;
    start: string;
    days: number;
    pauses?: { from: string; to: string }[];
    due: string;
  }
  const shortFridayInput: CalendarInput = {
    timezone: "Europe/Stockholm",
    hours: {
      mon: nineToFive,
      tue: nineToFive,
      wed: nineToFive,
      thu: nineToFive,
      fri: [
        ["08:00", "12:00"],
        ["13:00", "16:00"],
      ],
    },
  };
  /** Open around the clock, but not a 24/7 fast path because of a holiday far away. */
  const stockholmAllDaysInput: CalendarInput = {
    timezone: "Europe/Stockholm",
    hours: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
    holidays: ["2030-01-01"],
  };
  const laAllDaysInput: CalendarInput = { ...stockholmAllDaysInput, timezone: "America/Los_Angeles" };
  const laOfficeInput: CalendarInput = { ...officeInput, timezone: "America/Los_Angeles", holidays: [] };

  const daysCases: DaysCase[] = [
    {
      name: "same time two business days later",
      input: officeInput,
      start: "2026-06-01T08:00:00Z", // Mon 10:00 CEST
      days: 2,
      due: "2026-06-03T08:00:00.000Z",
    },
    {
      name: "weekend is not counted",
      input: officeInput,
      start: "2026-06-05T08:00:00Z", // Fri 10:00 CEST
      days: 1,
      due: "2026-06-08T08:00:00.000Z",
    },
    {
      name: "start outside hours counts from the next opening",
      input: officeInput,
      start: "2026-06-06T10:00:00Z", // Sat: clock starts Mon 08:00 CEST
      days: 1,
      due: "2026-06-09T06:00:00.000Z", // Tue 08:00 CEST
    },
    {
      name: "across year end and holidays",
      input: officeInput,
      start: "2026-12-30T09:00:00Z", // Wed 10:00 CET: Thu 31st, (Fri 1st holiday, weekend) Mon 4th, Tue 5th
      days: 3,
      due: "2027-01-05T09:00:00.000Z",
    },
    {
      name: "landing in a lunch break moves to the afternoon opening",
      input: shortFridayInput,
      start: "2026-06-04T10:30:00Z", // Thu 12:30 CEST
      days: 1,
      due: "2026-06-05T11:00:00.000Z", // Fri 13:00 CEST
    },
    {
      name: "landing after hours moves to the next opening",
      input: shortFridayInput,
      start: "2026-06-04T14:30:00Z", // Thu 16:30 CEST; Friday closes at 16:00
      days: 1,
      due: "2026-06-08T06:00:00.000Z", // Mon 08:00 CEST
    },
    {
      name: "landing in the Stockholm DST gap moves to 03:00 CEST",
      input: stockholmAllDaysInput,
      start: "2026-03-28T01:30:00Z", // Sat 02:30 CET
      days: 1,
      due: "2026-03-29T01:00:00.000Z", // Sun 03:00 CEST (02:30 does not exist)
    },
    {
      name: "landing in the Stockholm repeated hour takes the first 02:30",
      input: stockholmAllDaysInput,
      start: "2026-10-24T00:30:00Z", // Sat 02:30 CEST
      days: 1,
      due: "2026-10-25T00:30:00.000Z", // Sun 02:30 CEST
    },
    {
      name: "landing in the Los Angeles DST gap moves to 03:00 PDT",
      input: laAllDaysInput,
      start: "2026-03-07T10:30:00Z", // Sat 02:30 PST
      days: 1,
      due: "2026-03-08T10:00:00.000Z", // Sun 03:00 PDT
    },
    {
      name: "landing in the Los Angeles repeated hour takes the first 01:30",
      input: laAllDaysInput,
      start: "2026-10-31T08:30:00Z", // Sat 01:30 PDT
      days: 1,
      due: "2026-11-01T08:30:00.000Z", // Sun 01:30 PDT
    },
    {
      name: "same local time across the Los Angeles spring forward",
      input: laOfficeInput,
      start: "2026-03-06T17:30:00Z", // Fri 09:30 PST
      days: 1,
      due: "2026-03-09T16:30:00.000Z", // Mon 09:30 PDT
    },
    {
      name: "days 0 is the clock start",
      input: officeInput,
      start: "2026-06-06T10:00:00Z",
      days: 0,
      due: "2026-06-08T06:00:00.000Z",
    },
    {
      name: "pauses extend the due by the open time they stopped",
      input: officeInput,
      start: "2026-06-01T08:00:00Z", // Mon 10:00 CEST; nominal due Wed 10:00 CEST
      days: 2,
      pauses: [{ from: "2026-06-02T12:00:00Z", to: "2026-06-02T14:00:00Z" }],
      due: "2026-06-03T10:00:00.000Z",
    },
    {
      name: "a pause after the nominal due does not count",
      input: officeInput,
      start: "2026-06-01T08:00:00Z",
      days: 2,
      pauses: [{ from: "2026-06-03T09:00:00Z", to: "2026-06-03T12:00:00Z" }],
      due: "2026-06-03T08:00:00.000Z",
    },
    {
      name: "the extension itself stops during later pauses",
      input: officeInput,
      start: "2026-06-01T08:00:00Z",
      days: 2,
      pauses: [
        { from: "2026-06-02T12:00:00Z", to: "2026-06-02T14:00:00Z" }, // 2 h stopped
        { from: "2026-06-03T09:00:00Z", to: "2026-06-03T12:00:00Z" }, // after the nominal due
      ],
      // Wed 08:00Z + 1 h, paused 09:00-12:00Z, + 1 h.
      due: "2026-06-03T13:00:00.000Z",
    },
  ];

  it.each(daysCases)("addBusinessDays: $name", ({ input, start, days, pauses, due }) => {
    const cal = compileCalendar(input);
    const pauseMs = pauses?.map((pause) => ({ from: at(pause.from), to: at(pause.to) }));
    expect(iso(addBusinessDays(cal, at(start), days, pauseMs))).toBe(due);
    expect(iso(refAddBusinessDays(new ReferenceCalendar(input), at(start), days, pauseMs))).toBe(due);
  });

  it("isOpen and nextOpening use half-open intervals", () => {
    expect(isOpen(office, at("2026-06-01T06:00:00Z"))).toBe(true); // Mon 08:00 CEST
    expect(isOpen(office, at("2026-06-01T14:59:59.999Z"))).toBe(true);
    expect(isOpen(office, at("2026-06-01T15:00:00Z"))).toBe(false); // Mon 17:00 CEST
    expect(isOpen(office, at("2026-12-24T10:00:00Z"))).toBe(false); // holiday
    expect(iso(nextOpening(office, at("2026-06-05T15:00:00Z")))).toBe("2026-06-08T06:00:00.000Z");
    expect(iso(nextOpening(office, at("2026-06-01T10:00:00.123Z")))).toBe("2026-06-01T10:00:00.123Z");
    expect(iso(nextOpening(office, at("2026-12-23T16:00:00Z")))).toBe("2026-12-28T07:00:00.000Z");
  });

  it("accepts Date instants", () => {
    const due = addBusinessDuration(office, new Date("2026-06-01T06:00:00Z"), 9 * HOUR, [
      { from: new Date("2026-06-01T08:00:00Z"), to: new Date("2026-06-01T09:00:00Z") },
    ]);
    expect(iso(due)).toBe("2026-06-02T07:00:00.000Z");
  });

  it("an open-ended pause means no due instant", () => {
    const pauses = [{ from: at("2026-06-01T08:00:00Z"), to: Number.POSITIVE_INFINITY }];
    expect(addBusinessDuration(office, at("2026-06-01T06:00:00Z"), 3 * HOUR, pauses)).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(iso(addBusinessDuration(office, at("2026-06-01T06:00:00Z"), 2 * HOUR, pauses))).toBe(
      "2026-06-01T08:00:00.000Z",
    );
    expect(businessElapsed(office, at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z"), pauses)).toBe(
      2 * HOUR,
    );
  });

  it("rejects invalid arguments", () => {
    expect(() => addBusinessDuration(office, Number.NaN, HOUR)).toThrow(RangeError);
    expect(() => addBusinessDuration(office, 0, -1)).toThrow(RangeError);
    expect(() => addBusinessDays(office, 0, 1.5)).toThrow(RangeError);
    expect(() => addBusinessDuration(office, 0, HOUR, [{ from: 10, to: 5 }])).toThrow(RangeError);
    expect(() => compileCalendar({ timezone: "Nowhere/Special", hours: { mon: nineToFive } })).toThrow();
  });

  it("gives up with a clear error on a calendar closed for good by holidays", () => {
    // Open only on Mondays, and every Monday for twelve years is a holiday.
    const mondays: string[] = [];
    for (let day = at("2026-01-05T00:00:00Z"); day < at("2038-01-01T00:00:00Z"); day += 7 * 24 * HOUR) {
      mondays.push(iso(day).slice(0, 10));
    }
    const closed = compileCalendar({ timezone: "UTC", hours: { mon: nineToFive }, holidays: mondays });
    const start = at("2026-01-01T00:00:00Z");
    expect(() => nextOpening(closed, start)).toThrow(/No open time within 3660 days/);
    expect(() => addBusinessDuration(closed, start, HOUR)).toThrow(/No open time within 3660 days/);
    expect(() => addBusinessDays(closed, start, 1)).toThrow(/No open time within 3660 days/);
  });
});

describe("property tests against the minute-stepping reference", () => {
  const zones = [
    "Europe/Stockholm",
    "Europe/London",
    "America/Los_Angeles",
    "America/New_York",
    "America/Santiago", // DST changes at local midnight: local dates overlap or lose their first hour
    "America/Havana", // likewise
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe", // 30-minute DST shift
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Africa/Casablanca", // Ramadan offset changes
    "UTC",
  ];
  const FIVE_MINUTES = 5;
  const clock = (minuteOfDay: number): string =>
    `${String(Math.floor(minuteOfDay / 60)).padStart(2, "0")}:${String(minuteOfDay % 60).padStart(2, "0")}`;

  /** Boundaries on a 5-minute grid; pairs them up, or chains them into touching intervals. */
  const dayHours: fc.Arbitrary<[string, string][]> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
    {
      weight: 6,
      arbitrary: fc
        .uniqueArray(fc.integer({ min: 0, max: 288 }), { minLength: 2, maxLength: 6 })
        .map((marks) => {
          const sorted = [...marks].sort((a, b) => a - b);
          const intervals: [string, string][] = [];
          for (let i = 0; i + 1 < sorted.length; i += 2) {
            intervals.push([clock(sorted[i]! * FIVE_MINUTES), clock(sorted[i + 1]! * FIVE_MINUTES)]);
          }
          return intervals;
        }),
    },
    {
      weight: 2,
      arbitrary: fc
        .uniqueArray(fc.integer({ min: 0, max: 288 }), { minLength: 2, maxLength: 4 })
        .map((marks) => {
          const sorted = [...marks].sort((a, b) => a - b);
          return sorted
            .slice(1)
            .map((end, i): [string, string] => [clock(sorted[i]! * FIVE_MINUTES), clock(end * FIVE_MINUTES)]);
        }),
    },
    { weight: 2, arbitrary: fc.constant(allDay) },
  );

  const firstDay2026 = at("2026-01-01T00:00:00Z");
  const calendarArbitrary: fc.Arbitrary<CalendarInput> = fc
    .record({
      timezone: fc.constantFrom(...zones),
      days: fc.tuple(dayHours, dayHours, dayHours, dayHours, dayHours, dayHours, dayHours),
      holidayDays: fc.uniqueArray(fc.integer({ min: 0, max: 729 }), { maxLength: 25 }),
      // Exercises the 24/7 fast path.
      roundTheClock: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
    })
    .filter(({ days }) => days.some((intervals) => intervals.length > 0))
    .map(({ timezone, days, holidayDays, roundTheClock }) => {
      if (roundTheClock) {
        const hours = Object.fromEntries(weekdayKeys.map((key) => [key, allDay]));
        return { timezone, hours };
      }
      const hours: CalendarInput["hours"] = {};
      weekdayKeys.forEach((key, index) => {
        if (days[index]!.length > 0) hours[key] = days[index];
      });
      const holidays = holidayDays.map((day) => iso(firstDay2026 + day * 24 * HOUR).slice(0, 10));
      return { timezone, hours, holidays };
    });

  /** Average open minutes per open weekday: "3 business days" scales with it, keeping the walks short. */
  const averageBusinessDayMinutes = (input: CalendarInput): number => {
    let total = 0;
    let openDays = 0;
    for (const key of weekdayKeys) {
      const intervals = input.hours[key] ?? [];
      if (intervals.length > 0) openDays++;
      for (const [start, end] of intervals) total += minutesOfDay(end) - minutesOfDay(start);
    }
    return total / openDays;
  };

  /** Offset changes of the zones above; half of the starts fall within days of one of them. */
  const dstWeekends = [
    "2026-02-15", // Casablanca, Ramadan
    "2026-03-08", // Los Angeles, New York, St John's, Havana
    "2026-03-22", // Casablanca, after Ramadan
    "2026-03-29", // Stockholm, London
    "2026-04-05", // Santiago, Sydney, Lord Howe, Chatham
    "2026-09-06", // Santiago
    "2026-09-27", // Chatham
    "2026-10-04", // Sydney, Lord Howe
    "2026-10-25", // Stockholm, London
    "2026-11-01", // Los Angeles, New York, St John's, Havana
    "2027-03-14",
    "2027-03-28",
    "2027-04-04",
    "2027-10-31",
    "2027-11-07",
  ];

  const caseArbitrary = fc.record({
    input: calendarArbitrary,
    startMinute: fc.oneof(
      fc.integer({ min: 0, max: 2 * 365 * 24 * 60 }),
      fc
        .tuple(fc.constantFrom(...dstWeekends), fc.integer({ min: -3 * 24 * 60, max: 2 * 24 * 60 }))
        .map(([date, offsetMinutes]) => (at(`${date}T00:00:00Z`) - firstDay2026) / MINUTE + offsetMinutes),
    ),
    durationPerMille: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
    pauses: fc.array(
      fc.record({
        offsetMinutes: fc.integer({ min: -24 * 60, max: 5 * 24 * 60 }),
        lengthMinutes: fc.integer({ min: 0, max: 2 * 24 * 60 }),
      }),
      { maxLength: 3 },
    ),
    spanMinutes: fc.integer({ min: 0, max: 4 * 24 * 60 }),
  });

  type GeneratedCase = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never;
  const materialise = (c: GeneratedCase) => {
    const startMs = firstDay2026 + c.startMinute * MINUTE;
    const durationMs =
      Math.round((3 * averageBusinessDayMinutes(c.input) * c.durationPerMille) / 1000) * MINUTE;
    const pauses = c.pauses.map((pause) => ({
      from: startMs + pause.offsetMinutes * MINUTE,
      to: startMs + (pause.offsetMinutes + pause.lengthMinutes) * MINUTE,
    }));
    return { startMs, durationMs, pauses, endMs: startMs + c.spanMinutes * MINUTE };
  };

  it("addBusinessDuration and businessElapsed equal the reference", () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const { startMs, durationMs, pauses, endMs } = materialise(c);
        const cal = compileCalendar(c.input);
        const reference = new ReferenceCalendar(c.input);
        expect(iso(addBusinessDuration(cal, startMs, durationMs, pauses))).toBe(
          iso(refAddBusinessDuration(reference, startMs, durationMs, pauses)),
        );
        expect(businessElapsed(cal, startMs, endMs, pauses)).toBe(
          refBusinessElapsed(reference, startMs, endMs, pauses),
        );
        expect(isOpen(cal, startMs)).toBe(refIsOpen(reference, startMs));
        expect(iso(nextOpening(cal, startMs))).toBe(iso(refNextOpening(reference, startMs)));
      }),
      { numRuns: 120 },
    );
  });

  it("businessElapsed undoes addBusinessDuration from an open start", () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const { durationMs, pauses } = materialise(c);
        const cal = compileCalendar(c.input);
        const startMs = nextOpening(cal, firstDay2026 + c.startMinute * MINUTE);
        const due = addBusinessDuration(cal, startMs, durationMs, pauses);
        expect(businessElapsed(cal, startMs, due, pauses)).toBe(durationMs);
        expect(businessElapsed(cal, startMs, due)).toBeGreaterThanOrEqual(durationMs);
      }),
      { numRuns: 400 },
    );
  });

  it("addBusinessDays equals the reference", () => {
    fc.assert(
      fc.property(caseArbitrary, fc.integer({ min: 0, max: 3 }), (c, days) => {
        const { startMs, pauses } = materialise(c);
        const cal = compileCalendar(c.input);
        const reference = new ReferenceCalendar(c.input);
        expect(iso(addBusinessDays(cal, startMs, days, pauses))).toBe(
          iso(refAddBusinessDays(reference, startMs, days, pauses)),
        );
      }),
      { numRuns: 40 },
    );
  });
});
