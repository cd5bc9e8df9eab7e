import { sql } from "drizzle-orm";
import type { Side } from "../../schemas/ticket.js";
import type { Actor } from "../auth/principal.js";
import { queryRows, type Tx } from "../db/client.js";
import { pipelined } from "../db/pipeline.js";
import { eventJobPriority, eventRuleOf } from "../events/catalog.js";
import { canonicalJson } from "../lib/hash.js";
import { ledgerAppendDuration, timed } from "../observability/metrics.js";
import { activeTraceparent } from "../observability/tracing.js";
import { chainKeyOf, entryHashTemplate, type StoredLedgerEntry } from "./entry-hash.js";

export { chainKeyOf, PROVIDER_CHAIN } from "./entry-hash.js";
export type { StoredLedgerEntry };

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

/**
 * Appends entries in the caller's transaction, so a change and its ledger entries commit together.
 * Each chain (one per tenant) is extended under a transaction-scoped advisory lock on that chain only.
 */
export async function appendLedger(tx: Tx, entries: LedgerEntryInput[]): Promise<StoredLedgerEntry[]> {
  if (entries.length === 0) return [];
  const deferred = deferredAppends.get(tx);
  if (deferred) {
    deferred.push(...entries);
    return [];
  }
  return timed(
    (seconds) => ledgerAppendDuration.observe(seconds),
    () => appendChained(tx, entries),
  );
}

/** Transactions whose appends are gathered and written at once by `deferLedgerAppends`'s flush. */
const deferredAppends = new WeakMap<Tx, LedgerEntryInput[]>();

/**
 * Gathers the entries appended in `tx` from now on and appends them together at `flush` (same transaction, in
 * the order given). Until the flush, `appendLedger` returns no stored entries, so only writers that do not read
 * them back may run in between.
 */
function deferLedgerAppends(tx: Tx): { flush: () => Promise<void> } {
  const entries: LedgerEntryInput[] = [];
  deferredAppends.set(tx, entries);
  return {
    flush: async () => {
      deferredAppends.delete(tx);
      await appendLedger(tx, entries);
    },
  };
}

/**
 * Runs `write` with the entries it appends in `tx` gathered and appended together when it returns (same
 * transaction, in the order given), and the writes it sends through `sendWrite` pipelined ahead of that append
 * (src/db/pipeline.ts): one ticket write's own entries and those of the SLA events it causes take one append
 * (one round trip, the chain lock taken last) instead of one per step; the job runner's batched finish, where
 * each job's writes append their own entries, takes one for the batch. Nested in a batch already open on `tx`,
 * `write` simply joins it. `write` must not read back what `appendLedger` returns (nothing, until the flush);
 * when it throws, nothing is appended.
 */
export async function batchLedgerAppends<T>(tx: Tx, write: () => Promise<T>): Promise<T> {
  if (deferredAppends.has(tx)) return write();
  const ledger = deferLedgerAppends(tx);
  try {
    // The change's own writes go out pipelined (`sendWrite`) and the append right behind them.
    return await pipelined(tx, async () => {
      const result = await write();
      await ledger.flush();
      return result;
    });
  } finally {
    deferredAppends.delete(tx);
  }
}

async function appendChained(tx: Tx, entries: LedgerEntryInput[]): Promise<StoredLedgerEntry[]> {
  const pending = entries.map(pendingEntryOf);
  // One round trip (migration 0024): the chains' locks, heads and sequences, the hashes, the insert and the
  // events' fan-out job, all in the database, from each entry's hash input less its chain values.
  const [appended] = await queryRows<{ stored: [string | number, string | null, string][] }>(
    tx,
    sql`select ledger_append(${JSON.stringify(pending.map(ledgerAppendRow))}::jsonb,
                             ${JSON.stringify(ledgerFanoutJob())}::jsonb) as stored`,
  );
  return pending.map(({ entry }, i) => {
    const [sequence, prevHash, hash] = appended!.stored[i]!;
    return { ...entry, sequence: Number(sequence), prevHash, hash };
  });
}

interface PendingEntry {
  entry: Omit<StoredLedgerEntry, "hash" | "prevHash" | "sequence">;
  /** The event this entry is on the event feed, if it is one. */
  eventType: string | null;
}

function pendingEntryOf(input: LedgerEntryInput): PendingEntry {
  const entry: PendingEntry["entry"] = {
    occurredAt: input.occurredAt ?? new Date(),
    chainKey: chainKeyOf(input),
    tenantId: input.tenantId,
    ticketId: input.ticketId ?? null,
    connectionId: input.connectionId ?? null,
    direction: input.direction,
    kind: input.kind,
    actorType: input.actor.type,
    actorId: "id" in input.actor ? input.actor.id : null,
    side: input.side,
    externalId: input.externalId ?? null,
    payloadHash: input.payloadHash ?? null,
    detail: JSON.parse(canonicalJson(input.detail ?? {})) as Record<string, unknown>,
  };
  return { entry, eventType: eventRuleOf(entry)?.type ?? null };
}

/** One entry as `ledger_append` takes it: its columns, its hash input less the chain values, its event type. */
function ledgerAppendRow({ entry, eventType }: PendingEntry) {
  const template = entryHashTemplate(entry);
  return {
    occurred_at: entry.occurredAt.toISOString(),
    chain_key: entry.chainKey,
    tenant_id: entry.tenantId,
    ticket_id: entry.ticketId,
    connection_id: entry.connectionId,
    direction: entry.direction,
    kind: entry.kind,
    actor_type: entry.actorType,
    actor_id: entry.actorId,
    side: entry.side,
    external_id: entry.externalId,
    payload_hash: entry.payloadHash,
    detail: entry.detail,
    hash_prefix: template.prefix,
    hash_suffix: template.suffix,
    event_type: eventType,
  };
}

/** An entry as `ledger_append` takes it, for SQL functions that append with their writes (migration 0025). */
export const ledgerAppendRowOf = (input: LedgerEntryInput) => ledgerAppendRow(pendingEntryOf(input));

/**
 * The event feed's durable hand-off: `ledger_append` queues one fan-out job with the sequences of the entries
 * that are events, in the same transaction, so an event is queued exactly when its change commits (and only
 * when an enabled subscription could take one of them). Other kinds cost nothing (an in-memory lookup).
 */
export function ledgerFanoutJob() {
  return { kind: "event.fanout", priority: eventJobPriority, trace_parent: activeTraceparent() };
}
