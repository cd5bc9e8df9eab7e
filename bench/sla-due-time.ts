/**
 * SLA due-time throughput: a 48 h business target on a Mon-Fri 08:00-17:00 Europe/Stockholm calendar
 * with holidays, from start instants spread over a year. Compares the engine with the minute-stepping
 * reference. Run directly with `npx tsx bench/sla-due-time.ts`.
 */
import { performance } from "node:perf_hooks";
import type { CalendarInput } from "../schemas/calendar.js";
import { addBusinessDuration, compileCalendar } from "../src/sla/business-time.js";
import { ReferenceCalendar, refAddBusinessDuration } from "../test/sla/reference.js";

export interface SlaDueTimeResult {
  engineOpsPerSec: number;
  referenceOpsPerSec: number;
  ratio: number;
  note: string;
}

const MINUTE_MS = 60_000;
const TARGET_MS = 48 * 60 * MINUTE_MS;
const START_COUNT = 4096;

const workdays: [string, string][] = [["08:00", "17:00"]];
const calendarInput: CalendarInput = {
  timezone: "Europe/Stockholm",
  hours: { mon: workdays, tue: workdays, wed: workdays, thu: workdays, fri: workdays },
  holidays: ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01", "2027-01-06"],
};

/** Deterministic start minutes over 2026 (a fixed-seed LCG, so runs are comparable). */
function startInstants(count: number): Float64Array {
  const yearStart = Date.UTC(2026, 0, 1);
  const minutesInYear = 365 * 24 * 60;
  const starts = new Float64Array(count);
  let seed = 0x2545f491;
  for (let i = 0; i < count; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    starts[i] = yearStart + (seed % minutesInYear) * MINUTE_MS;
  }
  return starts;
}

/** Runs `operation` over the starts (cycling) for about `seconds`; returns operations per second. */
function measure(seconds: number, starts: Float64Array, operation: (startMs: number) => number): number {
  const budgetMs = seconds * 1000;
  let operations = 0;
  let checksum = 0;
  const began = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    // Check the clock only every batch so timing overhead stays out of the figure.
    const batch = Math.min(256, starts.length);
    for (let i = 0; i < batch; i++) {
      checksum += operation(starts[(operations + i) % starts.length]!);
    }
    operations += batch;
    elapsed = performance.now() - began;
  }
  if (Number.isNaN(checksum)) throw new Error("benchmark produced NaN");
  return operations / (elapsed / 1000);
}

export async function benchSlaDueTime(opts?: { seconds?: number }): Promise<SlaDueTimeResult> {
  const seconds = opts?.seconds ?? 2;
  const starts = startInstants(START_COUNT);

  // One compiled calendar for the whole run, as the gateway caches them; warm-up fills its day caches.
  const calendar = compileCalendar(calendarInput);
  measure(Math.min(0.3, seconds / 4), starts, (startMs) => addBusinessDuration(calendar, startMs, TARGET_MS));
  const engineOpsPerSec = measure(seconds, starts, (startMs) =>
    addBusinessDuration(calendar, startMs, TARGET_MS),
  );

  // The reference walks every minute through luxon: a small sample is enough. Its per-minute memo is
  // cleared for each computation so it measures the brute-force cost.
  const referenceSample = starts.subarray(0, 64);
  const referenceOpsPerSec = measureReference(Math.min(seconds, 2), referenceSample);

  return {
    engineOpsPerSec: Math.round(engineOpsPerSec),
    referenceOpsPerSec: Math.round(referenceOpsPerSec * 100) / 100,
    ratio: Math.round(engineOpsPerSec / referenceOpsPerSec),
    note:
      "48 h business target, Mon-Fri 08:00-17:00 Europe/Stockholm with 5 holidays, starts spread over 2026; " +
      "engine on one warm compiled calendar vs the minute-stepping luxon reference. Target: >= 200000 engine ops/s.",
  };
}

function measureReference(seconds: number, starts: Float64Array): number {
  const budgetMs = seconds * 1000;
  let operations = 0;
  const began = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs && operations < starts.length) {
    const reference = new ReferenceCalendar(calendarInput);
    refAddBusinessDuration(reference, starts[operations]!, TARGET_MS);
    operations++;
    elapsed = performance.now() - began;
  }
  return operations / (elapsed / 1000);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchSlaDueTime();
  console.log(JSON.stringify(result, null, 2));
}
