/**
 * Business-time arithmetic for SLA clocks. Pure: no clock reads, no I/O; luxon is used (inside
 * CompiledCalendar) only to learn a zone's UTC offsets, once per day, cached.
 *
 * Instants are epoch milliseconds (a Date is accepted and converted). Open time is half-open: a calendar
 * interval 08:00-17:00 covers 08:00 up to, not including, 17:00, so 17:00 itself is closed.
 */
import { type CompiledCalendar, DAY_MS, MAX_CLOSED_DAYS } from "./calendar.js";

export { CompiledCalendar, compileCalendar } from "./calendar.js";

/** An instant: epoch milliseconds, or a Date. */
export type Instant = number | Date;

/**
 * A stretch [from, to) during which the SLA clock is stopped (e.g. waiting for the customer). An ongoing
 * pause may use `to: Number.POSITIVE_INFINITY`. Pauses may overlap and come in any order.
 */
export interface Pause {
  from: Instant;
  to: Instant;
}

/** Whether the calendar is open at the instant. */
export function isOpen(cal: CompiledCalendar, at: Instant): boolean {
  const ms = toEpochMs(at, "at");
  if (cal.alwaysOpen) return true;
  const intervals = cal.utcDay(Math.floor(ms / DAY_MS)).intervals;
  for (let i = 0; i < intervals.length; i += 2) {
    if (ms < intervals[i + 1]!) return ms >= intervals[i]!;
  }
  return false;
}

/** The first open instant at or after `at` (`at` itself when open). */
export function nextOpening(cal: CompiledCalendar, at: Instant): number {
  const ms = toEpochMs(at, "at");
  if (cal.alwaysOpen) return ms;
  let closedDays = 0;
  for (let k = Math.floor(ms / DAY_MS); ; k++) {
    const intervals = cal.utcDay(k).intervals;
    for (let i = 0; i < intervals.length; i += 2) {
      if (ms < intervals[i + 1]!) return Math.max(ms, intervals[i]!);
    }
    closedDays = countClosedDay(cal, intervals.length, closedDays);
  }
}

/**
 * The due instant: when `durationMs` of running clock (open and not paused) has elapsed from `start`.
 *
 * - A clock starting outside open time (or inside a pause) starts at the next running instant.
 * - A target reached exactly at a closing time (or at the start of a pause) is due at that instant, not
 *   at the next opening.
 * - Duration 0 gives the first running instant at or after `start` (`start` itself if running).
 * - Only the part of a pause after `start` counts. If an open-ended pause (`to` = +Infinity) begins
 *   before the target is reached, the result is +Infinity: the clock will not run out.
 */
export function addBusinessDuration(
  cal: CompiledCalendar,
  start: Instant,
  durationMs: number,
  pauses?: readonly Pause[],
): number {
  const startMs = toEpochMs(start, "start");
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`durationMs must be a finite number >= 0, got ${durationMs}`);
  }
  const paused = mergePauses(pauses, startMs);
  if (cal.alwaysOpen) return addAlwaysOpen(startMs, durationMs, paused);

  let remaining = durationMs;
  let pauseIndex = 0;
  let closedDays = 0;
  let k = Math.floor(startMs / DAY_MS);
  for (;;) {
    const dayStart = k * DAY_MS;
    // A pause covering whole days lets the walk jump over them without computing their open time.
    while (pauseIndex < paused.length && paused[pauseIndex + 1]! <= dayStart) pauseIndex += 2;
    if (
      pauseIndex < paused.length &&
      paused[pauseIndex]! <= Math.max(dayStart, startMs) &&
      paused[pauseIndex + 1]! >= dayStart + DAY_MS
    ) {
      const resumeAt = paused[pauseIndex + 1]!;
      if (resumeAt === Number.POSITIVE_INFINITY) return resumeAt;
      k = Math.floor(resumeAt / DAY_MS);
      continue;
    }

    const day = cal.utcDay(k);
    const intervals = day.intervals;
    closedDays = countClosedDay(cal, intervals.length, closedDays);
    if (
      (pauseIndex >= paused.length || paused[pauseIndex]! >= dayStart + DAY_MS) &&
      startMs <= dayStart &&
      day.openMs < remaining
    ) {
      remaining -= day.openMs;
      k++;
      continue;
    }

    for (let i = 0; i < intervals.length; i += 2) {
      let from = intervals[i]!;
      const to = intervals[i + 1]!;
      if (to <= startMs) continue;
      if (from < startMs) from = startMs;
      while (pauseIndex < paused.length && paused[pauseIndex + 1]! <= from) pauseIndex += 2;
      // Split [from, to) around the pauses that intersect it; each running piece consumes the budget.
      while (from < to) {
        if (pauseIndex < paused.length && paused[pauseIndex]! < to) {
          const pauseFrom = paused[pauseIndex]!;
          const pauseTo = paused[pauseIndex + 1]!;
          if (pauseFrom > from) {
            const running = pauseFrom - from;
            if (running >= remaining) return from + remaining;
            remaining -= running;
          }
          if (pauseTo === Number.POSITIVE_INFINITY) return pauseTo;
          if (pauseTo <= to) pauseIndex += 2;
          from = Math.max(from, pauseTo);
        } else {
          const running = to - from;
          if (running >= remaining) return from + remaining;
          remaining -= running;
          from = to;
        }
      }
    }
    k++;
  }
}

/** Milliseconds of running clock (open and not paused) in [from, to); 0 when `to` <= `from`. */
export function businessElapsed(
  cal: CompiledCalendar,
  from: Instant,
  to: Instant,
  pauses?: readonly Pause[],
): number {
  const fromMs = toEpochMs(from, "from");
  const toMs = toEpochMs(to, "to");
  if (toMs <= fromMs) return 0;
  const paused = mergePauses(pauses, fromMs);
  if (cal.alwaysOpen) return toMs - fromMs - pausedWithin(paused, fromMs, toMs);

  let elapsed = 0;
  const lastDay = Math.floor((toMs - 1) / DAY_MS);
  for (let k = Math.floor(fromMs / DAY_MS); k <= lastDay; k++) {
    const intervals = cal.utcDay(k).intervals;
    for (let i = 0; i < intervals.length; i += 2) {
      const openFrom = Math.max(intervals[i]!, fromMs);
      const openTo = Math.min(intervals[i + 1]!, toMs);
      if (openFrom < openTo) elapsed += openTo - openFrom;
    }
  }
  if (paused.length === 0) return elapsed;
  // Pauses are few and already clipped to start at fromMs: subtract the open time each one covers.
  for (let p = 0; p < paused.length && paused[p]! < toMs; p += 2) {
    const pauseTo = Math.min(paused[p + 1]!, toMs);
    const lastPausedDay = Math.floor((pauseTo - 1) / DAY_MS);
    for (let k = Math.floor(paused[p]! / DAY_MS); k <= lastPausedDay; k++) {
      const intervals = cal.utcDay(k).intervals;
      for (let i = 0; i < intervals.length; i += 2) {
        const overlapFrom = Math.max(intervals[i]!, paused[p]!);
        const overlapTo = Math.min(intervals[i + 1]!, pauseTo);
        if (overlapFrom < overlapTo) elapsed -= overlapTo - overlapFrom;
      }
    }
  }
  return elapsed;
}

/**
 * "N business days": the same local time of day on the Nth business day after the day the clock starts,
 * moved to the next opening when that local time is not open there (lunch break, after hours, DST gap).
 *
 * - A business day is a local date, not a holiday, with some open time.
 * - The clock starts at `nextOpening(start)`; its local date and time of day are the reference. A local
 *   time repeated by a DST fall-back means its first occurrence.
 * - days = 0 gives the first running instant at or after `start`.
 * - Pauses extend the result by the open time they stopped: the nominal due is computed without pauses,
 *   then the open time paused between `start` and that nominal due is added with `addBusinessDuration`
 *   from the nominal due (where later pauses stop the clock too). So the running time from `start` to
 *   the result always equals the open time from `start` to the nominal due.
 */
export function addBusinessDays(
  cal: CompiledCalendar,
  start: Instant,
  days: number,
  pauses?: readonly Pause[],
): number {
  const startMs = toEpochMs(start, "start");
  if (!Number.isSafeInteger(days) || days < 0) {
    throw new RangeError(`days must be a whole number >= 0, got ${days}`);
  }
  const clockStart = nextOpening(cal, startMs);
  let nominalDue = clockStart;
  if (days > 0) {
    const startWall = clockStart + cal.offsetAt(clockStart);
    const startLocalDay = Math.floor(startWall / DAY_MS);
    const timeOfDay = startWall - startLocalDay * DAY_MS;
    let localDay = startLocalDay;
    let lastBusinessDay = startLocalDay;
    for (let counted = 0; counted < days; ) {
      localDay++;
      if (cal.localDate(localDay).length > 0) {
        counted++;
        lastBusinessDay = localDay;
      } else if (localDay - lastBusinessDay > MAX_CLOSED_DAYS) {
        throw new Error(
          `No business day found within ${MAX_CLOSED_DAYS} local days in calendar ${cal.timezone}: is it closed for good by holidays?`,
        );
      }
    }
    const sameTimeOfDay = cal.firstInstantAtOrAfterWall(localDay * DAY_MS + timeOfDay);
    nominalDue = nextOpening(cal, Math.max(sameTimeOfDay, clockStart));
  }
  if (pauses === undefined || pauses.length === 0) return nominalDue;
  const pausedOpenMs =
    businessElapsed(cal, startMs, nominalDue) - businessElapsed(cal, startMs, nominalDue, pauses);
  if (pausedOpenMs === 0) return nominalDue;
  return addBusinessDuration(cal, nominalDue, pausedOpenMs, pauses);
}

function toEpochMs(instant: Instant, name: string): number {
  const ms = typeof instant === "number" ? instant : instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`${name} must be a finite instant, got ${String(instant)}`);
  return ms;
}

/** Sorted, merged pauses as flat [from, to) pairs, clipped to begin no earlier than `fromMs`. */
function mergePauses(pauses: readonly Pause[] | undefined, fromMs: number): number[] {
  if (pauses === undefined || pauses.length === 0) return [];
  const clipped: [number, number][] = [];
  for (const pause of pauses) {
    const pauseFrom = typeof pause.from === "number" ? pause.from : pause.from.getTime();
    const pauseTo = typeof pause.to === "number" ? pause.to : pause.to.getTime();
    if (!Number.isFinite(pauseFrom) || Number.isNaN(pauseTo) || pauseTo < pauseFrom) {
      throw new RangeError(`Invalid pause [${String(pause.from)}, ${String(pause.to)})`);
    }
    const effectiveFrom = Math.max(pauseFrom, fromMs);
    if (effectiveFrom < pauseTo) clipped.push([effectiveFrom, pauseTo]);
  }
  clipped.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [pauseFrom, pauseTo] of clipped) {
    const last = merged.length - 1;
    if (last > 0 && merged[last]! >= pauseFrom) merged[last] = Math.max(merged[last]!, pauseTo);
    else merged.push(pauseFrom, pauseTo);
  }
  return merged;
}

function addAlwaysOpen(startMs: number, durationMs: number, paused: readonly number[]): number {
  let at = startMs;
  let remaining = durationMs;
  for (let p = 0; p < paused.length; p += 2) {
    const running = paused[p]! - at;
    if (running > 0 && running >= remaining) return at + remaining;
    remaining -= Math.max(running, 0);
    at = Math.max(at, paused[p + 1]!);
  }
  return at + remaining;
}

function pausedWithin(paused: readonly number[], fromMs: number, toMs: number): number {
  let total = 0;
  for (let p = 0; p < paused.length; p += 2) {
    const overlap = Math.min(paused[p + 1]!, toMs) - Math.max(paused[p]!, fromMs);
    if (overlap > 0) total += overlap;
  }
  return total;
}

function countClosedDay(cal: CompiledCalendar, intervalCount: number, closedDays: number): number {
  if (intervalCount > 0) return 0;
  if (closedDays + 1 > MAX_CLOSED_DAYS) {
    throw new Error(
      `No open time within ${MAX_CLOSED_DAYS} days in calendar ${cal.timezone}: is it closed for good by holidays?`,
    );
  }
  return closedDays + 1;
}
