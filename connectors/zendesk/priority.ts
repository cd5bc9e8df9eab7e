import type { PrioritySchemeTable } from "../../schemas/priority.js";

/** Zendesk `ticket.priority`; the connector's {@link Connector.priorityScheme}. */
export const zendeskPriorityTable: PrioritySchemeTable = {
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
};
