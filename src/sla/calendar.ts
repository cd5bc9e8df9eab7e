import { IANAZone } from "luxon";
import { CalendarInput, minutesOfDay, weekdayKeys } from "../../schemas/calendar.js";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * How many consecutive days without any open time the engine walks before giving up. Ten years: far
 * beyond any real calendar, but it stops a calendar closed by holidays for good from looping forever.
 */
export const MAX_CLOSED_DAYS = 3660;

/** Offsets are sampled this often when looking for DST transitions; real zones never change twice within it. */
const OFFSET_SAMPLE_MS = 6 * HOUR_MS;

const NO_INTERVALS: readonly number[] = Object.freeze([]);

/** Open time of one UTC day [k*DAY_MS, (k+1)*DAY_MS): flat, sorted, merged [start, end) pairs in epoch ms. */
export interface UtcDayOpenTime {
  readonly intervals: readonly number[];
  readonly openMs: number;
}

/**
 * A calendar prepared for fast SLA arithmetic. Local wall-clock hours are turned into UTC epoch ms lazily,
 * one day at a time, and cached: after warm-up the hot paths are plain number comparisons.
 *
 * Two caches on purpose: open time per *local date* (what "business day" and holidays are about) and per
 * *UTC day* (what the clock walks). Walking UTC days means an instant's day is `floor(ms / DAY_MS)` with
 * no offset lookup, and stays monotonic even in zones whose local dates overlap (a fall-back at midnight,
 * as in America/Santiago).
 */
export class CompiledCalendar {
  readonly timezone: string;
  /** True when open 24/7 with no holidays: arithmetic needs no calendar at all. */
  readonly alwaysOpen: boolean;
  /** Index = ISO weekday 1 (Mon) .. 7 (Sun); flat [startMinute, endMinute) pairs, sorted, merged. */
  private readonly weeklyMinutes: readonly (readonly number[])[];
  /** Holidays as local day numbers (days since 1970-01-01 in local dates). */
  private readonly holidayDays: ReadonlySet<number>;
  private readonly zone: IANAZone;
  /** Per UTC day: flat [from, to, offsetMs] triples covering the day, one per constant-offset stretch. */
  private readonly offsetSegmentsByUtcDay = new Map<number, readonly number[]>();
  private readonly openTimeByLocalDate = new Map<number, readonly number[]>();
  private readonly openTimeByUtcDay = new Map<number, UtcDayOpenTime>();

  constructor(input: CalendarInput) {
    this.timezone = input.timezone;
    this.zone = IANAZone.create(input.timezone);
    const weekly: (readonly number[])[] = [NO_INTERVALS];
    for (const day of weekdayKeys) {
      const minutes = (input.hours[day] ?? [])
        .map(([start, end]) => [minutesOfDay(start), minutesOfDay(end)] as const)
        .sort((a, b) => a[0] - b[0]);
      const merged: number[] = [];
      for (const [start, end] of minutes) {
        if (merged.length > 0 && merged[merged.length - 1]! >= start) {
          merged[merged.length - 1] = Math.max(merged[merged.length - 1]!, end);
        } else {
          merged.push(start, end);
        }
      }
      weekly.push(merged);
    }
    this.weeklyMinutes = weekly;
    this.holidayDays = new Set((input.holidays ?? []).map(localDayNumberOfIsoDate));
    this.alwaysOpen =
      this.holidayDays.size === 0 &&
      weekly.slice(1).every((minutes) => minutes.length === 2 && minutes[0] === 0 && minutes[1] === 1440);
  }

  /** Open intervals of UTC day k (the day containing epoch ms k * DAY_MS). */
  utcDay(k: number): UtcDayOpenTime {
    const cached = this.openTimeByUtcDay.get(k);
    if (cached !== undefined) return cached;
    const dayStart = k * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    const pieces: [number, number][] = [];
    // Instants of UTC day k carry local dates k-1..k+1, since offsets stay within ±24 h.
    for (let localDay = k - 1; localDay <= k + 1; localDay++) {
      const intervals = this.localDate(localDay);
      for (let i = 0; i < intervals.length; i += 2) {
        const from = Math.max(intervals[i]!, dayStart);
        const to = Math.min(intervals[i + 1]!, dayEnd);
        if (from < to) pieces.push([from, to]);
      }
    }
    pieces.sort((a, b) => a[0] - b[0]);
    const merged: number[] = [];
    let openMs = 0;
    for (const [from, to] of pieces) {
      const last = merged.length - 1;
      if (last > 0 && merged[last]! >= from) {
        if (to > merged[last]!) {
          openMs += to - merged[last]!;
          merged[last] = to;
        }
      } else {
        merged.push(from, to);
        openMs += to - from;
      }
    }
    const day: UtcDayOpenTime = { intervals: merged.length === 0 ? NO_INTERVALS : merged, openMs };
    this.openTimeByUtcDay.set(k, day);
    return day;
  }

  /**
   * Open intervals (flat UTC epoch ms pairs, sorted) of the instants whose local date is the given local
   * day number. Empty for holidays, closed weekdays, and dates whose open hours all fall in a DST gap.
   */
  localDate(localDay: number): readonly number[] {
    const cached = this.openTimeByLocalDate.get(localDay);
    if (cached !== undefined) return cached;
    let intervals = NO_INTERVALS;
    const minutes = this.weeklyMinutes[isoWeekdayOfLocalDay(localDay)]!;
    if (minutes.length > 0 && !this.holidayDays.has(localDay)) {
      const wallMidnight = localDay * DAY_MS;
      const found: number[] = [];
      // Every constant-offset stretch maps a range of wall times back to UTC by subtracting its offset;
      // gaps then simply produce nothing and repeated hours produce both occurrences.
      for (let k = localDay - 1; k <= localDay + 1; k++) {
        const segments = this.offsetSegments(k);
        for (let s = 0; s < segments.length; s += 3) {
          const segmentFrom = segments[s]!;
          const segmentTo = segments[s + 1]!;
          const offsetMs = segments[s + 2]!;
          for (let m = 0; m < minutes.length; m += 2) {
            const from = Math.max(segmentFrom, wallMidnight + minutes[m]! * MINUTE_MS - offsetMs);
            const to = Math.min(segmentTo, wallMidnight + minutes[m + 1]! * MINUTE_MS - offsetMs);
            if (from >= to) continue;
            if (found.length > 0 && found[found.length - 1]! >= from) {
              found[found.length - 1] = Math.max(found[found.length - 1]!, to);
            } else {
              found.push(from, to);
            }
          }
        }
      }
      if (found.length > 0) intervals = found;
    }
    this.openTimeByLocalDate.set(localDay, intervals);
    return intervals;
  }

  /** UTC offset in ms (local = utc + offset) at an instant. */
  offsetAt(ms: number): number {
    const segments = this.offsetSegments(Math.floor(ms / DAY_MS));
    for (let s = 0; s < segments.length; s += 3) {
      if (ms < segments[s + 1]!) return segments[s + 2]!;
    }
    return segments[segments.length - 1]!;
  }

  /** Local day number (days since 1970-01-01 as local dates) of an instant. */
  localDayOf(ms: number): number {
    return Math.floor((ms + this.offsetAt(ms)) / DAY_MS);
  }

  /**
   * The first instant whose local wall time (as ms since local 1970-01-01 00:00) is at or after the
   * given one. A wall time inside a DST gap gives the transition instant; a repeated one its first
   * occurrence.
   */
  firstInstantAtOrAfterWall(wallMs: number): number {
    // Offsets are under 24 h, so the instant lies at most a day before the wall time read as UTC.
    for (let k = Math.floor(wallMs / DAY_MS) - 1; ; k++) {
      const segments = this.offsetSegments(k);
      for (let s = 0; s < segments.length; s += 3) {
        const candidate = Math.max(segments[s]!, wallMs - segments[s + 2]!);
        if (candidate < segments[s + 1]!) return candidate;
      }
    }
  }

  private offsetSegments(k: number): readonly number[] {
    const cached = this.offsetSegmentsByUtcDay.get(k);
    if (cached !== undefined) return cached;
    const dayStart = k * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    const segments: number[] = [];
    // Samples sit on whole minutes inside the day; a transition exactly at dayEnd belongs to the next day.
    const lastMinute = dayEnd - MINUTE_MS;
    let segmentFrom = dayStart;
    let sampleAt = dayStart;
    let sampleOffset = this.zoneOffsetMs(dayStart);
    // Real zones never change offset and change back within a day, so equal ends mean no transition.
    if (this.zoneOffsetMs(lastMinute) !== sampleOffset) {
      while (sampleAt < lastMinute) {
        const nextAt = Math.min(sampleAt + OFFSET_SAMPLE_MS, lastMinute);
        const nextOffset = this.zoneOffsetMs(nextAt);
        if (nextOffset !== sampleOffset) {
          // Transitions happen on whole minutes, so a minute-resolution bisection finds them exactly.
          let before = sampleAt;
          let after = nextAt;
          while (after - before > MINUTE_MS) {
            const middle = before + Math.floor((after - before) / MINUTE_MS / 2) * MINUTE_MS;
            if (this.zoneOffsetMs(middle) === sampleOffset) before = middle;
            else after = middle;
          }
          segments.push(segmentFrom, after, sampleOffset);
          segmentFrom = after;
        }
        sampleAt = nextAt;
        sampleOffset = nextOffset;
      }
    }
    segments.push(segmentFrom, dayEnd, sampleOffset);
    this.offsetSegmentsByUtcDay.set(k, segments);
    return segments;
  }

  private zoneOffsetMs(ms: number): number {
    return Math.round(this.zone.offset(ms) * MINUTE_MS);
  }
}

/**
 * Validates the input (throws the ZodError of CalendarInput if invalid) and prepares it. Compile once per
 * calendar and keep the result: its caches make later computations cheap.
 */
export function compileCalendar(input: CalendarInput): CompiledCalendar {
  return new CompiledCalendar(CalendarInput.parse(input));
}

/** Days since 1970-01-01 of a "YYYY-MM-DD" date. */
export function localDayNumberOfIsoDate(isoDate: string): number {
  const year = Number(isoDate.slice(0, 4));
  const month = Number(isoDate.slice(5, 7));
  const day = Number(isoDate.slice(8, 10));
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

/** ISO weekday (1 = Monday .. 7 = Sunday) of a local day number; day 0 (1970-01-01) was a Thursday. */
export function isoWeekdayOfLocalDay(localDay: number): number {
  return ((((localDay + 3) % 7) + 7) % 7) + 1;
}
