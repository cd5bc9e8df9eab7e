import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Plan, type PlanCatalog, type PlanTargets } from "../../schemas/plan.js";
import { type Priority, priorityLevels } from "../../schemas/ticket.js";
import { prioritySchemeIds } from "../../src/domain/priority-schemes.js";
import { getPlan, loadPlanCatalog, parsePlanCatalog } from "../../src/sla/catalog.js";

const requiredPlanIds = [
  "ombori-free",
  "ombori-pilot",
  "ombori-production",
  "ombori-enterprise",
  "roi-priority",
  "roi-time-and-materials",
  "roi-block-of-hours",
  "roi-protection-plan",
  "roi-protection-plan-advantage",
  "roi-advanced-replacement",
  "roxen-support",
  "activesoftswitch-lite",
  "activesoftswitch-technical",
  "helpdesk-incidents",
];

type Clock = "response" | "update" | "resolution";
type Target = { minutes: number } | { businessDays: number } | "none";

function targetOf(targets: PlanTargets | undefined, clock: Clock): Target {
  const minutes = targets?.[`${clock}Minutes` as keyof PlanTargets];
  const businessDays =
    clock === "update" ? undefined : targets?.[`${clock}BusinessDays` as keyof PlanTargets];
  if (minutes !== undefined) return { minutes };
  if (businessDays !== undefined) return { businessDays };
  return "none";
}

const h = (hours: number): Target => ({ minutes: hours * 60 });
const min = (minutes: number): Target => ({ minutes });
const days = (businessDays: number): Target => ({ businessDays });

/** plan -> [priority, clock, target]; every clock not listed for a plan must have no target. */
const expectedTargets: Record<string, [Priority, Clock, Target][]> = {
  "ombori-free": [],
  "ombori-pilot": [
    ["P1", "response", h(4)],
    ["P1", "update", h(4)],
    ["P2", "response", h(8)],
    ["P2", "update", h(8)],
    ["P3", "response", h(48)],
    ["P4", "response", days(5)],
  ],
  "ombori-production": [
    ["P1", "response", min(30)],
    ["P1", "update", h(1)],
    ["P2", "response", h(1)],
    ["P2", "update", h(2)],
    ["P3", "response", h(8)],
    ["P4", "response", h(48)],
  ],
  "ombori-enterprise": [
    ["P1", "response", min(30)],
    ["P1", "update", h(1)],
    ["P2", "response", h(1)],
    ["P2", "update", h(2)],
    ["P3", "response", h(8)],
    ["P4", "response", h(48)],
  ],
  "roi-priority": [
    ["P1", "response", h(1)],
    ["P1", "resolution", h(4)],
    ["P2", "response", h(4)],
    ["P2", "resolution", h(24)],
    ["P3", "response", h(8)],
    ["P3", "resolution", days(5)],
    ["P4", "response", h(8)],
    ["P4", "resolution", days(5)],
  ],
  // Each ServiceWorks plan keeps its own response times and gains the Priority Levels' resolution
  // objectives (4 h, 24 h, 5 business days).
  "roi-time-and-materials": [
    ["P1", "response", h(8)],
    ["P1", "resolution", h(4)],
    ["P2", "response", h(24)],
    ["P2", "resolution", h(24)],
    ["P3", "response", h(24)],
    ["P3", "resolution", days(5)],
    ["P4", "response", h(24)],
    ["P4", "resolution", days(5)],
  ],
  "roi-protection-plan": [
    ["P1", "response", h(2)],
    ["P1", "resolution", h(4)],
    ["P2", "response", h(24)],
    ["P2", "resolution", h(24)],
    ["P3", "response", h(24)],
    ["P3", "resolution", days(5)],
    ["P4", "response", h(24)],
    ["P4", "resolution", days(5)],
  ],
  "roi-protection-plan-advantage": [
    ["P1", "response", h(2)],
    ["P1", "resolution", h(4)],
    ["P2", "response", h(2)],
    ["P2", "resolution", h(24)],
    ["P3", "response", h(8)],
    ["P3", "resolution", days(5)],
    ["P4", "response", h(8)],
    ["P4", "resolution", days(5)],
  ],
  // Parts only: no case clocks, only the replacement clock (tested below).
  "roi-advanced-replacement": [],
  "roxen-support": [
    ["P1", "response", min(60)],
    ["P1", "update", h(4)],
    ["P2", "response", h(4)],
    ["P2", "update", h(9)],
    ["P3", "response", days(1)],
  ],
  // "minor technical issues may be resolved within an agreed two-day time frame"
  "activesoftswitch-lite": [
    ["P1", "response", h(1)],
    ["P2", "response", h(8)],
    ["P3", "response", h(48)],
    ["P3", "resolution", days(2)],
    ["P4", "response", h(48)],
    ["P4", "resolution", days(2)],
  ],
  "activesoftswitch-technical": [
    ["P1", "response", h(1)],
    ["P2", "response", h(8)],
    ["P3", "response", h(48)],
    ["P3", "resolution", days(2)],
    ["P4", "response", h(48)],
    ["P4", "resolution", days(2)],
  ],
  "helpdesk-incidents": [
    ["P1", "response", min(30)],
    ["P2", "response", h(2)],
    ["P3", "response", h(2)],
    ["P4", "response", h(2)],
  ],
};

const targetRows = Object.entries(expectedTargets).flatMap(([planId, rows]) =>
  priorityLevels.flatMap((priority) =>
    (["response", "update", "resolution"] as const).map((clock): [string, Priority, Clock, Target] => {
      const row = rows.find(([p, c]) => p === priority && c === clock);
      return [planId, priority, clock, row?.[2] ?? "none"];
    }),
  ),
);

const week = (open: [string, string][]) => ({
  mon: open,
  tue: open,
  wed: open,
  thu: open,
  fri: open,
  sat: open,
  sun: open,
});
const weekdaysOnly = (start: string, end: string) => ({
  ...week([[start, end]]),
  sat: [],
  sun: [],
});

describe("shipped plan catalog (src/sla/plans.yaml)", () => {
  const catalog = loadPlanCatalog();

  it("validates and holds exactly the required presets", () => {
    expect(catalog.plans.map((plan) => plan.id)).toEqual(requiredPlanIds);
  });

  it.each(requiredPlanIds)("%s validates on its own against the Plan schema", (planId) => {
    const result = Plan.safeParse(getPlan(catalog, planId));
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
  });

  it.each(targetRows)("%s %s %s -> %j", (planId, priority, clock, expected) => {
    const plan = getPlan(catalog, planId);
    expect(plan, planId).toBeDefined();
    expect(targetOf(plan?.targets[priority], clock)).toEqual(expected);
  });

  it.each([
    ["ombori-free", "Europe/Stockholm", weekdaysOnly("08:00", "17:00"), false],
    ["ombori-pilot", "Europe/Stockholm", weekdaysOnly("08:00", "18:00"), true],
    ["ombori-production", "Europe/Stockholm", week([["08:00", "21:00"]]), true],
    ["ombori-enterprise", "Europe/Stockholm", week([["00:00", "24:00"]]), false],
    ["roi-priority", "America/Los_Angeles", weekdaysOnly("08:00", "17:00"), false],
    ["roi-time-and-materials", "America/Los_Angeles", weekdaysOnly("08:00", "17:00"), false],
    ["roi-protection-plan", "America/Los_Angeles", weekdaysOnly("08:00", "17:00"), false],
    ["roi-protection-plan-advantage", "America/Los_Angeles", week([["00:00", "24:00"]]), false],
    ["roi-advanced-replacement", "America/Los_Angeles", weekdaysOnly("08:00", "17:00"), false],
    ["roxen-support", "Europe/Stockholm", weekdaysOnly("08:00", "17:00"), false],
    ["activesoftswitch-lite", "Europe/London", week([["08:00", "18:00"]]), false],
    ["activesoftswitch-technical", "Europe/London", week([["00:00", "24:00"]]), false],
    ["helpdesk-incidents", "America/New_York", weekdaysOnly("08:00", "17:00"), true],
  ])("%s runs in %s on its published hours", (planId, timezone, hours, timezoneOverridable) => {
    const plan = getPlan(catalog, planId);
    expect(plan?.calendar).toMatchObject({ timezone, hours });
    expect(plan?.timezoneOverridable).toBe(timezoneOverridable);
  });

  it("Ombori plans send status updates until the ticket is closed", () => {
    for (const plan of catalog.plans.filter((p) => p.id.startsWith("ombori-"))) {
      expect(plan.updateUntil, plan.id).toBe("closed");
    }
  });

  it("applies the defaults: clocks pause on pending customer, at risk at 80 %", () => {
    for (const plan of catalog.plans) {
      expect(plan.pauseOnPendingCustomer, plan.id).toBe(true);
      expect(plan.atRiskRatio, plan.id).toBe(0.8);
    }
  });

  it("names only built-in priority schemes", () => {
    for (const plan of catalog.plans) {
      if (plan.priorityScheme !== undefined)
        expect(prioritySchemeIds, plan.id).toContain(plan.priorityScheme);
    }
  });

  it("gives the help desk an appointment clock of 2 business days met by appointment_recorded", () => {
    expect(getPlan(catalog, "helpdesk-incidents")?.extraClocks).toEqual([
      expect.objectContaining({ name: "appointment", targetBusinessDays: 2, metBy: "appointment_recorded" }),
    ]);
  });

  it("gives ROI Advanced Replacement a next-business-day replacement clock, started by the failure", () => {
    expect(getPlan(catalog, "roi-advanced-replacement")?.extraClocks).toEqual([
      expect.objectContaining({
        name: "replacement",
        targetBusinessDays: 1,
        startsOn: "part_failure_recorded",
        metBy: "replacement_shipped",
      }),
    ]);
  });

  it("gives Roxen an activation clock from the response (Critical 0 min, High 1 business day) and Normal as default", () => {
    const roxen = getPlan(catalog, "roxen-support");
    expect(roxen?.defaultPriority).toBe("P3");
    expect(roxen?.extraClocks).toEqual([
      expect.objectContaining({
        name: "activation",
        targets: { P1: { minutes: 0 }, P2: { businessDays: 1 } },
        startsOn: "response_met",
        metBy: "status_in_progress",
      }),
    ]);
  });

  it("names a default priority only on Roxen", () => {
    const withDefault = catalog.plans.filter((plan) => plan.defaultPriority !== undefined).map((p) => p.id);
    expect(withDefault).toEqual(["roxen-support"]);
  });

  it("gives Active SoftSwitch Technical two escalation steps, Account Manager then Technical Director", () => {
    const steps = getPlan(catalog, "activesoftswitch-technical")?.escalations;
    expect(steps?.map((s) => [s.name, s.role])).toEqual([
      ["account-manager", "Account Manager"],
      ["technical-director", "Technical Director"],
    ]);
    expect(steps?.[0]?.after).toEqual({
      P1: { minutes: 120 },
      P2: { minutes: 960 },
      P3: { businessDays: 2 },
      P4: { businessDays: 2 },
    });
    expect(steps?.[1]?.after).toEqual({
      P1: { minutes: 240 },
      P2: { minutes: 1920 },
      P3: { businessDays: 4 },
      P4: { businessDays: 4 },
    });
    expect(catalog.plans.filter((p) => p.escalations).map((p) => p.id)).toEqual([
      "activesoftswitch-technical",
    ]);
  });

  it.each([
    [
      "an extra clock with both one target and per-priority targets",
      {
        extraClocks: [
          { name: "x", description: "x", metBy: "e", targetMinutes: 5, targets: { P1: { minutes: 1 } } },
        ],
      },
      "extraClocks.0.targetMinutes",
    ],
    [
      "a per-priority target with both minutes and business days",
      {
        extraClocks: [
          { name: "x", description: "x", metBy: "e", targets: { P1: { minutes: 1, businessDays: 1 } } },
        ],
      },
      "extraClocks.0.targets.P1.minutes",
    ],
    [
      "an escalation step with zero business days",
      { escalations: [{ name: "a", role: "AM", after: { P1: { businessDays: 0 } } }] },
      "escalations.0.after.P1.businessDays",
    ],
    [
      "two escalation steps with one name",
      {
        escalations: [
          { name: "a", role: "AM", after: { P1: { minutes: 1 } } },
          { name: "a", role: "TD", after: { P1: { minutes: 2 } } },
        ],
      },
      "escalations.1.name",
    ],
    ["a default priority that is not canonical", { defaultPriority: "Normal" }, "defaultPriority"],
  ])("rejects %s", (_label, extra, path) => {
    const base = getPlan(catalog, "helpdesk-incidents")!;
    const { extraClocks: _drop, ...rest } = base;
    const result = Plan.safeParse({ ...rest, ...extra });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain(path);
  });

  it("getPlan answers undefined for an unknown id", () => {
    expect(getPlan(catalog, "no-such-plan")).toBeUndefined();
  });
});

describe("loadPlanCatalog with an extra file", () => {
  const directory = mkdtempSync(join(tmpdir(), "plan-catalog-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const writeExtra = (name: string, content: string): string => {
    const file = join(directory, name);
    writeFileSync(file, content);
    return file;
  };

  it("adds a plan from YAML after the presets", () => {
    const extraFile = writeExtra(
      "extra.yaml",
      `plans:
  - id: acme-gold
    name: Acme Gold
    calendar:
      timezone: Europe/Berlin
      hours: { mon: [["09:00", "17:00"]], tue: [["09:00", "17:00"]] }
    timezoneOverridable: false
    updateUntil: resolved
    targets:
      P1: { responseMinutes: 15, resolutionBusinessDays: 1 }
`,
    );
    const catalog = loadPlanCatalog({ extraFile });
    expect(catalog.plans.map((plan) => plan.id)).toEqual([...requiredPlanIds, "acme-gold"]);
    expect(getPlan(catalog, "acme-gold")).toMatchObject({
      pauseOnPendingCustomer: true,
      atRiskRatio: 0.8,
      targets: { P1: { responseMinutes: 15, resolutionBusinessDays: 1 } },
    });
  });

  it("replaces a preset by id from JSON, keeping its place", () => {
    const replacement: PlanCatalog = {
      plans: [
        {
          id: "roxen-support",
          name: "Roxen Support (24/7 contract)",
          calendar: { timezone: "Europe/Stockholm", hours: week([["00:00", "24:00"]]) },
          timezoneOverridable: false,
          pauseOnPendingCustomer: false,
          atRiskRatio: 0.5,
          warningRatios: [0.25],
          updateDueWarningMinutes: 30,
          updateUntil: "closed",
          priorityScheme: "roxen",
          targets: { P1: { responseMinutes: 30 } },
        },
      ],
    };
    const catalog = loadPlanCatalog({ extraFile: writeExtra("extra.json", JSON.stringify(replacement)) });
    expect(catalog.plans.map((plan) => plan.id)).toEqual(requiredPlanIds);
    expect(getPlan(catalog, "roxen-support")).toEqual(replacement.plans[0]);
  });

  it("fails listing the path of every issue in a bad file, duplicate ids included", () => {
    const extraFile = writeExtra(
      "bad.yaml",
      `plans:
  - id: Bad_Id
    name: Broken
    calendar:
      timezone: Mars/Olympus
      hours: { mon: [["08:00", "25:00"]] }
    timezoneOverridable: maybe
    updateUntil: resolved
    targets:
      P1: { responseMinutes: 30, responseBusinessDays: 1 }
      P5: { responseMinutes: 30 }
  - id: ok-plan
    name: Fine
    calendar: { timezone: UTC, hours: { mon: [["08:00", "17:00"]] } }
    timezoneOverridable: false
    updateUntil: resolved
    targets: {}
    extraClocks:
      - { name: visit, description: On site, metBy: visit_done }
  - id: ok-plan
    name: Twice
    calendar: { timezone: UTC, hours: { mon: [["08:00", "17:00"]] } }
    timezoneOverridable: false
    updateUntil: resolved
    targets: {}
`,
    );
    let message = "";
    try {
      loadPlanCatalog({ extraFile });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(extraFile);
    for (const path of [
      "plans.0.id",
      "plans.0.calendar.timezone",
      "plans.0.calendar.hours.mon.0.1",
      "plans.0.timezoneOverridable",
      "plans.0.targets.P1.responseBusinessDays",
      "plans.0.targets",
      "plans.1.extraClocks.0.targetMinutes",
      "plans.2.id",
    ]) {
      expect(message, message).toContain(`- ${path}: `);
    }
    expect(message).toMatch(/P5/);
  });

  it("reports duplicate plan ids with their path", () => {
    expect(() =>
      parsePlanCatalog(
        JSON.stringify({
          plans: [0, 1].map(() => ({
            id: "twin",
            name: "Twin",
            calendar: { timezone: "UTC", hours: { mon: [["08:00", "17:00"]] } },
            timezoneOverridable: false,
            updateUntil: "resolved",
            targets: {},
          })),
        }),
        "twins.json",
      ),
    ).toThrow(/plans\.1\.id: Duplicate plan id twin/);
  });

  it("fails on a YAML syntax error naming the file", () => {
    const extraFile = writeExtra("syntax.yaml", "plans: [\n  - id: x\n");
    expect(() => loadPlanCatalog({ extraFile })).toThrow(extraFile);
  });

  it("fails on a JSON syntax error naming the file", () => {
    const extraFile = writeExtra("syntax.json", "{plans: []}");
    expect(() => loadPlanCatalog({ extraFile })).toThrow(extraFile);
  });
});
