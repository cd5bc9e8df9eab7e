import { z } from "@hono/zod-openapi";
import { text } from "./common.js";
import {
  builtInPriorityTables,
  builtInSchemeIds,
  serviceNowDefaultPriorityMatrix,
} from "./priority-schemes.js";
import { Priority, priorityLevels } from "./ticket.js";

export { builtInSchemeIds, serviceNowDefaultPriorityMatrix };

/** One external value, its other accepted spellings, and the canonical level it is read as. */
export interface PriorityValue {
  readonly value: string;
  readonly aliases?: readonly string[];
  readonly priority: Priority;
}

/** A translation table as written: inbound values in order, and the value each level goes out as. */
export interface PrioritySchemeTable {
  readonly id: string;
  readonly source: string;
  /** The external field the values travel in, e.g. "priority", "severity", "priority.name". */
  readonly field: string;
  readonly values: readonly PriorityValue[];
  readonly outbound: Readonly<Record<Priority, string>>;
}

/** A table plus, per level, whether canonical -> scheme -> canonical returns the same level. */
export interface PriorityScheme extends PrioritySchemeTable {
  readonly lossless: Readonly<Record<Priority, boolean>>;
}

export type ToCanonicalResult = { priority: Priority; exact: boolean } | { error: string };
export interface FromCanonicalResult {
  value: string;
  lossy: boolean;
}

export const BuiltInSchemeId = z.enum(builtInSchemeIds).openapi("PrioritySchemeId");
export type BuiltInSchemeId = z.infer<typeof BuiltInSchemeId>;

const normalise = (value: string): string => value.trim().replace(/\s+/g, " ").toLowerCase();

const spellings = (entry: PriorityValue): string[] => [entry.value, ...(entry.aliases ?? [])];

function findEntry(values: readonly PriorityValue[], externalValue: string): PriorityValue | undefined {
  const wanted = normalise(externalValue);
  return values.find((entry) => spellings(entry).some((spelling) => normalise(spelling) === wanted));
}

/**
 * Reads an external value (case-insensitive, surrounding and repeated whitespace ignored). `exact` is
 * false when the level goes back out as a different value, e.g. Jira "Lowest" (P4 goes out as "Low").
 * Unknown values are an error, never the nearest guess.
 */
export function toCanonical(scheme: PrioritySchemeTable, externalValue: string | number): ToCanonicalResult {
  const entry = findEntry(scheme.values, String(externalValue));
  if (entry === undefined) {
    const known = scheme.values.map((value) => JSON.stringify(value.value)).join(", ");
    return {
      error: `unknown ${scheme.field} ${JSON.stringify(String(externalValue))} for priority scheme ${scheme.id} (known: ${known})`,
    };
  }
  return {
    priority: entry.priority,
    exact: findEntry(scheme.values, scheme.outbound[entry.priority]) === entry,
  };
}

export function fromCanonical(scheme: PriorityScheme, priority: Priority): FromCanonicalResult {
  return { value: scheme.outbound[priority], lossy: !scheme.lossless[priority] };
}

/** Derives the lossless flags from the table itself, so they cannot drift from the data. */
export function definePriorityScheme(table: PrioritySchemeTable): PriorityScheme {
  const lossless = Object.fromEntries(
    priorityLevels.map((priority) => {
      const back = toCanonical(table, table.outbound[priority]);
      return [priority, "priority" in back && back.priority === priority];
    }),
  ) as Record<Priority, boolean>;
  return { ...table, lossless };
}

export const builtInPrioritySchemes: Record<BuiltInSchemeId, PriorityScheme> = Object.fromEntries(
  builtInSchemeIds.map((id) => [id, definePriorityScheme(builtInPriorityTables[id])]),
) as Record<BuiltInSchemeId, PriorityScheme>;

const externalValue = text().trim().min(1).max(100);

export const PriorityTableOverride = z
  .strictObject({
    inbound: z.array(z.strictObject({ value: externalValue, priority: Priority })).optional(),
    outbound: z
      .strictObject({
        P1: externalValue.optional(),
        P2: externalValue.optional(),
        P3: externalValue.optional(),
        P4: externalValue.optional(),
      })
      .optional(),
  })
  .superRefine((override, ctx) => {
    const seen = new Set<string>();
    override.inbound?.forEach((entry, index) => {
      const key = normalise(entry.value);
      if (seen.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["inbound", index, "value"],
          message: `duplicate inbound value ${JSON.stringify(entry.value)} (values compare case-insensitively)`,
        });
      }
      seen.add(key);
    });
  })
  .openapi("PriorityTableOverride", {
    description:
      "Per-tenant or per-connection changes to a priority scheme. An inbound entry re-maps the base value it matches (with all its spellings) or adds a new one; outbound entries replace the value a level is sent as.",
  });
export type PriorityTableOverride = z.infer<typeof PriorityTableOverride>;

/**
 * Applies an override to a scheme and re-derives the lossless flags. An outbound value the table cannot
 * read back is added inbound as that level: the operator said that level goes out as that value, and every
 * value we send must be one we can read when the other side echoes it.
 */
export function resolveScheme(base: PrioritySchemeTable, override?: PriorityTableOverride): PriorityScheme {
  if (override === undefined) return definePriorityScheme(base);
  const values: PriorityValue[] = [...base.values];
  for (const entry of override.inbound ?? []) {
    const matched = findEntry(values, entry.value);
    if (matched === undefined) values.push({ value: entry.value, priority: entry.priority });
    else values[values.indexOf(matched)] = { ...matched, priority: entry.priority };
  }
  const outbound: Record<Priority, string> = { ...base.outbound };
  for (const priority of priorityLevels) {
    const value = override.outbound?.[priority];
    if (value !== undefined) outbound[priority] = value;
  }
  for (const priority of priorityLevels) {
    if (findEntry(values, outbound[priority]) === undefined)
      values.push({ value: outbound[priority], priority });
  }
  return definePriorityScheme({ ...base, values, outbound });
}

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
  const scheme = options.scheme ?? builtInPrioritySchemes.servicenow;
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
