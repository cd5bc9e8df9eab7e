import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { ledgerEntries } from "../db/schema/index.js";
import { computeEntryHash } from "./entry-hash.js";

export interface LedgerVerification {
  ok: boolean;
  checked: number;
  firstBrokenSequence: number | null;
}

const BATCH = 1000;

/**
 * Walks each chain in order, recomputing every entry's hash and checking it links to its predecessor.
 * An entry edited, inserted or removed behind the application's back breaks the chain at that point.
 */
export async function verifyLedger(db: Db, options: { tenantId?: string } = {}): Promise<LedgerVerification> {
  const chainKeys = (
    await db
      .selectDistinct({ chainKey: ledgerEntries.chainKey })
      .from(ledgerEntries)
      .where(options.tenantId ? eq(ledgerEntries.tenantId, options.tenantId) : undefined)
  ).map((r) => r.chainKey);
  let checked = 0;
  let firstBroken: number | null = null;
  for (const chainKey of chainKeys) {
    let previousHash: string | null = null;
    let after = 0;
    chain: for (;;) {
      const batch = await db
        .select()
        .from(ledgerEntries)
        .where(and(eq(ledgerEntries.chainKey, chainKey), gt(ledgerEntries.sequence, after)))
        .orderBy(asc(ledgerEntries.sequence))
        .limit(BATCH);
      for (const entry of batch) {
        checked++;
        const { hash, ...content } = entry;
        if (entry.prevHash !== previousHash || computeEntryHash(content) !== hash) {
          if (firstBroken === null || entry.sequence < firstBroken) firstBroken = entry.sequence;
          break chain;
        }
        previousHash = hash;
        after = entry.sequence;
      }
      if (batch.length < BATCH) break;
    }
  }
  return { ok: firstBroken === null, checked, firstBrokenSequence: firstBroken };
}
