import type { PrioritySchemeTable, ServiceNowPriorityMatrix } from "./priority.js";

export const builtInSchemeIds = [
  "ombori-level",
  "roi",
  "roxen",
  "activesoftswitch",
  "zendesk",
  "jira",
  "servicenow",
  "tmf621-default",
  "mef-sonata",
  "mef-sonata-severity",
] as const;
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
  zendesk: {
    id: "zendesk",
    source: "Zendesk ticket.priority",
    field: "priority",
    values: [
      { value: "urgent", priority: "P1" },
      { value: "high", priority: "P2" },
      { value: "normal", priority: "P3" },
      { value: "low", priority: "P4" },
    ],
    outbound: { P1: "urgent", P2: "high", P3: "normal", P4: "low" },
  },
  jira: {
    id: "jira",
    source: "Jira default priority scheme (fields.priority.name)",
    field: "priority.name",
    values: [
      { value: "Highest", priority: "P1" },
      { value: "High", priority: "P2" },
      { value: "Medium", priority: "P3" },
      { value: "Low", priority: "P4" },
      // Five levels into four: Lowest is read as Cosmetic, which goes out as Low.
      { value: "Lowest", priority: "P4" },
    ],
    outbound: { P1: "Highest", P2: "High", P3: "Medium", P4: "Low" },
  },
  servicenow: {
    id: "servicenow",
    source: "ServiceNow incident.priority (baseline choices); written via impact x urgency",
    field: "priority",
    values: [
      { value: "1", aliases: ["1 - Critical"], priority: "P1" },
      { value: "2", aliases: ["2 - High"], priority: "P2" },
      { value: "3", aliases: ["3 - Moderate"], priority: "P3" },
      { value: "4", aliases: ["4 - Low"], priority: "P4" },
      // Planning has no canonical level below Cosmetic; read as P4.
      { value: "5", aliases: ["5 - Planning"], priority: "P4" },
    ],
    outbound: { P1: "1", P2: "2", P3: "3", P4: "4" },
  },
  "tmf621-default": {
    id: "tmf621-default",
    // TMF621 leaves priority a free string; these are the values its own field description gives as examples.
    source: "TMF621 TroubleTicket.priority example values; carriers override per connection",
    field: "priority",
    values: [
      { value: "Critical", priority: "P1" },
      { value: "High", priority: "P2" },
      { value: "Medium", priority: "P3" },
      { value: "Low", priority: "P4" },
    ],
    outbound: { P1: "Critical", P2: "High", P3: "Medium", P4: "Low" },
  },
  "mef-sonata": {
    id: "mef-sonata",
    source: "MEF 124 TroubleTicketPriorityType (priority / sellerPriority)",
    field: "priority",
    values: [
      { value: "critical", priority: "P1" },
      { value: "high", priority: "P2" },
      { value: "medium", priority: "P3" },
      { value: "low", priority: "P4" },
    ],
    outbound: { P1: "critical", P2: "high", P3: "medium", P4: "low" },
  },
  "mef-sonata-severity": {
    id: "mef-sonata-severity",
    // Mapped by rank: MEF "minor" is the least of four, so it is Cosmetic, not canonical Minor.
    source: "MEF 124 TroubleTicketSeverityType (severity / sellerSeverity)",
    field: "severity",
    values: [
      { value: "extensive", priority: "P1" },
      { value: "significant", priority: "P2" },
      { value: "moderate", priority: "P3" },
      { value: "minor", priority: "P4" },
    ],
    outbound: { P1: "extensive", P2: "significant", P3: "moderate", P4: "minor" },
  },
};

/** ServiceNow's baseline Priority Lookup Rules (impact 1 High..3 Low, urgency 1 High..3 Low). */
export const serviceNowDefaultPriorityMatrix: ServiceNowPriorityMatrix = [
  { impact: 1, urgency: 1, priority: 1 },
  { impact: 1, urgency: 2, priority: 2 },
  { impact: 1, urgency: 3, priority: 3 },
  { impact: 2, urgency: 1, priority: 2 },
  { impact: 2, urgency: 2, priority: 3 },
  { impact: 2, urgency: 3, priority: 4 },
  { impact: 3, urgency: 1, priority: 3 },
  { impact: 3, urgency: 2, priority: 4 },
  { impact: 3, urgency: 3, priority: 5 },
];
