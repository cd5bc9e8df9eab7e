import { sql } from "drizzle-orm";
import type { Side } from "../../schemas/ticket.js";
import type { Actor } from "../auth/principal.js";
import { queryRows, type Tx } from "../db/client.js";
import { ledgerEntries } from "../db/schema/index.js";
import { eventJobPriority, eventRuleOf } from "../events/catalog.js";
import { enqueueJobs } from "../jobs/queue.js";
import { canonicalJson } from "../lib/hash.js";
import { ledgerAppendDuration, timed } from "../observability/metrics.js";
import { chainKeyOf, computeEntryHash, type StoredLedgerEntry } from "./entry-hash.js";

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
  return timed(
    (seconds) => ledgerAppendDuration.observe(seconds),
    () => appendChained(tx, entries),
  );
}

async function appendChained(tx: Tx, entries: LedgerEntryInput[]): Promise<StoredLedgerEntry[]> {
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
  await enqueueEventFanout(tx, stored);
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
