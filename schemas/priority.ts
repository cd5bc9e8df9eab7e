import { z } from "@hono/zod-openapi";
import { text } from "./common.js";
import { builtInPriorityTables, builtInSchemeIds } from "./priority-schemes.js";
import { Priority, priorityLevels } from "./ticket.js";

/**
 * The seed schemes: priority tables of the provider's own support plans (Ombori levels, ROI, Roxen, ...), not
 * of any vendor. A vendor's table lives with its connector (`connector.priorityScheme`); the gateway's list
 * of every scheme is the seeds plus the registered connectors' tables (src/domain/priority-schemes.ts).
 */
export const seedSchemeIds = builtInSchemeIds;

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

export type SeedSchemeId = (typeof seedSchemeIds)[number];

/** A priority scheme's id. Which ids exist is known only where the connector registry is (the API builds its enum there). */
export const PrioritySchemeId = text().min(1).max(100);

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

export const seedPrioritySchemes: Record<SeedSchemeId, PriorityScheme> = Object.fromEntries(
  seedSchemeIds.map((id) => [id, definePriorityScheme(builtInPriorityTables[id])]),
) as Record<SeedSchemeId, PriorityScheme>;

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
