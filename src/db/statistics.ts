import { sql } from "drizzle-orm";
import { type Queryable, queryRows } from "./client.js";

/**
 * The tables whose contents swing with the load: the job queue and the inbox. Their lookups by (connection,
 * order key) have a right index and, by the leading column or a partial predicate, wrong ones that read a
 * connection's whole backlog. With statistics from when a table was nearly empty the planner rates them all at
 * one row and takes a wrong one: storing a webhook went from 0.05 ms to 1-8 ms per notice with 8,000 jobs
 * pending, and slowed further as the backlog grew.
 */
export const QUEUE_TABLES = ["jobs", "inbox"] as const;

/** How many rows of a queue table may change before its statistics are refreshed. */
export const ANALYZE_AFTER_CHANGES = 1_000;

/**
 * Analyzes each queue table with at least `minChanges` rows inserted, updated or deleted since its last analyze
 * (by autovacuum or by this), and returns their names. Autovacuum waits for 10 % of a table to change and looks
 * once a minute; a queue changes faster than that. PGlite runs no autovacuum: there this is all that does.
 */
export async function analyzeChangedTables(
  db: Queryable,
  minChanges = ANALYZE_AFTER_CHANGES,
): Promise<string[]> {
  const changed = await queryRows<{ relname: string }>(
    db,
    sql`select relname from pg_stat_user_tables
        where schemaname = current_schema() and relname = any(${`{${QUEUE_TABLES.join(",")}}`}::text[])
          and n_mod_since_analyze >= ${minChanges}
        order by relname`,
  );
  for (const { relname } of changed) await db.execute(sql`analyze ${sql.identifier(relname)}`);
  return changed.map((row) => row.relname);
}
