// The `tables.analyze` job's work (src/db/statistics.ts): queue tables whose statistics lag their contents are
// analyzed, so the planner reads a record's own queue instead of the connection's whole backlog.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { ANALYZE_AFTER_CHANGES, analyzeChangedTables } from "../../src/db/statistics.js";
import { deploymentJobs } from "../../src/jobs/queue.js";
import { staleQueueStatistics } from "../db/stale-queue-statistics.js";
import { createTestDatabase, engine, type TestDatabase } from "../harness.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

/** The index the webhook store's "does a notice for this record wait unread?" probe reads (migration 0025). */
async function unreadProbeIndex(): Promise<string> {
  const plan = await queryRows<{ "QUERY PLAN": string }>(
    database.db,
    sql`explain select 1 from jobs j
        where j.connection_id = 'con_1' and j.order_key = 'in:record-1' and j.kind = 'inbox.apply'
          and j.status = 'pending' and j.attempts = 0 and j.locked_until is null
        order by j.id limit 1`,
  );
  const text = plan.map((row) => row["QUERY PLAN"]).join("\n");
  return /(?:Index|Bitmap Index) Scan (?:using|on) (\w+)/.exec(text)?.[1] ?? text;
}

async function changesSinceAnalyze(table: string): Promise<number> {
  const [row] = await queryRows<{ n: number | null }>(
    database.db,
    sql`select n_mod_since_analyze::int as n from pg_stat_user_tables where relname = ${table}`,
  );
  return row?.n ?? 0;
}

describe("refreshing the queue tables' statistics", () => {
  it("is one of the deployment's periodic jobs", () => {
    expect(deploymentJobs.map((job) => job.kind)).toContain("tables.analyze");
  });

  // PostgreSQL only: PGlite's counters may lag, and it runs no autovacuum to race with.
  it.runIf(engine === "postgres")(
    "analyzes a queue table that changed since its statistics were taken, and then leaves it alone",
    async () => {
      const { db } = database;
      await staleQueueStatistics(db, "con_");
      expect(await unreadProbeIndex(), "stale statistics: the probe reads a whole backlog").not.toBe(
        "jobs_order_idx",
      );
      // The counters reach pg_stat_user_tables within about a second of the commit.
      const deadline = Date.now() + 10_000;
      while ((await changesSinceAnalyze("jobs")) < ANALYZE_AFTER_CHANGES && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));

      expect(await analyzeChangedTables(db)).toEqual(["jobs"]);
      expect(await unreadProbeIndex()).toBe("jobs_order_idx");
      expect(await changesSinceAnalyze("jobs")).toBeLessThan(ANALYZE_AFTER_CHANGES);
      expect(await analyzeChangedTables(db)).toEqual([]);
    },
  );

  it("runs on either engine with nothing to do", async () => {
    expect(await analyzeChangedTables(database.db, Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});
