import { sql } from "drizzle-orm";
import postgres from "postgres";
import type { Database } from "../db/client.js";

/** The PostgreSQL channel on which API processes tell workers that jobs were queued. */
export const JOBS_CHANNEL = "tsg_jobs";

/** The shortest time between two notifies of one process: calls in between fold into the next one. */
export const NOTIFY_WINDOW_MS = 10;

/**
 * A function to call after a commit that may have queued jobs: on PostgreSQL it sends `NOTIFY tsg_jobs` from
 * its own statement, so workers in other processes claim at once instead of at their next tick. One notify is
 * in flight at a time and notifies start at least `windowMs` apart: a call after a quiet spell notifies at
 * once, and the calls of a busy spell fold into one notify per window (each is a round trip, and under load
 * the workers are awake anyway). Not from a trigger in the writing transaction: a notifying commit holds a
 * database-wide lock through its WAL flush, which would serialise every ingest commit. On PGlite (one
 * process) it does nothing; the caller wakes its own runner.
 */
export function jobNotifier(database: Database, windowMs = NOTIFY_WINDOW_MS): () => void {
  if (database.kind !== "postgres") return () => {};
  let sending = false;
  let wanted = false;
  const notify: () => void = coalesced(() => {
    // A call while one is in flight is sent when it returns (still no sooner than the window allows).
    if (sending) {
      wanted = true;
      return;
    }
    sending = true;
    database.db
      .execute(sql`select pg_notify(${JOBS_CHANNEL}, '')`)
      // A lost wake-up costs a tick of latency, never a job: workers still claim every WORKER_TICK_MS.
      .catch(() => {})
      .finally(() => {
        sending = false;
        if (wanted) {
          wanted = false;
          notify();
        }
      });
  }, windowMs);
  return notify;
}

/**
 * `fn` at once after a quiet spell and at most once per `windowMs` in a busy one: the calls in between fold
 * into one at the window's end, so a call is always followed by a run of `fn`. The job notifier is built on
 * it, and the API process wakes its own job runner through it: a claim per successful write (most queue
 * nothing) cost the database more than the write at a thousand writes a second, and the runner's claim takes
 * every job due by then anyway.
 */
export function coalesced(fn: () => void, windowMs = NOTIFY_WINDOW_MS): () => void {
  let timer: NodeJS.Timeout | null = null;
  let lastRunAt = Number.NEGATIVE_INFINITY;
  const run = () => {
    timer = null;
    lastRunAt = performance.now();
    fn();
  };
  return () => {
    if (timer) return;
    const wait = lastRunAt + windowMs - performance.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait).unref();
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
