import { inArray, sql } from "drizzle-orm";
import type { InboundNotice } from "../../connectors/sdk/index.js";
import { type Db, queryRows, type Tx, tableRecordset } from "../db/client.js";
import { groupCommitter } from "../db/group-commit.js";
import { connections, inbox } from "../db/schema/index.js";
import { enqueueJobs, type NewJob } from "../jobs/queue.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { type LoadedConnection, loadConnection } from "./connections.js";
import { unreadNotices, webhookNoticeKeyAmong } from "./notice-keys.js";

/** A verified webhook's notices, made storable, waiting for the group commit that stores them. */
export interface WebhookToStore {
  loaded: LoadedConnection;
  notices: InboundNotice[];
  /** `sync.text_repaired` entries for notices whose text had to be repaired, appended before the notices'. */
  repairs: LedgerEntryInput[];
  /** What each stored notice's ledger entry records: `sync.received` or `sync.duplicate`, with this hash. */
  entryOf: (notice: InboundNotice, stored: boolean) => LedgerEntryInput;
  inboxJobOf: (inboxId: number, notice: InboundNotice) => NewJob;
  now: Date;
}

/** Stored (counts), or not stored because the connection changed since it was cached: load it and retry. */
export type WebhookStored = { accepted: number; duplicates: number } | { stale: true };

// Decrypted, parsed connections of this process, so a webhook costs no read of its connection. Each group
// commit checks, in its transaction, that the connection's stored secrets and status are still the ones
// cached (whichever process changed them), and a webhook that fails verification is checked again against a
// fresh read: a cached entry never accepts or refuses what the stored connection would not.
const CACHE_LIMIT = 10_000;
const caches = new WeakMap<Db, Map<string, { secretsKey: unknown; loaded: LoadedConnection }>>();

function cacheOf(db: Db) {
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  return cache;
}

/** The connection from this process's cache, or null (then {@link loadConnectionCached} reads it). */
export function cachedConnection(db: Db, engine: Pick<EngineDeps, "secretsKey">, id: string) {
  const hit = caches.get(db)?.get(id);
  return hit && hit.secretsKey === engine.secretsKey ? hit.loaded : null;
}

/** Reads and decrypts the connection (as `loadConnection`) and caches it for the next webhook. */
export async function loadConnectionCached(db: Db, engine: Pick<EngineDeps, "secretsKey">, id: string) {
  const loaded = await loadConnection(db, engine, id);
  const cache = cacheOf(db);
  cache.delete(id);
  if (!loaded) return null;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(id, { secretsKey: engine.secretsKey, loaded });
  return loaded;
}

export function forgetCachedConnection(db: Db, id: string) {
  caches.get(db)?.delete(id);
}

const inboxColumns = ["connectionId", "dedupeKey", "externalId", "notice", "source", "receivedAt"] as const;

/** Stores the webhook's notices with the next group commit; resolves once they are committed. */
export function storeWebhook(db: Db, item: WebhookToStore): Promise<WebhookStored> {
  return groupCommitter(db, "webhooks", storeWebhooks).submit(item);
}

/**
 * One group commit of webhooks: inbox rows in one insert, their `inbox.apply` jobs in one insert, every
 * ledger entry in one append (one lock per chain, entries chained in order). Notices are de-duplicated as if
 * the webhooks had been stored one after another in this order.
 */
async function storeWebhooks(tx: Tx, items: WebhookToStore[]): Promise<WebhookStored[]> {
  // The connection check and the unread notices are read together: sent in one tick, postgres.js writes them to
  // the transaction's connection at once (pipelined), one round trip for both. Notices of a stale webhook are
  // read too and not used.
  const [current, unread] = await Promise.all([
    tx
      .select({
        id: connections.id,
        status: connections.status,
        settingsEncrypted: connections.settingsEncrypted,
        pathSecretEncrypted: connections.pathSecretEncrypted,
      })
      .from(connections)
      .where(inArray(connections.id, [...new Set(items.map((item) => item.loaded.row.id))])),
    unreadNotices(
      tx,
      items.flatMap((item) =>
        item.notices
          .filter((notice) => !notice.deliveryId)
          .map((notice) => ({ connectionId: item.loaded.row.id, externalId: notice.externalId })),
      ),
    ),
  ]);
  const byId = new Map(current.map((row) => [row.id, row]));
  const fresh = items.map((item) => {
    const row = byId.get(item.loaded.row.id);
    return (
      row !== undefined &&
      (row.status === "active" || row.status === "paused") &&
      row.status === item.loaded.row.status &&
      row.settingsEncrypted === item.loaded.row.settingsEncrypted &&
      row.pathSecretEncrypted === item.loaded.row.pathSecretEncrypted
    );
  });
  const storing = items.filter((_, i) => fresh[i]);
  const keyed = storing.flatMap((item) =>
    item.notices.map((notice) => ({
      item,
      notice,
      dedupeKey: webhookNoticeKeyAmong(unread, item.loaded.row.id, notice),
    })),
  );
  const rows = keyed.flatMap(({ item, notice, dedupeKey }) =>
    dedupeKey === null
      ? []
      : [
          {
            connectionId: item.loaded.row.id,
            dedupeKey,
            externalId: notice.externalId,
            notice: { ...notice },
            source: "webhook" as const,
            receivedAt: item.now,
          },
        ],
  );
  const inboxRows = tableRecordset(inbox, inboxColumns, rows);
  const inserted =
    rows.length === 0
      ? []
      : await queryRows<{ id: string | number; connection_id: string; dedupe_key: string }>(
          tx,
          sql`insert into inbox (${inboxRows.columns}) select ${inboxRows.columns} from ${inboxRows.from}
              on conflict do nothing
              returning id, connection_id, dedupe_key`,
        );
  const insertedIds = new Map(inserted.map((r) => [`${r.connection_id}\n${r.dedupe_key}`, Number(r.id)]));
  const counts = new Map<WebhookToStore, { accepted: number; duplicates: number }>(
    storing.map((item) => [item, { accepted: 0, duplicates: 0 }]),
  );
  const jobs: NewJob[] = [];
  const entries: LedgerEntryInput[] = [];
  let repairsOf: WebhookToStore | null = null;
  for (const { item, notice, dedupeKey } of keyed) {
    if (repairsOf !== item) {
      entries.push(...item.repairs);
      repairsOf = item;
    }
    const key = `${item.loaded.row.id}\n${dedupeKey}`;
    // Two notices of one batch with one delivery id: the first is stored, the second is its duplicate.
    const inboxId = dedupeKey === null ? undefined : insertedIds.get(key);
    if (inboxId !== undefined) insertedIds.delete(key);
    const count = counts.get(item)!;
    if (inboxId !== undefined) {
      count.accepted++;
      jobs.push(item.inboxJobOf(inboxId, notice));
    } else count.duplicates++;
    entries.push(item.entryOf(notice, inboxId !== undefined));
  }
  // Pipelined as above: the jobs insert and the ledger's chain locks go out together.
  await Promise.all([enqueueJobs(tx, jobs), appendLedger(tx, entries)]);
  return items.map((item, i) => (fresh[i] ? counts.get(item)! : { stale: true }));
}
