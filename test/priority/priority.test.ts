import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { connectors } from "../../connectors/index.js";
import {
  fromCanonical,
  PriorityTableOverride,
  resolveScheme,
  type SeedSchemeId,
  seedPrioritySchemes,
  seedSchemeIds,
  toCanonical,
} from "../../schemas/priority.js";
import { type Priority, priorityLevels } from "../../schemas/ticket.js";
import { prioritySchemeIds, prioritySchemes } from "../../src/domain/priority-schemes.js";

// Rows for the seed schemes (the provider's own plans); each connector's table has its rows in its folder
// (connectors/<type>/test/priority.test.ts). The properties below hold for every scheme the gateway lists.
const schemeById = (id: string) => {
  const found = prioritySchemes[id];
  if (!found) throw new Error(`no priority scheme ${id}`);
  return found;
};

const normalise = (value: string): string => value.trim().replace(/\s+/g, " ").toLowerCase();

type InboundRow = [scheme: SeedSchemeId, external: string, priority: Priority, exact: boolean];
type OutboundRow = [scheme: SeedSchemeId, priority: Priority, value: string, lossy: boolean];

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
];

describe("prioritySchemes", () => {
  it("is the seed schemes plus every registered connector's own tables, keyed by id", () => {
    const fromConnectors = Object.values(connectors).flatMap((connector) => [
      ...(connector.priorityScheme ? [connector.priorityScheme.id] : []),
      ...("otherPrioritySchemes" in connector ? (connector.otherPrioritySchemes ?? []).map((t) => t.id) : []),
    ]);
    expect([...prioritySchemeIds].sort()).toEqual([...seedSchemeIds, ...fromConnectors].sort());
    for (const id of prioritySchemeIds) expect(schemeById(id).id).toBe(id);
  });

  it.each(seedSchemeIds)("%s: no spelling is listed twice", (id) => {
    const spellings = seedPrioritySchemes[id].values.flatMap((entry) => [
      entry.value,
      ...(entry.aliases ?? []),
    ]);
    const normalised = spellings.map(normalise);
    expect(new Set(normalised).size, JSON.stringify(spellings)).toBe(normalised.length);
  });

  it("the inbound and outbound tables are covered by the test tables", () => {
    for (const id of seedSchemeIds) {
      const scheme = seedPrioritySchemes[id];
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
    expect(toCanonical(schemeById(id), external)).toEqual({ priority, exact });
  });

  it("accepts a number where the scheme's values are digits", () => {
    expect(toCanonical(schemeById("servicenow"), 2)).toEqual({ priority: "P2", exact: true });
  });

  it.each([
    ["roi", "P4"],
    ["roi", "Outage"],
    ["ombori-level", "Level 5"],
  ] as [SeedSchemeId, string][])("%s: unknown value %j is an error, not a guess", (id, external) => {
    const result = toCanonical(schemeById(id), external);
    expect(result).toEqual({ error: expect.stringContaining(id) });
  });
});

describe("fromCanonical", () => {
  it.each(outboundRows)("%s: %s -> %j (lossy %s)", (id, priority, value, lossy) => {
    expect(fromCanonical(schemeById(id), priority)).toEqual({ value, lossy });
  });

  it("P4 -> Active SoftSwitch Low -> P3 is lossy", () => {
    const scheme = seedPrioritySchemes.activesoftswitch;
    const out = fromCanonical(scheme, "P4");
    expect(out).toEqual({ value: "Low", lossy: true });
    expect(toCanonical(scheme, out.value)).toEqual({ priority: "P3", exact: true });
  });

  it("Jira P4 -> Low -> P4 is lossless although Lowest also reads as P4", () => {
    const scheme = schemeById("jira");
    expect(scheme.lossless.P4).toBe(true);
    expect(toCanonical(scheme, fromCanonical(scheme, "P4").value)).toEqual({ priority: "P4", exact: true });
    expect(toCanonical(scheme, "Lowest")).toEqual({ priority: "P4", exact: false });
  });
});

describe("resolveScheme", () => {
  it("without an override is the base scheme", () => {
    expect(resolveScheme(schemeById("jira"))).toEqual(schemeById("jira"));
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
    const scheme = resolveScheme(schemeById("tmf621-default"), override);
    expect(fromCanonical(scheme, "P1")).toEqual({ value: "Sev1", lossy: false });
    expect(fromCanonical(scheme, "P4")).toEqual({ value: "Sev3", lossy: true });
    expect(toCanonical(scheme, "sev2")).toEqual({ priority: "P2", exact: true });
    expect(toCanonical(scheme, "Critical")).toEqual({ priority: "P1", exact: false });
    expect(scheme.lossless).toEqual({ P1: true, P2: true, P3: true, P4: false });
  });

  it("re-maps a base value with all its spellings, keeping its place", () => {
    const scheme = resolveScheme(seedPrioritySchemes["ombori-level"], {
      inbound: [{ value: "level 4", priority: "P3" }],
    });
    expect(scheme.values.map((entry) => entry.value)).toEqual(["1", "2", "3", "4"]);
    expect(toCanonical(scheme, "4")).toEqual({ priority: "P3", exact: false });
    expect(scheme.lossless.P4).toBe(false);
  });

  it("makes Active SoftSwitch P4 lossless when the tenant has a fourth value", () => {
    const scheme = resolveScheme(seedPrioritySchemes.activesoftswitch, {
      inbound: [{ value: "Cosmetic", priority: "P4" }],
      outbound: { P4: "Cosmetic" },
    });
    expect(fromCanonical(scheme, "P4")).toEqual({ value: "Cosmetic", lossy: false });
  });

  it("reads back an outbound value the operator gave no inbound entry for", () => {
    const scheme = resolveScheme(schemeById("zendesk"), { outbound: { P1: "critical" } });
    expect(toCanonical(scheme, "critical")).toEqual({ priority: "P1", exact: true });
    expect(toCanonical(scheme, "urgent")).toEqual({ priority: "P1", exact: false });
    expect(scheme.lossless.P1).toBe(true);
  });

  it("marks a level lossy when the outbound value already means another level", () => {
    const scheme = resolveScheme(seedPrioritySchemes.roxen, { outbound: { P2: "Critical" } });
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

describe("round trip canonical -> scheme -> canonical (property)", () => {
  const token = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ]{0,6}$/);
  const level = fc.constantFrom(...priorityLevels);

  const overrideFor = (id: string) => {
    const knownSpellings = schemeById(id).values.flatMap((entry) => [entry.value, ...(entry.aliases ?? [])]);
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

  it.each(prioritySchemeIds)("%s: lossless levels come back unchanged, lossy ones do not", (id) => {
    fc.assert(
      fc.property(fc.option(overrideFor(id), { nil: undefined }), (rawOverride) => {
        const override = rawOverride === undefined ? undefined : PriorityTableOverride.parse(rawOverride);
        const scheme = resolveScheme(schemeById(id), override);
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

  it.each(prioritySchemeIds)("%s: reading ignores case and surrounding whitespace", (id) => {
    const scheme = schemeById(id);
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
