import type { PrioritySchemeTable } from "../../schemas/priority.js";

/** MEF 124 `priority`; the connector's priority scheme. */
export const mefSonataPriorityTable: PrioritySchemeTable = {
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
};

/** MEF 124 `severity`, the connector's second scheme. */
export const mefSonataSeverityTable: PrioritySchemeTable = {
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
};
