import type { PrioritySchemeTable } from "../../schemas/priority.js";

/** TMF621 `priority`; the connector's priority scheme, overridden per connection by `priorityTable`. */
export const tmf621PriorityTable: PrioritySchemeTable = {
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
};
