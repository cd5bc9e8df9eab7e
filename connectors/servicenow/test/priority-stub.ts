import type { Priority } from "../../../schemas/ticket.js";
import type { ServiceNowMappingContext } from "../mapping.js";

// Test stand-in for the translation schemas/priority.ts will provide; not the product table.
const toCanonical: Record<string, Priority> = { "1": "P1", "2": "P2", "3": "P3", "4": "P4", "5": "P4" };
const toImpactUrgency = {
  P1: { impact: "1", urgency: "1" },
  P2: { impact: "1", urgency: "2" },
  P3: { impact: "2", urgency: "2" },
  P4: { impact: "3", urgency: "3" },
} as const;

export const testMappingContext: ServiceNowMappingContext = {
  priority: {
    toCanonical: (priority) => toCanonical[priority] ?? null,
    toImpactUrgency: (priority) => toImpactUrgency[priority],
  },
};
