import { sql } from "drizzle-orm";
import { type Db, queryRows } from "../db/client.js";

export interface RetentionSettings {
  /** Finished jobs, applied inbox notices and event delivery attempts. */
  jobsMs: number;
  idempotencyMs: number;
  webhookRejectionsMs: number;
}

const BATCH = 5_000;

async function deleteBatch(db: Db, statement: ReturnType<typeof sql>): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`with gone as (${statement} returning 1) select count(*)::int as n from gone`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Retention: finished jobs, applied notices, idempotency keys, rejection counters and event delivery attempts
 * older than their ages go, in bounded batches, and expired console sessions. Open work (pending or dead jobs and their notices) stays. The ledger is never pruned:
 * reports, health and attempt histories read it, not these rows.
 */
export async function pruneFinished(db: Db, retention: RetentionSettings, now: Date) {
  const before = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const jobsCutoff = before(retention.jobsMs);
  const jobs = await deleteBatch(
    db,
    sql`delete from jobs where id in (
          select id from jobs where status in ('done', 'skipped') and finished_at < ${jobsCutoff}::timestamptz
          limit ${BATCH})`,
  );
  const inbox = await deleteBatch(
    db,
    sql`delete from inbox where id in (
          select i.id from inbox i
          where i.received_at < ${jobsCutoff}::timestamptz and i.status <> 'pending'
            and not exists (
              select 1 from jobs j
              where j.kind = 'inbox.apply' and j.status in ('pending', 'dead')
                and j.payload->>'inboxId' = i.id::text)
          limit ${BATCH})`,
  );
  const idempotency = await deleteBatch(
    db,
    sql`delete from idempotency_keys where (credential_id, key) in (
          select credential_id, key from idempotency_keys
          where created_at < ${before(retention.idempotencyMs)}::timestamptz limit ${BATCH})`,
  );
  const rejections = await deleteBatch(
    db,
    sql`delete from webhook_rejections where (connection_id, minute) in (
          select connection_id, minute from webhook_rejections
          where minute < ${before(retention.webhookRejectionsMs)}::timestamptz limit ${BATCH})`,
  );
  const eventDeliveries = await deleteBatch(
    db,
    sql`delete from event_deliveries where id in (
          select id from event_deliveries where attempted_at < ${jobsCutoff}::timestamptz limit ${BATCH})`,
  );
  // A console session is dead once expired (loadSession refuses it): it goes at once, with no age.
  const consoleSessions = await deleteBatch(
    db,
    sql`delete from console_sessions where id in (
          select id from console_sessions where expires_at < ${now.toISOString()}::timestamptz limit ${BATCH})`,
  );
  return {
    jobs,
    inbox,
    idempotency,
    rejections,
    eventDeliveries,
    consoleSessions,
    total: jobs + inbox + idempotency + rejections + eventDeliveries + consoleSessions,
  };
}
