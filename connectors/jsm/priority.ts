import type { PrioritySchemeTable } from "../../schemas/priority.js";

/** Jira's default priority scheme; the connector's priority scheme (a site may rename levels: `priorityOverride`). */
export const jiraPriorityTable: PrioritySchemeTable = {
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
};
