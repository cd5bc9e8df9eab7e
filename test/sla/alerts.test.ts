import { describe, expect, it } from "vitest";
import { defaultStatusUpdateTemplate, Plan, SlaAlertSettings } from "../../schemas/plan.js";
import { effectiveAlerts, renderStatusUpdate } from "../../src/sla/alerts.js";
import { compileCalendar } from "../../src/sla/calendar.js";
import { getPlan, loadPlanCatalog } from "../../src/sla/catalog.js";
import { newClock, nextCheckAt, pendingAlerts } from "../../src/sla/clocks.js";

const enterprise = getPlan(loadPlanCatalog(), "ombori-enterprise")!;
const cal = compileCalendar(enterprise.calendar);
const opened = Date.parse("2026-11-23T09:00:00Z");
const minutes = (n: number) => opened + n * 60_000;

describe("effective alert settings", () => {
  const plan = Plan.parse({
    ...enterprise,
    warningRatios: [0.75, 0.5],
    autoStatusUpdate: { enabled: true },
  });

  it("takes the plan's, sorted, with the default lead and template", () => {
    expect(effectiveAlerts(plan, {})).toEqual({
      atRiskRatio: 0.8,
      warningRatios: [0.5, 0.75],
      updateDueLeadMs: 15 * 60_000,
      autoStatusUpdate: { enabled: true, template: defaultStatusUpdateTemplate, meetsUpdateClock: false },
    });
  });

  it("lets the tenant override field by field, including turning the automatic update off", () => {
    const tenant = SlaAlertSettings.parse({
      updateDueWarningMinutes: 5,
      autoStatusUpdate: { enabled: false },
    });
    expect(effectiveAlerts(plan, tenant)).toMatchObject({
      warningRatios: [0.5, 0.75],
      updateDueLeadMs: 5 * 60_000,
      autoStatusUpdate: null,
    });
    expect(effectiveAlerts(enterprise, { warningRatios: [0.6] }).warningRatios).toEqual([0.6]);
  });
});

describe("pending alerts of a clock", () => {
  const alerts = { atRiskRatio: 0.8, warningRatios: [0.5, 0.8], updateDueLeadMs: 10 * 60_000 };

  it("lists warnings, at risk, update due and the due; a ratio equal to at risk is not a second entry", () => {
    const update = newClock("update", { minutes: 60, businessDays: null }, opened);
    expect(pendingAlerts(update, cal, alerts)).toEqual([
      { kind: "warning", ratio: 0.5, at: minutes(30) },
      { kind: "at_risk", at: minutes(48) },
      { kind: "update_due", at: minutes(50) },
      { kind: "due", at: minutes(60) },
    ]);
    expect(nextCheckAt(update, cal, alerts)).toBe(minutes(30));
  });

  it("skips what this cycle recorded, has no update due on other clocks, and nothing while paused", () => {
    const response = newClock("response", { minutes: 60, businessDays: null }, opened);
    response.warningsRecorded = [0.5];
    response.atRiskRecordedAt = minutes(48);
    expect(pendingAlerts(response, cal, alerts)).toEqual([{ kind: "due", at: minutes(60) }]);
    response.pauses = [{ from: minutes(50), to: null }];
    expect(nextCheckAt(response, cal, alerts)).toBeNull();
  });

  it("warns at the cycle's start when the lead is longer than the interval", () => {
    const update = newClock("update", { minutes: 5, businessDays: null }, opened);
    expect(pendingAlerts(update, cal, alerts).find((a) => a.kind === "update_due")?.at).toBe(opened);
  });
});

describe("status update template", () => {
  it("fills every known variable", () => {
    expect(
      renderStatusUpdate("{{ticketId}} {{ title }} {{status}} {{priority}} {{nextUpdateDue}}", {
        ticketId: "tkt_1",
        title: "Router",
        status: "in progress",
        priority: "P2",
        nextUpdateDue: "2026-11-23T10:00:00Z",
      }),
    ).toBe("tkt_1 Router in progress P2 2026-11-23T10:00:00Z");
  });

  it("is refused with an unknown variable, naming it", () => {
    const parsed = SlaAlertSettings.safeParse({
      autoStatusUpdate: { enabled: true, template: "{{customer}}" },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ["autoStatusUpdate", "template"],
      message: expect.stringContaining("unknown variable {{customer}}"),
    });
  });
});
