import { describePriorityTable } from "../../sdk/testing/priority.js";
import { tmf621PriorityTable } from "../priority.js";

describePriorityTable(tmf621PriorityTable, {
  inbound: [
    ["Critical", "P1", true],
    ["High", "P2", true],
    ["Medium", "P3", true],
    ["Low", "P4", true],
  ],
  outbound: [
    ["P1", "Critical", false],
    ["P2", "High", false],
    ["P3", "Medium", false],
    ["P4", "Low", false],
  ],
});
