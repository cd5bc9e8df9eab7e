import { getTableColumns, sql } from "drizzle-orm";
import type { Side } from "../../schemas/ticket.js";
import type { Actor } from "../auth/principal.js";
import { queryRows, type Tx, tableRecordset } from "../db/client.js";
import { ledgerEntries } from "../db/schema/index.js";
import { eventJobPriority, eventRuleOf } from "../events/catalog.js";
import { enqueueJobs } from "../jobs/queue.js";
import { canonicalJson } from "../lib/hash.js";
import { ledgerAppendDuration, timed } from "../observability/metrics.js";
import { chainKeyOf, computeEntryHash, type StoredLedgerEntry } from "./entry-hash.js";

/** Every column of the table: a stored entry has them all (the sequence is allocated, not defaulted). */
const ledgerColumns = Object.keys(
  getTableColumns(ledgerEntries),
) as (keyof typeof ledgerEntries.$inferInsert & string)[];

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
 * the order given): the job runner's batched finish, where each job's writes append their own entries and one
 * append for the batch saves two round trips per job. Until the flush, `appendLedger` returns no stored
 * entries, so only writers that do not read them back may run in between.
 */
export function deferLedgerAppends(tx: Tx): { flush: () => Promise<void> } {
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
 * transaction, in the order given): one ticket write's own entries and those of the SLA events it causes take
 * one append (two round trips, the chain lock taken last) instead of one per step. Inside a deferral already
 * open on `tx` (the job runner's batched finish) the entries simply join it. `write` must not read back what
 * `appendLedger` returns (nothing, until the flush); when it throws, nothing is appended.
 */
export async function batchLedgerAppends<T>(tx: Tx, write: () => Promise<T>): Promise<T> {
  if (deferredAppends.has(tx)) return write();
  const ledger = deferLedgerAppends(tx);
  try {
    const result = await write();
    await ledger.flush();
    return result;
  } finally {
    deferredAppends.delete(tx);
  }
}

async function appendChained(tx: Tx, entries: LedgerEntryInput[]): Promise<StoredLedgerEntry[]> {
  const ordered = entries.map((input) => ({ input, chainKey: chainKeyOf(input) }));
  const chainKeys = [...new Set(ordered.map((o) => o.chainKey))].sort();
  // One round trip whatever the batch's size (migration 0021): each chain's lock, taken in key order so two
  // transactions appending to the same chains cannot deadlock, then, after the locks, every chain's head and
  // one sequence number per entry.
  const [locked] = await queryRows<{
    read: { heads: [string, string | null][]; sequences: (string | number)[] };
  }>(
    tx,
    sql`select ledger_lock_chains(array(select json_array_elements_text(${JSON.stringify(chainKeys)}::json)),
                                  ${ordered.length}::int) as read`,
  );
  const read = locked!.read;
  const heads = new Map<string, string | null>(read.heads);
  const stored: StoredLedgerEntry[] = ordered.map(({ input, chainKey }, i) => {
    const actorId = "id" in input.actor ? input.actor.id : null;
    const entry: Omit<StoredLedgerEntry, "hash"> = {
      // Sequences ascend in entry order, so entries of one chain follow each other as they were given.
      sequence: Number(read.sequences[i]),
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
      prevHash: heads.get(chainKey) ?? null,
    };
    const row = { ...entry, hash: computeEntryHash(entry) };
    heads.set(chainKey, row.hash);
    return row;
  });
  // The insert and the events' fan-out job are sent together (pipelined: one round trip for both).
  const ledgerRows = tableRecordset(ledgerEntries, ledgerColumns, stored);
  const inserted = tx.execute(
    sql`insert into ledger_entries (${ledgerRows.columns}) select ${ledgerRows.columns} from ${ledgerRows.from}`,
  );
  await Promise.all([inserted, enqueueEventFanout(tx, stored)]);
  return stored;
}

/**
 * The event feed's durable hand-off: entries that are events get one fan-out job, in the same transaction,
 * so an event is queued exactly when its change commits. Other kinds cost nothing (an in-memory lookup).
 */
async function enqueueEventFanout(tx: Tx, stored: StoredLedgerEntry[]) {
  const events = stored.filter((entry) => eventRuleOf(entry) !== null);
  if (events.length === 0) return;
  const tenantIds = new Set(events.map((entry) => entry.tenantId));
  await enqueueJobs(tx, [
    {
      kind: "event.fanout",
      tenantId: tenantIds.size === 1 ? events[0]!.tenantId : null,
      priority: eventJobPriority,
      payload: { sequences: events.map((entry) => entry.sequence) },
      // Due at once for any worker, whatever its clock (claims order by id, so this jumps no queue).
      runAt: new Date(0),
    },
  ]);
}
