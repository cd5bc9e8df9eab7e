import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { type Database, queryRows } from "./client.js";

export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

// Any constant works; it only has to be the same in every gateway process.
const MIGRATION_LOCK_KEY = 727_011_621;

/**
 * Applies pending migrations. On PostgreSQL several processes may start at once, so migrations run on
 * one dedicated session holding an advisory lock; the others wait, then find nothing left to do.
 */
export async function runMigrations(database: Database): Promise<void> {
  if (database.kind === "pglite") {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  const session = postgres(database.url!, { max: 1, onnotice: () => {} });
  try {
    await session`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres({ client: session }), { migrationsFolder });
    await session`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await session.end({ timeout: 5 });
  }
}

const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, "utf8")) as {
  entries: { tag: string }[];
};

/** Ready means every migration this build ships has been applied. */
export async function pendingMigrationCount(database: Database): Promise<number> {
  try {
    const rows = await queryRows<{ count: string | number }>(
      database.db,
      sql`select count(*) as count from drizzle.__drizzle_migrations`,
    );
    return journal.entries.length - Number(rows[0]?.count ?? 0);
  } catch {
    return journal.entries.length;
  }
}
