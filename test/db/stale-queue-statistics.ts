import { sql } from "drizzle-orm";
import type { Db } from "../../src/db/client.js";
import { engine } from "../harness.js";

/**
 * Leaves `jobs` with statistics from a small queue and a backlog they do not know of: an earlier backlog drained
 * and was pruned, the statistics were taken while the queue held one poll job on each of 8 connections
 * (`${prefix}0` to `${prefix}7`), then 10,000 unread notices (`in:backlog-N`, the N-th on connection N mod 8)
 * arrived. PostgreSQL's autovacuum is turned off on `jobs` so nothing refreshes them (PGlite runs none).
 */
export async function staleQueueStatistics(db: Db, prefix: string) {
  if (engine === "postgres") await db.execute(sql`alter table jobs set (autovacuum_enabled = false)`);
  const backlog = (name: string) =>
    db.execute(
      sql`insert into jobs (kind, connection_id, order_key, priority, payload, next_attempt_at)
          select 'inbox.apply', ${prefix} || (g % 8), ${`in:${name}-`} || g, 2, '{}', now()
          from generate_series(1, 10000) g`,
    );
  await backlog("earlier");
  await db.execute(sql`delete from jobs`);
  await db.execute(
    sql`insert into jobs (kind, connection_id, priority, singleton_key, next_attempt_at)
        select 'connection.poll', ${prefix} || g, 5, ${"poll:"} || ${prefix} || g, now()
        from generate_series(0, 7) g`,
  );
  await db.execute(sql`analyze jobs`);
  await backlog("backlog");
}
