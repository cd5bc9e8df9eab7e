import { describe, expect, it } from "vitest";
import {
  definePriorityScheme,
  fromCanonical,
  type PrioritySchemeTable,
  toCanonical,
} from "../../../schemas/priority.js";
import { type Priority, priorityLevels } from "../../../schemas/ticket.js";

/** The rows a connector's priority test gives for its table (see {@link describePriorityTable}). */
export interface PriorityTableRows {
  /** A vendor value (any spelling) -> the canonical level it reads as, and whether it goes back out unchanged. */
  inbound: readonly (readonly [external: string, priority: Priority, exact: boolean])[];
  /** Each canonical level -> the value sent, and whether reading it back yields another level. */
  outbound: readonly (readonly [priority: Priority, value: string, lossy: boolean])[];
  /** Values that must be refused, not guessed. */
  unknown?: readonly string[];
}

const normalise = (value: string): string => value.trim().replace(/\s+/g, " ").toLowerCase();

/**
 * Table-driven tests of a connector's priority table, kept in the connector's folder
 * (`connectors/<type>/test/priority.test.ts`): every row read and written, every table value covered by a row,
 * one outbound row per level, no spelling listed twice, unknown values refused.
 */
export function describePriorityTable(table: PrioritySchemeTable, rows: PriorityTableRows): void {
  const scheme = definePriorityScheme(table);
  describe(`priority scheme ${table.id}`, () => {
    it.each(rows.inbound.map((row) => [...row]))("reads %j as %s (exact %s)", (external, priority, exact) => {
      expect(toCanonical(scheme, external)).toEqual({ priority, exact });
    });
    it.each(rows.outbound.map((row) => [...row]))("writes %s as %j (lossy %s)", (priority, value, lossy) => {
      expect(fromCanonical(scheme, priority)).toEqual({ value, lossy });
    });
    it("the rows cover every value of the table and every level", () => {
      const covered = new Set(rows.inbound.map(([value]) => normalise(value)));
      for (const entry of table.values) expect(covered, entry.value).toContain(normalise(entry.value));
      expect(rows.outbound.map(([priority]) => priority).sort()).toEqual([...priorityLevels]);
    });
    it("lists no spelling twice", () => {
      const spellings = table.values
        .flatMap((entry) => [entry.value, ...(entry.aliases ?? [])])
        .map(normalise);
      expect(new Set(spellings).size, JSON.stringify(spellings)).toBe(spellings.length);
    });
    it.each([...(rows.unknown ?? [])])("refuses the unknown value %j", (external) => {
      expect(toCanonical(scheme, external)).toEqual({ error: expect.stringContaining(table.id) });
    });
  });
}
