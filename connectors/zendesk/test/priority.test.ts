import { describePriorityTable } from "../../sdk/testing/priority.js";
import { zendeskPriorityTable } from "../priority.js";

describePriorityTable(zendeskPriorityTable, {
  inbound: [
    ["urgent", "P1", true],
    ["high", "P2", true],
    ["normal", "P3", true],
    ["low", "P4", true],
  ],
  outbound: [
    ["P1", "urgent", false],
    ["P2", "high", false],
    ["P3", "normal", false],
    ["P4", "low", false],
  ],
  unknown: [""],
});
