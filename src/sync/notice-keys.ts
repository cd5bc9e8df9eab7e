import { createHash, randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { ChangedRecord, InboundNotice } from "../../connectors/sdk/index.js";
import { jsonRecordset, type Queryable, queryRows } from "../db/client.js";

// The inbox's unique (connection_id, dedupe_key) index drops a notice whose key was seen before. That is only
// safe when the key names one vendor change: a delivery id, a version, or a timestamp whose second is over.
// A notice without one is de-duplicated only against a notice for the same record that no worker has read
// yet (its re-read will see the later change too); otherwise it is stored, and the engine re-reads.

/**
 * How long after a vendor timestamp its second counts as over, allowing for the distance between the vendor's
 * clock and ours. Until then a polled `(externalId, updatedAt)` is not a unique change: a second change in
 * the same second carries the same pair.
 */
export const vendorSecondSettledMs = 60_000;

/** A key that never conflicts: for a notice de-duplicated only against pending ones. */
function uniqueKey(prefix: string, externalId: string): string {
  return `${prefix}:${externalId}:${randomUUID()}`;
}

/**
 * Whether a notice for this record waits unread: its `inbox.apply` job is pending and was never claimed. A new
 * notice for the record would add nothing (that job re-reads the record anyway).
 */
export async function hasUnreadNotice(db: Queryable, connectionId: string, externalId: string) {
  return (await unreadNotices(db, [{ connectionId, externalId }])).size > 0;
}

/** How {@link unreadNotices} names a record of a connection. */
const recordKey = (connectionId: string, externalId: string) => `${connectionId}\n${externalId}`;

/** Of these records, the ones with an unread notice (as {@link recordKey}s), in one query for them all. */
export async function unreadNotices(
  db: Queryable,
  records: { connectionId: string; externalId: string }[],
): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const pairs = new Map(
    records.map((r) => [
      recordKey(r.connectionId, r.externalId),
      { connection_id: r.connectionId, order_key: `in:${r.externalId}` },
    ]),
  );
  // One lookup per record in its own queue, whatever the statistics say (as store_webhooks, migration 0027):
  // only jobs_order_idx answers `status in ('pending', 'dead')`, and the fence (offset 0) keeps the pending
  // filter out of the scan, where jobs_due_idx or jobs_leased_idx could answer it by filtering every pending job.
  const rows = await queryRows<{ connection_id: string; order_key: string }>(
    db,
    sql`select v.connection_id, v.order_key
        from ${jsonRecordset([...pairs.values()])} as v(connection_id text, order_key text)
        where exists (
          select 1 from (
            select j.kind, j.status, j.attempts, j.locked_until from jobs j
            where j.connection_id = v.connection_id and j.order_key = v.order_key
              and j.status in ('pending', 'dead')
            offset 0) j
          where j.kind = 'inbox.apply' and j.status = 'pending' and j.attempts = 0 and j.locked_until is null)`,
  );
  return new Set(rows.map((r) => recordKey(r.connection_id, r.order_key.slice("in:".length))));
}

/**
 * The dedupe key of a webhook notice with a delivery id: the unique index drops the vendor's retries of that
 * delivery for good. `null` without one: `store_webhooks` (migration 0025) then stores the notice under
 * {@link webhookUniqueKey}, unless a notice for the record waits unread (see {@link unreadNotices}).
 */
export function webhookDeliveryKey(notice: InboundNotice): string | null {
  return notice.deliveryId ? `delivery:${notice.deliveryId}` : null;
}

/** The key a webhook notice without a delivery id is stored under: it never conflicts. */
export function webhookUniqueKey(notice: InboundNotice): string {
  return uniqueKey("notice", notice.externalId);
}

/**
 * The dedupe key of a polled change, or `null` to drop it. `(externalId, updatedAt)` with the vendor's version,
 * or once its second is over, names one change for good; a change within the last
 * {@link vendorSecondSettledMs} is de-duplicated only against unread notices, so a later change in the same
 * second is read again.
 */
export async function polledChangeKey(
  db: Queryable,
  connectionId: string,
  item: ChangedRecord,
  now: Date,
): Promise<string | null> {
  if (item.version !== undefined) return `poll:${item.externalId}@${item.updatedAt}#${item.version}`;
  const settled = now.getTime() - Date.parse(item.updatedAt) > vendorSecondSettledMs;
  // The same hash as before this rule, so keys stored earlier still match.
  if (settled)
    return `poll:${createHash("sha256").update(`${item.externalId}@${item.updatedAt}`).digest("hex")}`;
  if (await hasUnreadNotice(db, connectionId, item.externalId)) return null;
  return uniqueKey("poll-recent", item.externalId);
}

/** A cursor that is a vendor timestamp (ISO-8601), as opposed to an opaque position such as a fingerprint map. */
const isoTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/**
 * The dedupe key of a carrier ticket a poll found changed, or `null` to drop it. A carrier names no time per
 * ticket, only the poll's next cursor: a `lastUpdate` timestamp is keyed as {@link polledChangeKey} keys a
 * polled change (so a second change within the cursor's second is read again); an opaque cursor changes with
 * every change it saw (a fingerprint of the ticket as read) and names that state for good.
 */
export async function polledCarrierChangeKey(
  db: Queryable,
  connectionId: string,
  externalId: string,
  nextCursor: string | null,
  now: Date,
): Promise<string | null> {
  if (nextCursor !== null && !isoTimestamp.test(nextCursor))
    return `poll:${createHash("sha256").update(`${externalId}@${nextCursor}`).digest("hex")}`;
  return polledChangeKey(db, connectionId, { externalId, updatedAt: nextCursor ?? now.toISOString() }, now);
}
