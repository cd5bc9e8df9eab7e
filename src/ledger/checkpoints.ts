import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import { type Db, type Queryable, queryRows } from "../db/client.js";
import { ledgerCheckpoints, ledgerEntries } from "../db/schema/index.js";
import { newId } from "../lib/ids.js";
import {
  buildCheckpointBody,
  type ChainHead,
  checkpointMessage,
  type SignedCheckpoint,
} from "./checkpoint-format.js";
import {
  ChainWalker,
  type CheckpointVerification,
  type Divergence,
  judgeCheckpoints,
} from "./consistency.js";
import { computeEntryHash, type StoredLedgerEntry, scopeOfChain } from "./entry-hash.js";
import type { LedgerKeyring } from "./keys.js";

export type StoredCheckpoint = typeof ledgerCheckpoints.$inferSelect;

export interface CheckpointDeps {
  keyring: LedgerKeyring;
  now: () => Date;
}

export interface CheckpointRun {
  signed: StoredCheckpoint[];
  /** Scopes whose chains no longer extend their last checkpoint: never signed over, so tampering stays visible. */
  refused: { scope: string; divergences: Divergence[] }[];
}

const BATCH = 1000;

/** Entries of one chain in sequence order, after `after` and up to `through`, in batches; stops when told. */
async function walkChain(
  db: Queryable,
  chainKey: string,
  range: { after: number; through?: number },
  visit: (entry: StoredLedgerEntry) => boolean,
): Promise<void> {
  let after = range.after;
  for (;;) {
    const rows = await db
      .select()
      .from(ledgerEntries)
      .where(
        and(
          eq(ledgerEntries.chainKey, chainKey),
          gt(ledgerEntries.sequence, after),
          range.through === undefined ? undefined : lte(ledgerEntries.sequence, range.through),
        ),
      )
      .orderBy(asc(ledgerEntries.sequence))
      .limit(BATCH);
    for (const row of rows) if (!visit(row)) return;
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1]!.sequence;
  }
}

function pushTo(walker: ChainWalker) {
  return (row: StoredLedgerEntry) => {
    const { hash, ...content } = row;
    walker.push(row, computeEntryHash(content));
    return !walker.done;
  };
}

/**
 * The newest entry of every chain. A loose index scan over ledger_chain_idx: one probe per chain, so the cost
 * grows with the number of chains, not with the size of the ledger.
 */
async function currentHeads(db: Queryable): Promise<{ chainKey: string; sequence: number; hash: string }[]> {
  const rows = await queryRows<{ chainKey: string; sequence: string | number; hash: string }>(
    db,
    sql`with recursive chains(chain_key) as (
          (select chain_key from ledger_entries order by chain_key limit 1)
          union all
          select (select e.chain_key from ledger_entries e where e.chain_key > c.chain_key order by e.chain_key limit 1)
          from chains c where c.chain_key is not null
        )
        select h.chain_key as "chainKey", h.sequence, h.hash
        from chains c cross join lateral (
          select e.chain_key, e.sequence, e.hash from ledger_entries e
          where e.chain_key = c.chain_key order by e.sequence desc limit 1
        ) h`,
  );
  return rows.map((r) => ({ ...r, sequence: Number(r.sequence) }));
}

/** The newest checkpoint of each scope given. */
export async function latestCheckpoints(db: Queryable, scopes: string[]): Promise<StoredCheckpoint[]> {
  if (scopes.length === 0) return [];
  const values = sql.join(
    scopes.map((scope) => sql`(${scope})`),
    sql`, `,
  );
  const ids = await queryRows<{ id: string }>(
    db,
    sql`select c.id from (values ${values}) as s(scope) cross join lateral (
          select id from ledger_checkpoints where scope = s.scope order by issued_at desc, id desc limit 1
        ) c`,
  );
  if (ids.length === 0) return [];
  const rows = await db
    .select()
    .from(ledgerCheckpoints)
    .where(
      sql`${ledgerCheckpoints.id} in (${sql.join(
        ids.map((r) => sql`${r.id}`),
        sql`, `,
      )})`,
    );
  return rows.sort((a, b) => (a.scope < b.scope ? -1 : 1));
}

/**
 * The head a chain has now, extending the head last signed for it: the signed head must still be there,
 * unchanged, and every entry after it must link on. Returns the new head with its count, or the divergence.
 */
async function extendHead(
  db: Queryable,
  previous: ChainHead | undefined,
  current: { chainKey: string; sequence: number; hash: string },
): Promise<ChainHead | Divergence> {
  const walker = new ChainWalker(current.chainKey, [], previous);
  if (previous) {
    const [signed] = await db
      .select()
      .from(ledgerEntries)
      .where(
        and(eq(ledgerEntries.chainKey, previous.chainKey), eq(ledgerEntries.sequence, previous.sequence)),
      );
    const { hash, ...content } = signed ?? { hash: "" };
    if (
      !signed ||
      hash !== previous.hash ||
      computeEntryHash(content as Omit<StoredLedgerEntry, "hash">) !== hash
    ) {
      return {
        chainKey: previous.chainKey,
        kind: signed ? "head_rewritten" : "entry_missing",
        sequence: previous.sequence,
        intactThrough: null,
        detail: signed
          ? `entry ${previous.sequence} is no longer the head signed in the last checkpoint`
          : `entry ${previous.sequence}, the head signed in the last checkpoint, is gone`,
      };
    }
  }
  await walkChain(
    db,
    current.chainKey,
    { after: previous?.sequence ?? 0, through: current.sequence },
    pushTo(walker),
  );
  if (walker.brokenAt) return walker.brokenAt;
  return { chainKey: current.chainKey, sequence: current.sequence, count: walker.walked, hash: current.hash };
}

/**
 * Signs a checkpoint for every scope (tenant, or "provider") whose chains moved since its last checkpoint,
 * committing to all of that scope's chain heads. One signer at a time across processes (a transaction-scoped
 * advisory lock; a second caller returns at once). A scope whose chains no longer extend its last checkpoint
 * is refused, not re-signed. Cost: one probe per chain plus the entries appended since the last run.
 */
export async function signCheckpoints(db: Db, deps: CheckpointDeps): Promise<CheckpointRun> {
  return db.transaction(async (tx) => {
    const run: CheckpointRun = { signed: [], refused: [] };
    const [lock] = await queryRows<{ locked: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(hashtextextended('ledger:checkpoints', 0)) as locked`,
    );
    if (!lock?.locked) return run;
    const byScope = new Map<string, { chainKey: string; sequence: number; hash: string }[]>();
    for (const head of await currentHeads(tx)) {
      const scope = scopeOfChain(head.chainKey);
      byScope.set(scope, [...(byScope.get(scope) ?? []), head]);
    }
    const latest = new Map((await latestCheckpoints(tx, [...byScope.keys()])).map((c) => [c.scope, c]));
    for (const [scope, heads] of byScope) {
      const previous = new Map((latest.get(scope)?.heads ?? []).map((h) => [h.chainKey, h]));
      const moved =
        previous.size !== heads.length ||
        heads.some(
          (h) =>
            previous.get(h.chainKey)?.sequence !== h.sequence || previous.get(h.chainKey)?.hash !== h.hash,
        );
      if (!moved) continue;
      const next: ChainHead[] = [];
      const divergences: Divergence[] = [];
      for (const head of heads) {
        const extended = await extendHead(tx, previous.get(head.chainKey), head);
        if ("kind" in extended) divergences.push(extended);
        else next.push(extended);
      }
      for (const chainKey of previous.keys()) {
        if (!heads.some((h) => h.chainKey === chainKey)) {
          divergences.push({
            chainKey,
            kind: "chain_missing",
            sequence: previous.get(chainKey)!.sequence,
            intactThrough: null,
            detail: `chain ${chainKey} has no entries`,
          });
        }
      }
      if (divergences.length > 0) {
        run.refused.push({ scope, divergences });
        continue;
      }
      const body = buildCheckpointBody(scope, deps.now(), next);
      const row: StoredCheckpoint = {
        id: newId("checkpoint"),
        ...body,
        issuedAt: new Date(body.issuedAt),
        ...deps.keyring.sign(checkpointMessage(body)),
      };
      await tx.insert(ledgerCheckpoints).values(row);
      run.signed.push(row);
    }
    return run;
  });
}

/**
 * Whether the current ledger still holds, unchanged, every chain head each checkpoint committed to, and
 * extends it append-only. Each chain is walked once from its start, whatever the number of checkpoints.
 */
export async function verifyCheckpoints(
  db: Queryable,
  keyring: LedgerKeyring,
  checkpoints: SignedCheckpoint[],
): Promise<CheckpointVerification[]> {
  const { results } = await judgeCheckpoints(checkpoints, keyring, (walker) =>
    walkChain(db, walker.chainKey, { after: 0 }, pushTo(walker)),
  );
  return results;
}
