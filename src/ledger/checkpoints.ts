import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
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

/** A chain in sequence order (all of it, or the entries in (after, through]), in batches; stops when `visit` says so. */
async function walkChain(
  db: Queryable,
  chainKey: string,
  visit: (entry: StoredLedgerEntry) => boolean,
  range: { after: number; through: number } = { after: 0, through: Number.MAX_SAFE_INTEGER },
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
          lte(ledgerEntries.sequence, range.through),
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
      inArray(
        ledgerCheckpoints.id,
        ids.map((r) => r.id),
      ),
    );
  return rows.sort((a, b) => (a.scope < b.scope ? -1 : 1));
}

/**
 * The head a chain has now, extending the head last signed for it: the signed head must still be there,
 * unchanged, and every entry after it (`appended`, in order) must link on. The new head, or the divergence.
 */
async function extendHead(
  db: Queryable,
  previous: ChainHead | undefined,
  signedRow: StoredLedgerEntry | undefined,
  current: { chainKey: string; sequence: number; hash: string },
): Promise<ChainHead | Divergence> {
  if (previous) {
    const intact =
      signedRow !== undefined &&
      signedRow.chainKey === previous.chainKey &&
      signedRow.hash === previous.hash &&
      computeEntryHash(withoutHash(signedRow)) === signedRow.hash;
    if (!intact) {
      return {
        chainKey: previous.chainKey,
        kind: signedRow ? "head_rewritten" : "entry_missing",
        sequence: previous.sequence,
        intactThrough: null,
        detail: signedRow
          ? `entry ${previous.sequence} is no longer the head signed in the last checkpoint`
          : `entry ${previous.sequence}, the head signed in the last checkpoint, is gone`,
      };
    }
  }
  const walker = new ChainWalker(current.chainKey, [], previous);
  const push = pushTo(walker);
  let last: number | undefined;
  // In batches: a first checkpoint over years of history (or a long pause) never holds it all in memory.
  await walkChain(
    db,
    current.chainKey,
    (row) => {
      last = row.sequence;
      return push(row);
    },
    { after: previous?.sequence ?? 0, through: current.sequence },
  );
  if (walker.brokenAt) return walker.brokenAt;
  if (last !== current.sequence) {
    return {
      chainKey: current.chainKey,
      kind: "link_broken",
      sequence: current.sequence,
      intactThrough: previous?.sequence ?? null,
      detail: `entry ${current.sequence} is not reachable from the last signed head`,
    };
  }
  return { chainKey: current.chainKey, sequence: current.sequence, count: walker.walked, hash: current.hash };
}

function withoutHash(row: StoredLedgerEntry): Omit<StoredLedgerEntry, "hash"> {
  const { hash: _hash, ...content } = row;
  return content;
}

const CHUNK = 100;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Entries by sequence (the ledger's primary key), a hundred per query. */
async function entriesAt(db: Queryable, sequences: number[]): Promise<Map<number, StoredLedgerEntry>> {
  const found = new Map<number, StoredLedgerEntry>();
  for (const part of chunks(sequences)) {
    for (const row of await db.select().from(ledgerEntries).where(inArray(ledgerEntries.sequence, part))) {
      found.set(row.sequence, row);
    }
  }
  return found;
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
    const signedHeads = (scope: string) =>
      new Map((latest.get(scope)?.heads ?? []).map((h) => [h.chainKey, h]));
    // Only chains whose head moved are read, all at once: the signed head's entry and what came after it.
    const moved = [...byScope.entries()].flatMap(([scope, heads]) => {
      const previous = signedHeads(scope);
      return heads
        .filter(
          (h) =>
            previous.get(h.chainKey)?.sequence !== h.sequence || previous.get(h.chainKey)?.hash !== h.hash,
        )
        .map((current) => ({ current, previous: previous.get(current.chainKey) }));
    });
    const signedRows = await entriesAt(
      tx,
      moved.flatMap((m) => (m.previous ? [m.previous.sequence] : [])),
    );
    for (const [scope, heads] of byScope) {
      const previous = signedHeads(scope);
      const scopeMoved =
        previous.size !== heads.length || moved.some((m) => scopeOfChain(m.current.chainKey) === scope);
      if (!scopeMoved) continue;
      const next: ChainHead[] = [];
      const divergences: Divergence[] = [];
      for (const head of heads) {
        const before = previous.get(head.chainKey);
        const unchanged = before?.sequence === head.sequence && before.hash === head.hash;
        const extended = unchanged
          ? before
          : await extendHead(tx, before, before ? signedRows.get(before.sequence) : undefined, head);
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
      run.signed.push(row);
    }
    for (const part of chunks(run.signed)) await tx.insert(ledgerCheckpoints).values(part);
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
    walkChain(db, walker.chainKey, pushTo(walker)),
  );
  return results;
}
