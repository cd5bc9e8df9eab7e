import { sql } from "drizzle-orm";
import type { InboundNotice } from "../../connectors/sdk/index.js";
import { type Db, type Queryable, queryRows } from "../db/client.js";
import { groupCommitter } from "../db/group-commit.js";
import { enqueueRowOf, type NewJob } from "../jobs/queue.js";
import { type LedgerEntryInput, ledgerAppendRowOf, ledgerFanoutJob } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { type LoadedConnection, loadConnection } from "./connections.js";
import { webhookDeliveryKey, webhookUniqueKey } from "./notice-keys.js";

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

/** Stores the webhook's notices with the next group commit; resolves once they are committed. */
export function storeWebhook(db: Db, item: WebhookToStore): Promise<WebhookStored> {
  return groupCommitter(db, "webhooks", { oneStatement: storeWebhooks }).submit(item);
}

/**
 * One group commit of webhooks, in one statement (`store_webhooks`, migration 0025): per webhook the check that
 * its connection is still the one verified against, its notices de-duplicated as if the webhooks had been
 * stored one after another in this order, their inbox rows and `inbox.apply` jobs, and every ledger entry in
 * one append (one lock per chain, entries chained in order).
 */
async function storeWebhooks(db: Queryable, items: WebhookToStore[]): Promise<WebhookStored[]> {
  const payload = items.map((item) => ({
    connection_id: item.loaded.row.id,
    status: item.loaded.row.status,
    settings_encrypted: item.loaded.row.settingsEncrypted,
    path_secret_encrypted: item.loaded.row.pathSecretEncrypted,
    received_at: item.now.toISOString(),
    repairs: item.repairs.map(ledgerAppendRowOf),
    notices: item.notices.map((notice) => ({
      delivery_key: webhookDeliveryKey(notice),
      unique_key: webhookUniqueKey(notice),
      external_id: notice.externalId,
      notice: { ...notice },
      // The inbox id is filled in by the database once the row is stored.
      job: enqueueRowOf(item.inboxJobOf(0, notice)),
      received_entry: ledgerAppendRowOf(item.entryOf(notice, true)),
      duplicate_entry: ledgerAppendRowOf(item.entryOf(notice, false)),
    })),
  }));
  const [row] = await queryRows<{ stored: WebhookStored[] }>(
    db,
    sql`select store_webhooks(${JSON.stringify(payload)}::jsonb, ${JSON.stringify(ledgerFanoutJob())}::jsonb) as stored`,
  );
  return row!.stored;
}
