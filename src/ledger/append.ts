import { sql } from "drizzle-orm";
import type { Side } from "../../schemas/ticket.js";
import type { Actor } from "../auth/principal.js";
import { queryRows, type Tx } from "../db/client.js";
import { ledgerEntries } from "../db/schema/index.js";
import { canonicalJson, sha256Hex } from "../lib/hash.js";

export const PROVIDER_CHAIN = "provider";

/** Chains per tenant: writers of one tenant spread over them instead of queueing on one chain head. */
export const CHAIN_SHARDS = 16;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Which chain an entry extends: a tenant's entries are spread over {@link CHAIN_SHARDS} chains by ticket (so a
 * ticket's whole history is one ordered chain), else by external id; tenant-level entries have their own chain.
 */
export function chainKeyOf(entry: Pick<LedgerEntryInput, "tenantId" | "ticketId" | "externalId">): string {
  const owner = entry.tenantId ?? PROVIDER_CHAIN;
  const spreadBy = entry.ticketId ?? entry.externalId;
  if (!spreadBy) return owner;
  return `${owner}:${fnv1a(spreadBy) % CHAIN_SHARDS}`;
}

export interface LedgerEntryInput {
  tenantId: string | null;
  ticketId?: string | null;
  connectionId?: string | null;
  direction: "inbound" | "outbound" | "internal";
  kind: string;
  actor: Actor;
  side: Side;
  externalId?: string | null;
  payloadHash?: string | null;
  /** Small and free of personal data: identifiers, statuses, field names, never comment bodies. */
  detail?: Record<string, unknown>;
  occurredAt?: Date;
}

export type StoredLedgerEntry = typeof ledgerEntries.$inferSelect;

/** The fields an entry's hash covers, in a stable shape shared by append and verify. */
export function entryHashInput(entry: Omit<StoredLedgerEntry, "hash">): string {
  return canonicalJson({
    sequence: entry.sequence,
    occurredAt: entry.occurredAt.toISOString(),
    chainKey: entry.chainKey,
    tenantId: entry.tenantId,
    ticketId: entry.ticketId,
    connectionId: entry.connectionId,
    direction: entry.direction,
    kind: entry.kind,
    actorType: entry.actorType,
    actorId: entry.actorId,
    side: entry.side,
    externalId: entry.externalId,
    payloadHash: entry.payloadHash,
    detail: entry.detail,
    prevHash: entry.prevHash,
  });
}

export function computeEntryHash(entry: Omit<StoredLedgerEntry, "hash">): string {
  return sha256Hex(entryHashInput(entry));
}

/**
 * Appends entries in the caller's transaction, so a change and its ledger entries commit together.
 * Each chain (one per tenant) is extended under a transaction-scoped advisory lock on that chain only.
 */
export async function appendLedger(tx: Tx, entries: LedgerEntryInput[]): Promise<StoredLedgerEntry[]> {
  const stored: StoredLedgerEntry[] = [];
  // Chain locks are taken in key order, so two transactions appending to the same chains cannot deadlock.
  const ordered = entries.map((input, index) => ({ input, index, chainKey: chainKeyOf(input) }));
  const lockOrder = [...new Set(ordered.map((o) => o.chainKey))].sort();
  for (const chainKey of lockOrder) {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`ledger:${chainKey}`}, 0))`);
  }
  for (const { input, chainKey } of ordered) {
    // After the lock (a statement's snapshot is taken when it starts, so the head must be read after it).
    const [head] = await queryRows<{ hash: string | null; sequence: string | number }>(
      tx,
      sql`select (select hash from ledger_entries where chain_key = ${chainKey} order by sequence desc limit 1) as hash,
                 nextval(pg_get_serial_sequence('ledger_entries', 'sequence')) as sequence`,
    );
    const actorId = "id" in input.actor ? input.actor.id : null;
    const entry: Omit<StoredLedgerEntry, "hash"> = {
      sequence: Number(head!.sequence),
      occurredAt: input.occurredAt ?? new Date(),
      chainKey,
      tenantId: input.tenantId,
      ticketId: input.ticketId ?? null,
      connectionId: input.connectionId ?? null,
      direction: input.direction,
      kind: input.kind,
      actorType: input.actor.type,
      actorId,
      side: input.side,
      externalId: input.externalId ?? null,
      payloadHash: input.payloadHash ?? null,
      detail: JSON.parse(canonicalJson(input.detail ?? {})) as Record<string, unknown>,
      prevHash: head?.hash ?? null,
    };
    const row = { ...entry, hash: computeEntryHash(entry) };
    await tx.insert(ledgerEntries).values(row);
    stored.push(row);
  }
  return stored;
}
