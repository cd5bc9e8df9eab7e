import { sql } from "drizzle-orm";
import postgres from "postgres";
import type { Database } from "../db/client.js";

/** The PostgreSQL channel on which API processes tell workers that jobs were queued. */
export const JOBS_CHANNEL = "tsg_jobs";

/**
 * A function to call after a commit that may have queued jobs: on PostgreSQL it sends `NOTIFY tsg_jobs` from
 * its own statement, at most one in flight per process (calls meanwhile are folded into one more), so workers
 * in other processes claim at once instead of at their next tick. Not from a trigger in the writing
 * transaction: a notifying commit holds a database-wide lock through its WAL flush, which would serialise
 * every ingest commit. On PGlite (one process) it does nothing; the caller wakes its own runner.
 */
export function jobNotifier(database: Database): () => void {
  if (database.kind !== "postgres") return () => {};
  let sending = false;
  let again = false;
  const send = () => {
    sending = true;
    again = false;
    database.db
      .execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`)
      // A lost wake-up costs a tick of latency, never a job: workers still claim every WORKER_TICK_MS.
      .catch(() => {})
      .finally(() => {
        sending = false;
        if (again) send();
      });
  };
  return () => {
    if (sending) again = true;
    else send();
  };
}

/**
 * Calls `onWake` on every `NOTIFY tsg_jobs`, over a connection of its own (postgres.js re-listens after a
 * reconnect). Returns the function that stops listening.
 */
export async function listenForJobs(url: string, onWake: () => void): Promise<() => Promise<void>> {
  const client = postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: "ticket-sync-gateway jobs listener" },
  });
  await client.listen(JOBS_CHANNEL, onWake);
  return () => client.end({ timeout: 5 });
}
