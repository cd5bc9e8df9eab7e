import { describePriorityTable } from "../../sdk/testing/priority.js";
import { mefSonataPriorityTable, mefSonataSeverityTable } from "../priority.js";

describePriorityTable(mefSonataPriorityTable, {
  inbound: [
    ["critical", "P1", true],
    ["high", "P2", true],
    ["medium", "P3", true],
    ["low", "P4", true],
  ],
  outbound: [
    ["P1", "critical", false],
    ["P2", "high", false],
    ["P3", "medium", false],
    ["P4", "low", false],
  ],
  unknown: ["urgent"],
});

describePriorityTable(mefSonataSeverityTable, {
  inbound: [
    ["extensive", "P1", true],
    ["significant", "P2", true],
    ["moderate", "P3", true],
    ["minor", "P4", true],
  ],
  outbound: [
    ["P1", "extensive", false],
    ["P2", "significant", false],
    ["P3", "moderate", false],
    ["P4", "minor", false],
  ],
});
