import { describe, expect, it } from "vitest";
import { resolveScheme } from "../../../schemas/priority.js";
import type { Priority } from "../../../schemas/ticket.js";
import { describePriorityTable } from "../../sdk/testing/priority.js";
import {
  chooseServiceNowImpactUrgency,
  ServiceNowPriorityMatrix,
  serviceNowDefaultPriorityMatrix,
  serviceNowPriorityTable,
} from "../priority.js";

describePriorityTable(serviceNowPriorityTable, {
  inbound: [
    ["1", "P1", true],
    ["2", "P2", true],
    ["3", "P3", true],
    ["4", "P4", true],
    ["5", "P4", false],
    ["3 - Moderate", "P3", true],
    ["5 - Planning", "P4", false],
  ],
  outbound: [
    ["P1", "1", false],
    ["P2", "2", false],
    ["P3", "3", false],
    ["P4", "4", false],
  ],
  unknown: ["6"],
});

describe("chooseServiceNowImpactUrgency", () => {
  it.each([
    ["P1", 1, 1, 1],
    ["P2", 2, 1, 2],
    ["P3", 3, 1, 3],
    ["P4", 3, 2, 4],
  ] as [Priority, number, number, number][])(
    "default matrix: %s -> impact %i, urgency %i (priority %i)",
    (priority, impact, urgency, computed) => {
      expect(chooseServiceNowImpactUrgency(priority)).toEqual({
        impact,
        urgency,
        targetPriority: computed,
        computedPriority: computed,
        lossy: false,
        roundTrips: true,
      });
    },
  );

  it("the shipped default matrix is ServiceNow's 3x3 baseline and validates", () => {
    expect(ServiceNowPriorityMatrix.parse(serviceNowDefaultPriorityMatrix)).toHaveLength(9);
  });

  // An org whose lookup rules have no priority 4 and put priority 2 only at impact 1 / urgency 2.
  const customMatrix = ServiceNowPriorityMatrix.parse([
    { impact: 1, urgency: 1, priority: 1 },
    { impact: 1, urgency: 2, priority: 2 },
    { impact: 1, urgency: 3, priority: 3 },
    { impact: 2, urgency: 1, priority: 1 },
    { impact: 2, urgency: 2, priority: 3 },
    { impact: 2, urgency: 3, priority: 3 },
    { impact: 3, urgency: 1, priority: 3 },
    { impact: 3, urgency: 2, priority: 5 },
    { impact: 3, urgency: 3, priority: 5 },
  ]);

  it.each([
    ["P1", { impact: 1, urgency: 1, computedPriority: 1, lossy: false, roundTrips: true }],
    ["P2", { impact: 1, urgency: 2, computedPriority: 2, lossy: false, roundTrips: true }],
    ["P3", { impact: 3, urgency: 1, computedPriority: 3, lossy: false, roundTrips: true }],
    // No rule yields 4; 5 (Planning) still reads back as P4, so it wins over the equally near 3.
    ["P4", { impact: 3, urgency: 2, computedPriority: 5, lossy: true, roundTrips: true }],
  ] as [Priority, object][])("overridden matrix: %s -> %j", (priority, expected) => {
    expect(chooseServiceNowImpactUrgency(priority, { matrix: customMatrix })).toMatchObject(expected);
  });

  it("falls back to the nearest, more urgent priority when nothing reads back", () => {
    const matrix = ServiceNowPriorityMatrix.parse([
      { impact: 1, urgency: 1, priority: 1 },
      { impact: 2, urgency: 2, priority: 3 },
    ]);
    expect(chooseServiceNowImpactUrgency("P2", { matrix })).toEqual({
      impact: 1,
      urgency: 1,
      targetPriority: 2,
      computedPriority: 1,
      lossy: true,
      roundTrips: false,
    });
  });

  it("follows an overridden ServiceNow scheme's outbound value", () => {
    const scheme = resolveScheme(serviceNowPriorityTable, { outbound: { P4: "5" } });
    expect(chooseServiceNowImpactUrgency("P4", { scheme })).toMatchObject({
      impact: 3,
      urgency: 3,
      lossy: false,
    });
  });

  it("is an error when the scheme sends a non-numeric priority", () => {
    const scheme = resolveScheme(serviceNowPriorityTable, { outbound: { P1: "Critical" } });
    expect(chooseServiceNowImpactUrgency("P1", { scheme })).toEqual({
      error: expect.stringContaining("Critical"),
    });
  });

  it("rejects a matrix with two rules for one pair", () => {
    const result = ServiceNowPriorityMatrix.safeParse([
      { impact: 1, urgency: 1, priority: 1 },
      { impact: 1, urgency: 1, priority: 2 },
    ]);
    expect(result.success).toBe(false);
  });
});
