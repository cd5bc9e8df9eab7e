/**
 * Brute-force reference for the business-time engine, written independently of it: it walks minute by
 * minute and asks luxon, for every minute, which local date, weekday and time of day it is. Slow on
 * purpose; only whole-minute instants, durations and pauses are supported.
 */
import { DateTime, IANAZone } from "luxon";
import type { CalendarInput } from "../../schemas/calendar.js";

export const MINUTE = 60_000;

/** Walks longer than this many minutes (about four years) are treated as a bug in the test. */
const MAX_WALK_MINUTES = 4 * 366 * 24 * 60;

const luxonWeekdayKeys = ["", "mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

export interface ReferencePause {
  from: number;
  to: number;
}

export class ReferenceCalendar {
  private readonly zone: IANAZone;
  /** Index = luxon weekday (1 = Monday); [startMinute, endMinute) pairs as written in the input. */
  private readonly minutesByWeekday: [number, number][][];
  private readonly holidays: Set<string>;
  private readonly openByMinute = new Map<number, boolean>();

  constructor(input: CalendarInput) {
    this.zone = IANAZone.create(input.timezone);
    this.minutesByWeekday = luxonWeekdayKeys.map((key) => {
      if (key === "") return [];
      return (input.hours[key] ?? []).map(([start, end]) => [parseClock(start), parseClock(end)]);
    });
    this.holidays = new Set(input.holidays ?? []);
  }

  /** Local date (YYYY-MM-DD) and minute of the day of an instant. */
  wallClock(ms: number): { date: string; minuteOfDay: number } {
    const local = DateTime.fromMillis(ms, { zone: this.zone });
    return { date: local.toISODate()!, minuteOfDay: local.hour * 60 + local.minute };
  }

  /** Whether the minute starting at `ms` is open. */
  isOpenMinute(ms: number): boolean {
    // Memoised only so one test case checking several functions does not ask luxon twice per minute.
    const known = this.openByMinute.get(ms);
    if (known !== undefined) return known;
    const local = DateTime.fromMillis(ms, { zone: this.zone });
    const minuteOfDay = local.hour * 60 + local.minute;
    const open =
      !this.holidays.has(local.toISODate()!) &&
      this.minutesByWeekday[local.weekday]!.some(([start, end]) => minuteOfDay >= start && minuteOfDay < end);
    this.openByMinute.set(ms, open);
    return open;
  }

  /** Whether the local date has any open minute, found by scanning every minute that might carry it. */
  isBusinessDay(date: string): boolean {
    const asUtc = DateTime.fromISO(date, { zone: "UTC" });
    if (this.holidays.has(date)) return false;
    if (this.minutesByWeekday[asUtc.weekday]!.length === 0) return false;
    const scanFrom = asUtc.toMillis() - 15 * 60 * MINUTE;
    const scanTo = asUtc.toMillis() + 39 * 60 * MINUTE;
    for (let m = scanFrom; m < scanTo; m += MINUTE) {
      if (this.wallClock(m).date === date && this.isOpenMinute(m)) return true;
    }
    return false;
  }
}

function parseClock(hhmm: string): number {
  const [hours, minutes] = hhmm.split(":").map(Number);
  return hours! * 60 + minutes!;
}

function assertWholeMinute(ms: number, name: string): void {
  if (ms % MINUTE !== 0) throw new Error(`reference: ${name} must be a whole minute, got ${ms}`);
}

function isPaused(pauses: readonly ReferencePause[], ms: number): boolean {
  return pauses.some((pause) => pause.from <= ms && ms < pause.to);
}

export function refIsOpen(cal: ReferenceCalendar, ms: number): boolean {
  return cal.isOpenMinute(Math.floor(ms / MINUTE) * MINUTE);
}

/** First minute at or after `ms` that is open and not paused. */
export function refNextRunning(
  cal: ReferenceCalendar,
  ms: number,
  pauses: readonly ReferencePause[] = [],
): number {
  assertWholeMinute(ms, "start");
  for (let m = ms, walked = 0; walked < MAX_WALK_MINUTES; m += MINUTE, walked++) {
    if (!isPaused(pauses, m) && cal.isOpenMinute(m)) return m;
  }
  throw new Error("reference: no running minute found");
}

export function refNextOpening(cal: ReferenceCalendar, ms: number): number {
  return refNextRunning(cal, ms);
}

export function refAddBusinessDuration(
  cal: ReferenceCalendar,
  startMs: number,
  durationMs: number,
  pauses: readonly ReferencePause[] = [],
): number {
  assertWholeMinute(startMs, "start");
  assertWholeMinute(durationMs, "duration");
  if (durationMs === 0) return refNextRunning(cal, startMs, pauses);
  let remainingMinutes = durationMs / MINUTE;
  for (let m = startMs, walked = 0; walked < MAX_WALK_MINUTES; m += MINUTE, walked++) {
    if (isPaused(pauses, m) || !cal.isOpenMinute(m)) continue;
    remainingMinutes--;
    // The due instant is the end of the last running minute: a closing time stays a closing time.
    if (remainingMinutes === 0) return m + MINUTE;
  }
  throw new Error("reference: walk too long");
}

export function refBusinessElapsed(
  cal: ReferenceCalendar,
  fromMs: number,
  toMs: number,
  pauses: readonly ReferencePause[] = [],
): number {
  assertWholeMinute(fromMs, "from");
  assertWholeMinute(toMs, "to");
  let minutes = 0;
  for (let m = fromMs; m < toMs; m += MINUTE) {
    if (!isPaused(pauses, m) && cal.isOpenMinute(m)) minutes++;
  }
  return minutes * MINUTE;
}

/**
 * Same local time of day on the Nth business day after the clock starts, then the next opening; pauses
 * then extend it by the open time they stopped before that nominal due (the engine's documented rule).
 */
export function refAddBusinessDays(
  cal: ReferenceCalendar,
  startMs: number,
  days: number,
  pauses: readonly ReferencePause[] = [],
): number {
  const clockStart = refNextOpening(cal, startMs);
  let nominalDue = clockStart;
  if (days > 0) {
    const { date: startDate, minuteOfDay } = cal.wallClock(clockStart);
    let date = startDate;
    for (let counted = 0; counted < days; ) {
      date = DateTime.fromISO(date, { zone: "UTC" }).plus({ days: 1 }).toISODate()!;
      if (cal.isBusinessDay(date)) counted++;
    }
    // First minute whose local (date, time of day) is at or after the target: skips DST gaps, and
    // takes the first of two repeated times.
    let m = DateTime.fromISO(date, { zone: "UTC" }).toMillis() - 15 * 60 * MINUTE;
    for (;;) {
      const wall = cal.wallClock(m);
      if (wall.date > date || (wall.date === date && wall.minuteOfDay >= minuteOfDay)) break;
      m += MINUTE;
    }
    nominalDue = refNextOpening(cal, Math.max(m, clockStart));
  }
  if (pauses.length === 0) return nominalDue;
  const pausedOpen =
    refBusinessElapsed(cal, startMs, nominalDue) - refBusinessElapsed(cal, startMs, nominalDue, pauses);
  if (pausedOpen === 0) return nominalDue;
  return refAddBusinessDuration(cal, nominalDue, pausedOpen, pauses);
}
