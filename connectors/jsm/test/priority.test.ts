import { describePriorityTable } from "../../sdk/testing/priority.js";
import { jiraPriorityTable } from "../priority.js";

describePriorityTable(jiraPriorityTable, {
  inbound: [
    ["Highest", "P1", true],
    ["High", "P2", true],
    ["Medium", "P3", true],
    ["Low", "P4", true],
    ["Lowest", "P4", false],
  ],
  outbound: [
    ["P1", "Highest", false],
    ["P2", "High", false],
    ["P3", "Medium", false],
    ["P4", "Low", false],
  ],
  unknown: ["Blocker"],
});
