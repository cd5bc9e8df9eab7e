import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BuiltInSchemeId,
  builtInPrioritySchemes,
  builtInSchemeIds,
  chooseServiceNowImpactUrgency,
  fromCanonical,
  PriorityTableOverride,
  resolveScheme,
  ServiceNowPriorityMatrix,
  serviceNowDefaultPriorityMatrix,
  toCanonical,
} from "../../schemas/priority.js";
import { type Priority, priorityLevels } from "../../schemas/ticket.js";

const normalise = (value: string): string => value.trim().replace(/\s+/g, " ").toLowerCase();

type InboundRow = [scheme: BuiltInSchemeId, external: string, priority: Priority, exact: boolean];
type OutboundRow = [scheme: BuiltInSchemeId, priority: Priority, value: string, lossy: boolean];

const inboundRows: InboundRow[] = [
  ["ombori-level", "1", "P1", true],
  ["ombori-level", "2", "P2", true],
  ["ombori-level", "3", "P3", true],
  ["ombori-level", "4", "P4", true],
  ["ombori-level", "Level 1", "P1", true],
  ["ombori-level", "level 2", "P2", true],
  ["ombori-level", "  LEVEL   3 ", "P3", true],
  ["ombori-level", "Level 4", "P4", true],
  ["roi", "P1 Outage", "P1", true],
  ["roi", "p2 outage", "P2", true],
  ["roi", "P3", "P3", true],
  ["roxen", "Critical", "P1", true],
  ["roxen", "High", "P2", true],
  ["roxen", "normal", "P3", true],
  ["roxen", "LOW", "P4", true],
  ["activesoftswitch", "Immediate", "P1", true],
  ["activesoftswitch", "Priority", "P2", true],
  ["activesoftswitch", "Low", "P3", true],
  ["activesoftswitch", "Immediate Response", "P1", true],
  ["activesoftswitch", "Low Priority Response", "P3", true],
  ["zendesk", "urgent", "P1", true],
  ["zendesk", "high", "P2", true],
  ["zendesk", "normal", "P3", true],
  ["zendesk", "low", "P4", true],
  ["jira", "Highest", "P1", true],
  ["jira", "High", "P2", true],
  ["jira", "Medium", "P3", true],
  ["jira", "Low", "P4", true],
  ["jira", "Lowest", "P4", false],
  ["servicenow", "1", "P1", true],
  ["servicenow", "2", "P2", true],
  ["servicenow", "3", "P3", true],
  ["servicenow", "4", "P4", true],
  ["servicenow", "5", "P4", false],
  ["servicenow", "3 - Moderate", "P3", true],
  ["servicenow", "5 - Planning", "P4", false],
  ["tmf621-default", "Critical", "P1", true],
  ["tmf621-default", "High", "P2", true],
  ["tmf621-default", "Medium", "P3", true],
  ["tmf621-default", "Low", "P4", true],
  ["mef-sonata", "critical", "P1", true],
  ["mef-sonata", "high", "P2", true],
  ["mef-sonata", "medium", "P3", true],
  ["mef-sonata", "low", "P4", true],
  ["mef-sonata-severity", "extensive", "P1", true],
  ["mef-sonata-severity", "significant", "P2", true],
  ["mef-sonata-severity", "moderate", "P3", true],
  ["mef-sonata-severity", "minor", "P4", true],
];

const outboundRows: OutboundRow[] = [
  ["ombori-level", "P1", "1", false],
  ["ombori-level", "P2", "2", false],
  ["ombori-level", "P3", "3", false],
  ["ombori-level", "P4", "4", false],
  ["roi", "P1", "P1 Outage", false],
  ["roi", "P2", "P2 Outage", false],
  ["roi", "P3", "P3", false],
  ["roi", "P4", "P3", true],
  ["roxen", "P1", "Critical", false],
  ["roxen", "P2", "High", false],
  ["roxen", "P3", "Normal", false],
  ["roxen", "P4", "Low", false],
  ["activesoftswitch", "P1", "Immediate", false],
  ["activesoftswitch", "P2", "Priority", false],
  ["activesoftswitch", "P3", "Low", false],
  ["activesoftswitch", "P4", "Low", true],
  ["zendesk", "P1", "urgent", false],
  ["zendesk", "P2", "high", false],
  ["zendesk", "P3", "normal", false],
  ["zendesk", "P4", "low", false],
  ["jira", "P1", "Highest", false],
  ["jira", "P2", "High", false],
  ["jira", "P3", "Medium", false],
  ["jira", "P4", "Low", false],
  ["servicenow", "P1", "1", false],
  ["servicenow", "P2", "2", false],
  ["servicenow", "P3", "3", false],
  ["servicenow", "P4", "4", false],
  ["tmf621-default", "P1", "Critical", false],
  ["tmf621-default", "P2", "High", false],
  ["tmf621-default", "P3", "Medium", false],
  ["tmf621-default", "P4", "Low", false],
  ["mef-sonata", "P1", "critical", false],
  ["mef-sonata", "P2", "high", false],
  ["mef-sonata", "P3", "medium", false],
  ["mef-sonata", "P4", "low", false],
  ["mef-sonata-severity", "P1", "extensive", false],
  ["mef-sonata-severity", "P2", "significant", false],
  ["mef-sonata-severity", "P3", "moderate", false],
  ["mef-sonata-severity", "P4", "minor", false],
];

describe("builtInPrioritySchemes", () => {
  it("has one scheme per built-in id, keyed by its own id", () => {
    expect(Object.keys(builtInPrioritySchemes).sort()).toEqual([...builtInSchemeIds].sort());
    for (const id of builtInSchemeIds) expect(builtInPrioritySchemes[id].id).toBe(id);
  });

  it.each(builtInSchemeIds)("%s: no spelling is listed twice", (id) => {
    const spellings = builtInPrioritySchemes[id].values.flatMap((entry) => [
      entry.value,
      ...(entry.aliases ?? []),
    ]);
    const normalised = spellings.map(normalise);
    expect(new Set(normalised).size, JSON.stringify(spellings)).toBe(normalised.length);
  });

  it("the inbound and outbound tables are covered by the test tables", () => {
    for (const id of builtInSchemeIds) {
      const scheme = builtInPrioritySchemes[id];
      const inboundCovered = new Set(
        inboundRows.filter(([s]) => s === id).map(([, value]) => normalise(value)),
      );
      for (const entry of scheme.values) {
        expect(inboundCovered, `${id} ${entry.value}`).toContain(normalise(entry.value));
      }
      expect(outboundRows.filter(([s]) => s === id)).toHaveLength(priorityLevels.length);
    }
  });
});

describe("toCanonical", () => {
  it.each(inboundRows)("%s: %j -> %s (exact %s)", (id, external, priority, exact) => {
    expect(toCanonical(builtInPrioritySchemes[id], external)).toEqual({ priority, exact });
  });

  it("accepts a number where the scheme's values are digits", () => {
    expect(toCanonical(builtInPrioritySchemes.servicenow, 2)).toEqual({ priority: "P2", exact: true });
  });

  it.each([
    ["roi", "P4"],
    ["roi", "Outage"],
    ["jira", "Blocker"],
    ["zendesk", ""],
    ["servicenow", "6"],
    ["ombori-level", "Level 5"],
    ["mef-sonata", "urgent"],
  ] as [BuiltInSchemeId, string][])("%s: unknown value %j is an error, not a guess", (id, external) => {
    const result = toCanonical(builtInPrioritySchemes[id], external);
    expect(result).toEqual({ error: expect.stringContaining(id) });
  });
});

describe("fromCanonical", () => {
  it.each(outboundRows)("%s: %s -> %j (lossy %s)", (id, priority, value, lossy) => {
    expect(fromCanonical(builtInPrioritySchemes[id], priority)).toEqual({ value, lossy });
  });

  it("P4 -> Active SoftSwitch Low -> P3 is lossy", () => {
    const scheme = builtInPrioritySchemes.activesoftswitch;
    const out = fromCanonical(scheme, "P4");
    expect(out).toEqual({ value: "Low", lossy: true });
    expect(toCanonical(scheme, out.value)).toEqual({ priority: "P3", exact: true });
  });

  it("Jira P4 -> Low -> P4 is lossless although Lowest also reads as P4", () => {
    const scheme = builtInPrioritySchemes.jira;
    expect(scheme.lossless.P4).toBe(true);
    expect(toCanonical(scheme, fromCanonical(scheme, "P4").value)).toEqual({ priority: "P4", exact: true });
    expect(toCanonical(scheme, "Lowest")).toEqual({ priority: "P4", exact: false });
  });
});

describe("resolveScheme", () => {
  it("without an override is the base scheme", () => {
    expect(resolveScheme(builtInPrioritySchemes.jira)).toEqual(builtInPrioritySchemes.jira);
  });

  it("adds a carrier's own vocabulary on top of the TMF621 default", () => {
    const override = PriorityTableOverride.parse({
      inbound: [
        { value: "Sev1", priority: "P1" },
        { value: "Sev2", priority: "P2" },
        { value: "Sev3", priority: "P3" },
      ],
      outbound: { P1: "Sev1", P2: "Sev2", P3: "Sev3", P4: "Sev3" },
    });
    const scheme = resolveScheme(builtInPrioritySchemes["tmf621-default"], override);
    expect(fromCanonical(scheme, "P1")).toEqual({ value: "Sev1", lossy: false });
    expect(fromCanonical(scheme, "P4")).toEqual({ value: "Sev3", lossy: true });
    expect(toCanonical(scheme, "sev2")).toEqual({ priority: "P2", exact: true });
    expect(toCanonical(scheme, "Critical")).toEqual({ priority: "P1", exact: false });
    expect(scheme.lossless).toEqual({ P1: true, P2: true, P3: true, P4: false });
  });

  it("re-maps a base value with all its spellings, keeping its place", () => {
    const scheme = resolveScheme(builtInPrioritySchemes["ombori-level"], {
      inbound: [{ value: "level 4", priority: "P3" }],
    });
    expect(scheme.values.map((entry) => entry.value)).toEqual(["1", "2", "3", "4"]);
    expect(toCanonical(scheme, "4")).toEqual({ priority: "P3", exact: false });
    expect(scheme.lossless.P4).toBe(false);
  });

  it("makes Active SoftSwitch P4 lossless when the tenant has a fourth value", () => {
    const scheme = resolveScheme(builtInPrioritySchemes.activesoftswitch, {
      inbound: [{ value: "Cosmetic", priority: "P4" }],
      outbound: { P4: "Cosmetic" },
    });
    expect(fromCanonical(scheme, "P4")).toEqual({ value: "Cosmetic", lossy: false });
  });

  it("reads back an outbound value the operator gave no inbound entry for", () => {
    const scheme = resolveScheme(builtInPrioritySchemes.zendesk, { outbound: { P1: "critical" } });
    expect(toCanonical(scheme, "critical")).toEqual({ priority: "P1", exact: true });
    expect(toCanonical(scheme, "urgent")).toEqual({ priority: "P1", exact: false });
    expect(scheme.lossless.P1).toBe(true);
  });

  it("marks a level lossy when the outbound value already means another level", () => {
    const scheme = resolveScheme(builtInPrioritySchemes.roxen, { outbound: { P2: "Critical" } });
    expect(fromCanonical(scheme, "P2")).toEqual({ value: "Critical", lossy: true });
  });
});

describe("PriorityTableOverride", () => {
  it.each([
    ["unknown key", { inbound: [], extra: true }],
    ["unknown level", { inbound: [{ value: "x", priority: "P5" }] }],
    ["blank value", { inbound: [{ value: "  ", priority: "P1" }] }],
    ["unknown outbound level", { outbound: { P0: "x" } }],
    ["extra key in an entry", { inbound: [{ value: "x", priority: "P1", note: "" }] }],
    [
      "duplicate values differing only in case",
      {
        inbound: [
          { value: "Sev1", priority: "P1" },
          { value: "SEV1", priority: "P2" },
        ],
      },
    ],
  ])("rejects %s", (_, input) => {
    const result = PriorityTableOverride.safeParse(input);
    expect(result.success, JSON.stringify(input)).toBe(false);
  });

  it("accepts an empty override", () => {
    expect(PriorityTableOverride.parse({})).toEqual({});
  });
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
    const scheme = resolveScheme(builtInPrioritySchemes.servicenow, { outbound: { P4: "5" } });
    expect(chooseServiceNowImpactUrgency("P4", { scheme })).toMatchObject({
      impact: 3,
      urgency: 3,
      lossy: false,
    });
  });

  it("is an error when the scheme sends a non-numeric priority", () => {
    const scheme = resolveScheme(builtInPrioritySchemes.servicenow, { outbound: { P1: "Critical" } });
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

describe("round trip canonical -> scheme -> canonical (property)", () => {
  const token = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ]{0,6}$/);
  const level = fc.constantFrom(...priorityLevels);

  const overrideFor = (id: BuiltInSchemeId) => {
    const knownSpellings = builtInPrioritySchemes[id].values.flatMap((entry) => [
      entry.value,
      ...(entry.aliases ?? []),
    ]);
    const value = fc.oneof(fc.constantFrom(...knownSpellings), token);
    return fc.record(
      {
        inbound: fc.uniqueArray(fc.record({ value, priority: level }), {
          maxLength: 6,
          selector: (entry) => normalise(entry.value),
        }),
        outbound: fc.record({ P1: value, P2: value, P3: value, P4: value }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
  };

  it.each(builtInSchemeIds)("%s: lossless levels come back unchanged, lossy ones do not", (id) => {
    fc.assert(
      fc.property(fc.option(overrideFor(id), { nil: undefined }), (rawOverride) => {
        const override = rawOverride === undefined ? undefined : PriorityTableOverride.parse(rawOverride);
        const scheme = resolveScheme(builtInPrioritySchemes[id], override);
        for (const priority of priorityLevels) {
          const out = fromCanonical(scheme, priority);
          const back = toCanonical(scheme, out.value);
          if (!("priority" in back)) throw new Error(`${out.value} did not read back: ${back.error}`);
          expect(out.lossy).toBe(!scheme.lossless[priority]);
          if (scheme.lossless[priority]) expect(back.priority).toBe(priority);
          else expect(back.priority).not.toBe(priority);
        }
      }),
      { numRuns: 300 },
    );
  });

  it.each(builtInSchemeIds)("%s: reading ignores case and surrounding whitespace", (id) => {
    const scheme = builtInPrioritySchemes[id];
    const spelling = fc.constantFrom(
      ...scheme.values.flatMap((entry) => [entry.value, ...(entry.aliases ?? [])]),
    );
    fc.assert(
      fc.property(spelling, fc.boolean(), fc.constantFrom("", " ", "\t", "  "), (value, upper, pad) => {
        const varied = pad + (upper ? value.toUpperCase() : value.toLowerCase()) + pad;
        expect(toCanonical(scheme, varied)).toEqual(toCanonical(scheme, value));
      }),
    );
  });
});
