import { getTableColumns, getTableName, type SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { quotedIdentifier as quote } from "./client.js";

/**
 * A table's whole row in a raw select, for the hot paths' wide reads. Drizzle's select builder rebuilds the
 * statement's text on every call and checks each column against every kind of SQL chunk: for a join of two
 * wide tables that cost more of the gateway's CPU than PostgreSQL spent running the query. Here the select
 * list is built once per table, and each row is mapped as drizzle maps it (each column's `mapFromDriverValue`),
 * so callers get the table's own row type. Columns are qualified by the table's name, as drizzle's conditions
 * (`eq(tickets.id, ...)`) write them, so those conditions still apply.
 */
export interface TableRows<T extends PgTable> {
  /** `"table"."column" as "table.field", ...`: the select list of the whole row. */
  readonly columns: SQL;
  /** The row from a raw result row; undefined without one, or when its primary key is null (an outer join found none). */
  rowOf(raw: Record<string, unknown> | undefined): T["$inferSelect"] | undefined;
}

const cache = new WeakMap<PgTable, TableRows<PgTable>>();

export function tableRows<T extends PgTable>(table: T): TableRows<T> {
  const cached = cache.get(table);
  if (cached) return cached as TableRows<T>;
  const name = getTableName(table);
  const fields = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    column,
    alias: `${name}.${key}`,
  }));
  const primary = fields.find((field) => field.column.primary) ?? fields[0]!;
  const made: TableRows<T> = {
    columns: sql.raw(
      fields.map((f) => `${quote(name)}.${quote(f.column.name)} as ${quote(f.alias)}`).join(", "),
    ),
    rowOf(raw) {
      if (raw?.[primary.alias] === null || raw?.[primary.alias] === undefined) return undefined;
      const row: Record<string, unknown> = {};
      for (const f of fields) {
        const value = raw[f.alias];
        row[f.key] = value === null || value === undefined ? null : f.column.mapFromDriverValue(value);
      }
      return row as T["$inferSelect"];
    },
  };
  cache.set(table, made as TableRows<PgTable>);
  return made;
}
