import {
  builtInPrioritySchemes,
  chooseServiceNowImpactUrgency,
  PriorityTableOverride,
  resolveScheme,
  type ServiceNowPriorityMatrix,
  toCanonical,
} from "../../schemas/priority.js";
import type { ServiceNowSettings } from "./config.js";
import type { ImpactUrgencyValue, ServiceNowMappingContext } from "./mapping.js";

/**
 * Wires the shared priority tables into the connector: inbound reads the record's own `priority`
 * (what the client's lookup rules computed); outbound writes the impact/urgency pair that, on the
 * connection's matrix (ServiceNow's default unless overridden), yields the same priority.
 */
export function serviceNowMappingContext(
  settings: ServiceNowSettings & { priorityOverride?: PriorityTableOverride },
): ServiceNowMappingContext {
  const scheme = resolveScheme(builtInPrioritySchemes.servicenow, settings.priorityOverride);
  const matrix: ServiceNowPriorityMatrix | undefined = settings.impactUrgencyMatrix?.flatMap(
    (row, impactIndex) =>
      row.map((priority, urgencyIndex) => ({
        impact: impactIndex + 1,
        urgency: urgencyIndex + 1,
        priority: Number(priority),
      })),
  );
  // The choice depends only on the priority and the connection's matrix: compute each once.
  const chosen = new Map<string, { impact: ImpactUrgencyValue; urgency: ImpactUrgencyValue }>();
  return {
    priority: {
      toCanonical(priority) {
        const result = toCanonical(scheme, priority);
        return "priority" in result ? result.priority : null;
      },
      toImpactUrgency(priority) {
        const cached = chosen.get(priority);
        if (cached) return cached;
        const choice = chooseServiceNowImpactUrgency(priority, { scheme, ...(matrix ? { matrix } : {}) });
        // Only a matrix without 1-3 values could fail here; fall back to the baseline's middle.
        const pair: { impact: ImpactUrgencyValue; urgency: ImpactUrgencyValue } =
          "error" in choice
            ? { impact: "2", urgency: "2" }
            : {
                impact: String(choice.impact) as ImpactUrgencyValue,
                urgency: String(choice.urgency) as ImpactUrgencyValue,
              };
        chosen.set(priority, pair);
        return pair;
      },
    },
  };
}

export { PriorityTableOverride };
