import type { ledgerEntries } from "../db/schema/ledger.js";
import { canonicalJson, sha256Hex } from "../lib/hash.js";

// Pure: the offline verifier imports this module without a database driver.

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
export function chainKeyOf(entry: {
  tenantId: string | null;
  ticketId?: string | null;
  externalId?: string | null;
}): string {
  const owner = entry.tenantId ?? PROVIDER_CHAIN;
  const spreadBy = entry.ticketId ?? entry.externalId;
  if (!spreadBy) return owner;
  return `${owner}:${fnv1a(spreadBy) % CHAIN_SHARDS}`;
}

/** The scope a chain belongs to: its tenant id, or "provider" for entries without a tenant. */
export function scopeOfChain(chainKey: string): string {
  const colon = chainKey.indexOf(":");
  return colon === -1 ? chainKey : chainKey.slice(0, colon);
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

/** An entry's hash input without the two values its chain's lock decides: see {@link entryHashTemplate}. */
export type EntryHashTemplate = { prefix: string; suffix: string };

// `prevHash` and `sequence` are adjacent in the canonical key order, and the keys after them (side, tenantId,
// ticketId) hold plain strings, so the last occurrence of this text is the entry's own, never one inside
// `detail` (which comes earlier).
const chainSlot = ',"prevHash":null,"sequence":0,';

/**
 * The entry's hash input split around its previous hash and sequence: `prefix + JSON(prevHash) +
 * ',"sequence":' + sequence + suffix` is {@link entryHashInput} of the entry with those two values. The
 * database completes it under the chain's lock (migration 0024), hashing the very bytes verification rebuilds.
 */
export function entryHashTemplate(
  entry: Omit<StoredLedgerEntry, "hash" | "prevHash" | "sequence">,
): EntryHashTemplate {
  const input = entryHashInput({ ...entry, prevHash: null, sequence: 0 });
  const at = input.lastIndexOf(chainSlot);
  if (at < 0) throw new Error("ledger entry hash input has no chain slot");
  return {
    prefix: `${input.slice(0, at)},"prevHash":`,
    suffix: `,${input.slice(at + chainSlot.length)}`,
  };
}

/** {@link computeEntryHash} from a template, as the database computes it (for tests and the offline tools). */
export function hashFromTemplate(
  template: EntryHashTemplate,
  prevHash: string | null,
  sequence: number,
): string {
  return sha256Hex(`${template.prefix}${JSON.stringify(prevHash)},"sequence":${sequence}${template.suffix}`);
}
