import type { z } from "zod";
import type { CalendarInput } from "../../schemas/calendar.js";
import type { Plan, PlanCatalog } from "../../schemas/plan.js";
import type { SlaPreviewRequest, SlaTargetsInput } from "../../schemas/sla.js";
import { GatewayError } from "../errors.js";
import { addBusinessDays, addBusinessDuration, compileCalendar, type Pause } from "../sla/business-time.js";
import { isoSeconds, targetsFor } from "../sla/clocks.js";
import { findPlan } from "./sla.js";

type PreviewRequest = z.infer<typeof SlaPreviewRequest>;
type Targets = z.infer<typeof SlaTargetsInput>;

const MINUTE_MS = 60_000;

function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Due times for a ticket opened at `openedAt`, on a plan or on an explicit calendar. Pure. */
export function previewSla(catalog: PlanCatalog, request: PreviewRequest) {
  let calendarInput: CalendarInput;
  let targets: Targets;
  if ("plan" in request) {
    const plan: Plan | undefined = findPlan(catalog, request.plan);
    if (!plan) throw new GatewayError("NOT_FOUND", `Plan ${request.plan} is not in the plan catalog.`);
    if (request.timezone !== undefined && !isValidZone(request.timezone)) {
      throw new GatewayError("VALIDATION_FAILED", "Unknown time zone.", {
        errors: [{ path: "timezone", message: "must be an IANA time zone such as Europe/Stockholm" }],
      });
    }
    calendarInput = { ...plan.calendar, timezone: request.timezone ?? plan.calendar.timezone };
    targets = targetsFor(plan, request.priority);
  } else {
    calendarInput = request.calendar;
    targets = request.targets;
  }
  const cal = compileCalendar(calendarInput);
  const opened = Date.parse(request.openedAt);
  const pauses: Pause[] = (request.pauses ?? []).map((p) => ({
    from: Date.parse(p.from),
    to: Date.parse(p.to),
  }));
  const due = (minutes: number | undefined, days: number | undefined, from: number): number | null => {
    if (days !== undefined) return addBusinessDays(cal, from, days, pauses);
    if (minutes !== undefined) return addBusinessDuration(cal, from, minutes * MINUTE_MS, pauses);
    return null;
  };
  const responseDue = due(targets.responseMinutes, targets.responseBusinessDays, opened);
  const firstUpdateDue =
    targets.updateMinutes !== undefined ? due(targets.updateMinutes, undefined, responseDue ?? opened) : null;
  const resolutionDue = due(targets.resolutionMinutes, targets.resolutionBusinessDays, opened);
  const format = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? null : isoSeconds(ms));
  return {
    responseDueAt: format(responseDue),
    firstUpdateDueAt: format(firstUpdateDue),
    resolutionDueAt: format(resolutionDue),
    calendar: {
      timezone: calendarInput.timezone,
      hours: Object.fromEntries(
        Object.entries(calendarInput.hours).filter(([, v]) => v !== undefined),
      ) as Record<string, [string, string][]>,
      holidays: calendarInput.holidays ?? [],
    },
    targets,
  };
}
