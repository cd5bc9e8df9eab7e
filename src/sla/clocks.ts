/**
 * SLA clocks of one ticket: pure rules over a clock record and a compiled calendar. No I/O, no clock
 * reads: callers pass `now`. The database layer (src/services/sla.ts) stores the records and calls these.
 */
import type { Plan, PlanTargets } from "../../schemas/plan.js";
import type { Priority } from "../../schemas/ticket.js";
import {
  addBusinessDays,
  addBusinessDuration,
  businessElapsed,
  type CompiledCalendar,
} from "./business-time.js";

export type ClockName = "response" | "update" | "resolution" | `extra:${string}` | `escalation:${string}`;

/** Escalation steps share the clock machinery but fire `sla.escalated` instead of at-risk and breach. */
export function isEscalation(name: string): name is `escalation:${string}` {
  return name.startsWith("escalation:");
}

export interface ClockTarget {
  minutes: number | null;
  businessDays: number | null;
}

export interface ClockPause {
  from: number;
  /** null while the pause goes on. */
  to: number | null;
}

/** What is stored per ticket and clock. Instants are epoch ms. */
export interface ClockRecord {
  name: ClockName;
  target: ClockTarget | null;
  startedAt: number | null;
  pauses: ClockPause[];
  metAt: number | null;
  /** Stopped without being met (the ticket was cancelled or closed). */
  stoppedAt: number | null;
  breachedAt: number | null;
  atRiskRecordedAt: number | null;
  /** The `warningRatios` already written this cycle. */
  warningsRecorded: number[];
  /** Update clock: when this cycle's `sla.update_due` was written. */
  updateDueRecordedAt: number | null;
  /** Update clock: when this cycle's automatic status update was posted. */
  autoUpdatePostedAt: number | null;
  /** Update clocks restart on every provider public update; each restart is a new cycle. */
  cycle: number;
}

export type ClockState = "running" | "paused" | "met" | "breached" | "none";

export interface ClockView {
  dueAt: string | null;
  metAt: string | null;
  pausedSeconds: number;
  remainingBusinessSeconds: number | null;
  state: ClockState;
}

const MINUTE_MS = 60_000;

export function targetsFor(plan: Plan, priority: Priority): PlanTargets {
  return plan.targets[priority] ?? {};
}

/** The response, update and resolution targets of a plan for a priority, and its extra named clocks. */
export function clockTargets(plan: Plan, priority: Priority): Record<ClockName, ClockTarget | null> {
  const t = targetsFor(plan, priority);
  const target = (minutes?: number, businessDays?: number): ClockTarget | null =>
    minutes === undefined && businessDays === undefined
      ? null
      : { minutes: minutes ?? null, businessDays: businessDays ?? null };
  const out: Record<ClockName, ClockTarget | null> = {
    response: target(t.responseMinutes, t.responseBusinessDays),
    update: target(t.updateMinutes),
    resolution: target(t.resolutionMinutes, t.resolutionBusinessDays),
  };
  for (const extra of plan.extraClocks ?? []) {
    const spec = extra.targets ? extra.targets[priority] : undefined;
    out[`extra:${extra.name}`] = extra.targets
      ? target(spec?.minutes, spec?.businessDays)
      : target(extra.targetMinutes, extra.targetBusinessDays);
  }
  for (const step of plan.escalations ?? []) {
    const spec = step.after[priority];
    out[`escalation:${step.name}`] = target(spec?.minutes, spec?.businessDays);
  }
  return out;
}

export function isPaused(clock: ClockRecord): boolean {
  return clock.pauses.some((p) => p.to === null);
}

export function isActive(clock: ClockRecord): boolean {
  return (
    clock.target !== null && clock.startedAt !== null && clock.metAt === null && clock.stoppedAt === null
  );
}

function enginePauses(clock: ClockRecord) {
  return clock.pauses.map((p) => ({ from: p.from, to: p.to ?? Number.POSITIVE_INFINITY }));
}

/** When the clock runs out; +Infinity while paused (it cannot run out), null without a target. */
export function dueAt(clock: ClockRecord, cal: CompiledCalendar): number | null {
  if (!clock.target || clock.startedAt === null) return null;
  const pauses = enginePauses(clock);
  if (clock.target.businessDays !== null) {
    return addBusinessDays(cal, clock.startedAt, clock.target.businessDays, pauses);
  }
  return addBusinessDuration(cal, clock.startedAt, clock.target.minutes! * MINUTE_MS, pauses);
}

/**
 * The instant `part(total)` of the clock's running time has passed, `total` being the running time from its
 * start to its due; +Infinity while paused, null without a due.
 */
function partOfTargetAt(clock: ClockRecord, cal: CompiledCalendar, part: (total: number) => number) {
  const due = dueAt(clock, cal);
  if (due === null || clock.startedAt === null) return null;
  if (!Number.isFinite(due)) return due;
  const pauses = enginePauses(clock);
  const total = businessElapsed(cal, clock.startedAt, due, pauses);
  return addBusinessDuration(cal, clock.startedAt, part(total), pauses);
}

/** When `ratio` of the target has run (the at-risk warning, and the earlier warnings). */
export function atRiskAt(clock: ClockRecord, cal: CompiledCalendar, ratio: number): number | null {
  return partOfTargetAt(clock, cal, (total) => Math.floor(total * ratio));
}

/** When the update clock's `sla.update_due` falls: `leadMs` of running time before the due (at the start if shorter). */
export function updateDueWarningAt(clock: ClockRecord, cal: CompiledCalendar, leadMs: number): number | null {
  return partOfTargetAt(clock, cal, (total) => Math.max(0, total - leadMs));
}

/** What the timer watches on a clock besides its due: the plan's (or tenant's) warning settings. */
export interface ClockAlerts {
  atRiskRatio: number;
  warningRatios: readonly number[];
  /** Business ms before an update cycle's due that `sla.update_due` (and an automatic post) falls. */
  updateDueLeadMs: number;
}

export type PendingAlert =
  | { kind: "warning"; ratio: number; at: number }
  | { kind: "at_risk"; at: number }
  | { kind: "update_due"; at: number }
  | { kind: "due"; at: number };

/**
 * Everything the timer has yet to write for an active clock this cycle, with its instant (finite instants
 * only: a paused clock has none). Escalation steps have only their due.
 */
export function pendingAlerts(
  clock: ClockRecord,
  cal: CompiledCalendar,
  alerts: ClockAlerts,
): PendingAlert[] {
  if (!isActive(clock)) return [];
  const out: PendingAlert[] = [];
  if (!isEscalation(clock.name)) {
    for (const ratio of alerts.warningRatios) {
      // A ratio equal to the at-risk ratio is the at-risk entry itself.
      if (ratio === alerts.atRiskRatio || clock.warningsRecorded.includes(ratio)) continue;
      const at = atRiskAt(clock, cal, ratio);
      if (at !== null && Number.isFinite(at)) out.push({ kind: "warning", ratio, at });
    }
    if (clock.atRiskRecordedAt === null) {
      const at = atRiskAt(clock, cal, alerts.atRiskRatio);
      if (at !== null && Number.isFinite(at)) out.push({ kind: "at_risk", at });
    }
    if (clock.name === "update" && clock.updateDueRecordedAt === null) {
      const at = updateDueWarningAt(clock, cal, alerts.updateDueLeadMs);
      if (at !== null && Number.isFinite(at)) out.push({ kind: "update_due", at });
    }
  }
  if (clock.breachedAt === null) {
    const due = dueAt(clock, cal);
    if (due !== null && Number.isFinite(due)) out.push({ kind: "due", at: due });
  }
  return out;
}

/** The next instant the timer must look at this clock (a warning, at risk, update due, due); null when nothing is left. */
export function nextCheckAt(clock: ClockRecord, cal: CompiledCalendar, alerts: ClockAlerts): number | null {
  const pending = pendingAlerts(clock, cal, alerts);
  return pending.length === 0 ? null : Math.min(...pending.map((p) => p.at));
}

/** Business time the clock has run between its start and `until`, pauses excluded. */
export function runningMs(clock: ClockRecord, cal: CompiledCalendar, until: number): number {
  if (clock.startedAt === null) return 0;
  return businessElapsed(cal, clock.startedAt, until, enginePauses(clock));
}

/** Business time that pauses took out of the clock up to `until`. */
export function pausedMs(clock: ClockRecord, cal: CompiledCalendar, until: number): number {
  if (clock.startedAt === null || clock.pauses.length === 0) return 0;
  return businessElapsed(cal, clock.startedAt, until) - runningMs(clock, cal, until);
}

/** The clock as the API shows it at `now`. */
export function viewClock(clock: ClockRecord | undefined, cal: CompiledCalendar, now: number): ClockView {
  if (!clock?.target) {
    return { dueAt: null, metAt: null, pausedSeconds: 0, remainingBusinessSeconds: null, state: "none" };
  }
  const due = dueAt(clock, cal);
  const end = clock.metAt ?? clock.stoppedAt ?? now;
  const finiteDue = due !== null && Number.isFinite(due) ? due : null;
  const pausedSeconds = Math.round(pausedMs(clock, cal, end) / 1000);
  let remaining: number | null = null;
  if (clock.startedAt !== null && finiteDue !== null) {
    remaining = Math.max(
      0,
      Math.round((runningMs(clock, cal, finiteDue) - runningMs(clock, cal, end)) / 1000),
    );
  } else if (clock.startedAt !== null && clock.target.minutes !== null) {
    remaining = Math.max(
      0,
      Math.round((clock.target.minutes * MINUTE_MS - runningMs(clock, cal, end)) / 1000),
    );
  }
  let state: ClockState;
  if (clock.startedAt === null) state = "none";
  else if (clock.metAt !== null)
    state = clock.breachedAt !== null || (finiteDue !== null && clock.metAt > finiteDue) ? "breached" : "met";
  else if (clock.stoppedAt !== null) {
    // Stopped unmet (closed or cancelled): breached only if it ran out before it stopped.
    state =
      clock.breachedAt !== null || (finiteDue !== null && clock.stoppedAt >= finiteDue) ? "breached" : "none";
  } else if (clock.breachedAt !== null || (finiteDue !== null && now >= finiteDue)) state = "breached";
  else if (isPaused(clock)) state = "paused";
  else state = "running";
  return {
    dueAt: finiteDue === null ? null : isoSeconds(finiteDue),
    metAt: clock.metAt === null ? null : isoSeconds(clock.metAt),
    pausedSeconds,
    remainingBusinessSeconds: remaining,
    state,
  };
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the API's instant format for SLA times. */
export function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

export function newClock(name: ClockName, target: ClockTarget | null, startedAt: number | null): ClockRecord {
  return {
    name,
    target,
    startedAt,
    pauses: [],
    metAt: null,
    stoppedAt: null,
    breachedAt: null,
    atRiskRecordedAt: null,
    warningsRecorded: [],
    updateDueRecordedAt: null,
    autoUpdatePostedAt: null,
    cycle: 1,
  };
}
