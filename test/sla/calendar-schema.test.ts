import { describe, expect, it } from "vitest";
import { CalendarInput } from "../../schemas/calendar.js";

const workday: [string, string][] = [["08:00", "17:00"]];

describe("CalendarInput accepts", () => {
  it.each([
    {
      name: "a plain office week",
      input: { timezone: "Europe/Stockholm", hours: { mon: workday, fri: workday } },
    },
    {
      name: "touching intervals",
      input: {
        timezone: "Europe/London",
        hours: {
          mon: [
            ["08:00", "12:00"],
            ["12:00", "17:00"],
          ],
        },
      },
    },
    {
      name: "intervals out of order",
      input: {
        timezone: "UTC",
        hours: {
          tue: [
            ["13:00", "17:00"],
            ["08:00", "12:00"],
          ],
        },
      },
    },
    {
      name: '"24:00" as an end',
      input: { timezone: "America/Los_Angeles", hours: { sat: [["00:00", "24:00"]] } },
    },
    {
      name: "holidays",
      input: {
        timezone: "Europe/Stockholm",
        hours: { mon: workday },
        holidays: ["2026-12-25", "2027-01-01"],
      },
    },
    {
      name: "an empty day next to an open one",
      input: { timezone: "UTC", hours: { mon: [], tue: workday } },
    },
  ])("$name", ({ input }) => {
    expect(CalendarInput.safeParse(input).success).toBe(true);
  });
});

describe.each([
  {
    name: "unknown zone",
    input: { timezone: "Mars/Olympus_Mons", hours: { mon: workday } },
    path: ["timezone"],
  },
  {
    name: "overlapping intervals",
    input: {
      timezone: "Europe/Stockholm",
      hours: {
        mon: [
          ["08:00", "12:00"],
          ["11:00", "17:00"],
        ],
      },
    },
    path: ["hours", "mon", 1],
  },
  {
    name: "overlap reported on the later interval whatever the input order",
    input: {
      timezone: "Europe/Stockholm",
      hours: {
        wed: [
          ["11:00", "17:00"],
          ["08:00", "12:00"],
        ],
      },
    },
    path: ["hours", "wed", 0],
  },
  {
    name: "reversed interval",
    input: { timezone: "Europe/Stockholm", hours: { mon: workday, tue: [["17:00", "08:00"]] } },
    path: ["hours", "tue", 0],
  },
  {
    name: "empty interval",
    input: { timezone: "Europe/Stockholm", hours: { fri: [["09:00", "09:00"]] } },
    path: ["hours", "fri", 0],
  },
  {
    name: 'time without a leading zero ("8:00")',
    input: { timezone: "Europe/Stockholm", hours: { mon: [["8:00", "17:00"]] } },
    path: ["hours", "mon", 0, 0],
  },
  {
    name: 'hour out of range ("25:00")',
    input: { timezone: "Europe/Stockholm", hours: { mon: [["08:00", "25:00"]] } },
    path: ["hours", "mon", 0, 1],
  },
  {
    name: '"24:00" as a start',
    input: { timezone: "Europe/Stockholm", hours: { sun: [["24:00", "24:00"]] } },
    path: ["hours", "sun", 0, 0],
  },
  {
    name: "week with no open time",
    input: { timezone: "Europe/Stockholm", hours: { mon: [], sat: [] } },
    path: ["hours"],
  },
  {
    name: "unknown top-level key",
    input: { timezone: "Europe/Stockholm", hours: { mon: workday }, timeZone: "UTC" },
    path: [],
  },
  {
    name: "unknown weekday key",
    input: { timezone: "Europe/Stockholm", hours: { mon: workday, monday: workday } },
    path: ["hours"],
  },
  {
    name: "impossible holiday date",
    input: { timezone: "Europe/Stockholm", hours: { mon: workday }, holidays: ["2026-02-30"] },
    path: ["holidays", 0],
  },
])("CalendarInput rejects $name", ({ input, path }) => {
  it(`with exactly one issue at ${JSON.stringify(path)}`, () => {
    const result = CalendarInput.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([path]);
  });
});
