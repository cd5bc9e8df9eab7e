import { z } from "@hono/zod-openapi";
import {
  definePriorityScheme,
  fromCanonical,
  type PriorityScheme,
  type PrioritySchemeTable,
  PriorityTableOverride,
  resolveScheme,
  toCanonical,
} from "../../schemas/priority.js";
import type { Priority } from "../../schemas/ticket.js";
import type { MappingContextOptions } from "../sdk/index.js";
import type { ServiceNowSettings } from "./config.js";
import type { ImpactUrgencyValue, ServiceNowMappingContext } from "./mapping.js";

export const serviceNowPriorityTable: PrioritySchemeTable = {
  id: "servicenow",
  source: "ServiceNow incident.priority (baseline choices); written via impact x urgency",
  field: "priority",
  values: [
    { value: "1", aliases: ["1 - Critical"], priority: "P1" },
    { value: "2", aliases: ["2 - High"], priority: "P2" },
    { value: "3", aliases: ["3 - Moderate"], priority: "P3" },
    { value: "4", aliases: ["4 - Low"], priority: "P4" },
    // Planning has no canonical level below Cosmetic; read as P4.
    { value: "5", aliases: ["5 - Planning"], priority: "P4" },
  ],
  outbound: { P1: "1", P2: "2", P3: "3", P4: "4" },
};

/** ServiceNow's baseline Priority Lookup Rules (impact 1 High..3 Low, urgency 1 High..3 Low). */
export const serviceNowDefaultPriorityMatrix: ServiceNowPriorityMatrix = [
  { impact: 1, urgency: 1, priority: 1 },
  { impact: 1, urgency: 2, priority: 2 },
  { impact: 1, urgency: 3, priority: 3 },
  { impact: 2, urgency: 1, priority: 2 },
  { impact: 2, urgency: 2, priority: 3 },
  { impact: 2, urgency: 3, priority: 4 },
  { impact: 3, urgency: 1, priority: 3 },
  { impact: 3, urgency: 2, priority: 4 },
  { impact: 3, urgency: 3, priority: 5 },
];

const serviceNowPriorityScheme: PriorityScheme = definePriorityScheme(serviceNowPriorityTable);

const lookupLevel = z.int().min(1).max(9);

/** ServiceNow Priority Lookup Rules: which priority an impact/urgency pair yields. Per-org configurable. */
export const ServiceNowPriorityMatrix = z
  .array(z.strictObject({ impact: lookupLevel, urgency: lookupLevel, priority: lookupLevel }))
  .min(1)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, index) => {
      const key = `${rule.impact}/${rule.urgency}`;
      if (seen.has(key)) {
        ctx.addIssue({ code: "custom", path: [index], message: `duplicate rule for impact/urgency ${key}` });
      }
      seen.add(key);
    });
  })
  .openapi("ServiceNowPriorityMatrix");
export type ServiceNowPriorityMatrix = z.infer<typeof ServiceNowPriorityMatrix>;

export interface ImpactUrgencyChoice {
  impact: number;
  urgency: number;
  /** The ServiceNow priority the scheme sends this canonical level as. */
  targetPriority: number;
  /** The priority ServiceNow will compute from the chosen pair. */
  computedPriority: number;
  /** No pair yields the target, or the scheme itself is lossy for this level. */
  lossy: boolean;
  /** The computed priority reads back as the same canonical level (so an echo does not change it). */
  roundTrips: boolean;
}

/**
 * Picks the impact/urgency pair to write for a canonical priority. Among pairs yielding the target,
 * the most urgent wins (lowest urgency number), then the widest impact: our canonical priority says how
 * fast to act, which is ITIL urgency, while we rarely know the breadth of impact. With no exact pair,
 * prefer a pair whose priority still reads back as the same canonical level, then the nearest priority,
 * then the more urgent one.
 */
export function chooseServiceNowImpactUrgency(
  priority: Priority,
  options: { matrix?: ServiceNowPriorityMatrix; scheme?: PriorityScheme } = {},
): ImpactUrgencyChoice | { error: string } {
  const scheme = options.scheme ?? serviceNowPriorityScheme;
  const matrix = options.matrix ?? serviceNowDefaultPriorityMatrix;
  const outbound = fromCanonical(scheme, priority);
  const targetPriority = Number(outbound.value);
  if (!Number.isInteger(targetPriority)) {
    return {
      error: `scheme ${scheme.id} sends ${priority} as ${JSON.stringify(outbound.value)}, not a number`,
    };
  }
  const readsBack = (computed: number): boolean => {
    const back = toCanonical(scheme, computed);
    return "priority" in back && back.priority === priority;
  };
  const rank = (rule: ServiceNowPriorityMatrix[number]): number[] => [
    rule.priority === targetPriority ? 0 : 1,
    readsBack(rule.priority) ? 0 : 1,
    Math.abs(rule.priority - targetPriority),
    rule.priority,
    rule.urgency,
    rule.impact,
  ];
  const compare = (a: number[], b: number[]): number => {
    const index = a.findIndex((value, i) => value !== b[i]);
    return index === -1 ? 0 : (a[index] ?? 0) - (b[index] ?? 0);
  };
  const [best] = [...matrix].sort((a, b) => compare(rank(a), rank(b)));
  if (best === undefined) return { error: "the ServiceNow priority matrix has no rules" };
  return {
    impact: best.impact,
    urgency: best.urgency,
    targetPriority,
    computedPriority: best.priority,
    lossy: best.priority !== targetPriority || outbound.lossy,
    roundTrips: readsBack(best.priority),
  };
}

/**
 * Wires the shared priority tables into the connector: inbound reads the record's own `priority`
 * (what the client's lookup rules computed); outbound writes the impact/urgency pair that, on the
 * connection's matrix (ServiceNow's default unless overridden), yields the same priority.
 */
export function serviceNowMappingContext(
  settings: ServiceNowSettings & { priorityOverride?: PriorityTableOverride },
  options: MappingContextOptions = {},
): ServiceNowMappingContext {
  const scheme = resolveScheme(
    serviceNowPriorityTable,
    settings.priorityOverride ?? options.tenantPriorityOverride,
  );
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
