import type { PrioritySchemeTable } from "./priority.js";

export const builtInSchemeIds = ["ombori-level", "roi", "roxen", "activesoftswitch"] as const;
type SchemeId = (typeof builtInSchemeIds)[number];

/**
 * The shipped translation tables. `values` is the inbound table, most severe first; `outbound` is the
 * value each canonical level is sent as. Losslessness is derived from these, never written down.
 */
export const builtInPriorityTables: Record<SchemeId, PrioritySchemeTable> = {
  "ombori-level": {
    id: "ombori-level",
    source: "seed 004: Ombori support plans, Level 1-4 (Critical, Major, Minor, Cosmetic)",
    field: "level",
    // The seed's tables name each level: "1 Critical", "2 Major", "3 Minor", "4 Cosmetic". The names
    // are read as the level; the level still goes out as its number.
    values: [
      { value: "1", aliases: ["Level 1", "Critical"], priority: "P1" },
      { value: "2", aliases: ["Level 2", "Major"], priority: "P2" },
      { value: "3", aliases: ["Level 3", "Minor"], priority: "P3" },
      { value: "4", aliases: ["Level 4", "Cosmetic"], priority: "P4" },
    ],
    outbound: { P1: "1", P2: "2", P3: "3", P4: "4" },
  },
  roi: {
    id: "roi",
    source: "seed 000: ROI Networks priority levels",
    field: "priority",
    values: [
      { value: "P1 Outage", priority: "P1" },
      { value: "P2 Outage", priority: "P2" },
      { value: "P3", priority: "P3" },
    ],
    // ROI has three levels: Cosmetic goes out as their lowest, "P3", and comes back as P3 (lossy).
    outbound: { P1: "P1 Outage", P2: "P2 Outage", P3: "P3", P4: "P3" },
  },
  roxen: {
    id: "roxen",
    source: "seed 001: Roxen support process",
    field: "priority",
    values: [
      { value: "Critical", priority: "P1" },
      { value: "High", priority: "P2" },
      { value: "Normal", priority: "P3" },
      { value: "Low", priority: "P4" },
    ],
    outbound: { P1: "Critical", P2: "High", P3: "Normal", P4: "Low" },
  },
  activesoftswitch: {
    id: "activesoftswitch",
    source: "seed 002: Active SoftSwitch priority structure",
    field: "priority",
    values: [
      { value: "Immediate", aliases: ["Immediate Response"], priority: "P1" },
      { value: "Priority", aliases: ["Priority Response"], priority: "P2" },
      { value: "Low", aliases: ["Low Priority", "Low Priority Response"], priority: "P3" },
    ],
    // Three categories: Cosmetic goes out as "Low", which reads back as P3 (lossy).
    outbound: { P1: "Immediate", P2: "Priority", P3: "Low", P4: "Low" },
  },
};
