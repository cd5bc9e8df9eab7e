import type { z } from "zod";
import type { LedgerDivergence, LedgerDivergenceKind } from "../../schemas/ledger.js";
import {
  type ChainHead,
  checkCheckpoint,
  type SignatureCheck,
  type SignedCheckpoint,
} from "./checkpoint-format.js";
import type { LedgerKeyring } from "./keys.js";

// Pure: the gateway feeds it rows from the database, the offline verifier lines from an export.

/** What a divergence is; each kind is described in docs/ledger.md. */
export type DivergenceKind = z.infer<typeof LedgerDivergenceKind>;
export type Divergence = z.infer<typeof LedgerDivergence>;

interface WalkedEntry {
  sequence: number;
  prevHash: string | null;
  hash: string;
}

/**
 * Walks one chain in sequence order, recomputing links and hashes, and checks it against committed heads
 * (from any number of checkpoints). Stops at the first internal break; {@link finish} judges every head.
 */
export class ChainWalker {
  private readonly targets: ChainHead[];
  private readonly results: (Divergence | null | undefined)[];
  private next = 0;
  private position = 0;
  private previousHash: string | null = null;
  private lastSequence: number | null = null;
  private intactThrough: number | null = null;
  private broken: Divergence | null = null;

  /** `start`: walk on from a head already known to be intact instead of from the chain's first entry. */
  constructor(
    readonly chainKey: string,
    heads: ChainHead[],
    start?: ChainHead,
  ) {
    this.targets = [...heads].sort((a, b) => a.sequence - b.sequence);
    this.results = this.targets.map(() => undefined);
    if (start) {
      this.position = start.count;
      this.previousHash = start.hash;
      this.lastSequence = start.sequence;
      this.intactThrough = start.sequence;
    }
  }

  get done(): boolean {
    return this.broken !== null;
  }

  get brokenAt(): Divergence | null {
    return this.broken;
  }

  /** Entries in the chain so far (counting from its start, also when the walk began at a known head). */
  get walked(): number {
    return this.position;
  }

  private divergence(kind: DivergenceKind, sequence: number, detail: string): Divergence {
    return { chainKey: this.chainKey, kind, sequence, intactThrough: this.intactThrough, detail };
  }

  /** One entry, with the hash recomputed from its content by the caller. */
  push(entry: WalkedEntry, computedHash: string): void {
    if (this.broken) return;
    this.position++;
    while (this.next < this.targets.length && this.targets[this.next]!.sequence < entry.sequence) {
      const head = this.targets[this.next]!;
      this.results[this.next++] = this.divergence(
        "entry_missing",
        head.sequence,
        `the committed head ${head.sequence} is gone; the chain goes on at ${entry.sequence}`,
      );
    }
    if (entry.prevHash !== this.previousHash) {
      this.broken = this.divergence(
        "link_broken",
        entry.sequence,
        `entry ${entry.sequence} does not link to ${this.lastSequence === null ? "the chain's start" : `entry ${this.lastSequence}`}`,
      );
    } else if (computedHash !== entry.hash) {
      this.broken = this.divergence(
        "entry_altered",
        entry.sequence,
        `entry ${entry.sequence} no longer matches its hash`,
      );
    }
    if (this.broken) return;
    while (this.next < this.targets.length && this.targets[this.next]!.sequence === entry.sequence) {
      const head = this.targets[this.next]!;
      let result: Divergence | null = null;
      if (this.position !== head.count) {
        result = this.divergence(
          "position_changed",
          head.sequence,
          `entry ${head.sequence} is number ${this.position} in its chain, committed as number ${head.count}`,
        );
      } else if (entry.hash !== head.hash) {
        result = this.divergence(
          "head_rewritten",
          head.sequence,
          `entry ${head.sequence} hashes to ${entry.hash.slice(0, 12)}…, committed as ${head.hash.slice(0, 12)}…; the chain was rewritten at or before it${this.intactThrough === null ? "" : `, after ${this.intactThrough}`}`,
        );
      } else {
        this.intactThrough = head.sequence;
      }
      this.results[this.next++] = result;
    }
    this.previousHash = entry.hash;
    this.lastSequence = entry.sequence;
  }

  /** One result per head given, in the order given: null when the chain still holds it and extends it. */
  finish(heads: ChainHead[]): (Divergence | null)[] {
    for (let i = this.next; i < this.targets.length; i++) {
      const head = this.targets[i]!;
      if (this.broken) this.results[i] = this.broken;
      else if (this.position === 0)
        this.results[i] = this.divergence(
          "chain_missing",
          head.sequence,
          `chain ${this.chainKey} has no entries`,
        );
      else
        this.results[i] = this.divergence(
          "truncated",
          head.sequence,
          `the chain ends at ${this.lastSequence}, before the committed head ${head.sequence}`,
        );
    }
    const bySequence = new Map<string, Divergence | null>();
    this.targets.forEach((head, i) => {
      let result = this.results[i] ?? null;
      if (result === null && this.broken) {
        result = {
          ...this.broken,
          kind: "extension_broken",
          detail: `after the committed head: ${this.broken.detail}`,
        };
      }
      bySequence.set(`${head.sequence}:${head.count}:${head.hash}`, result);
    });
    return heads.map((head) => bySequence.get(`${head.sequence}:${head.count}:${head.hash}`) ?? null);
  }
}

export interface CheckpointVerification {
  scope: string;
  issuedAt: string;
  keyId: string;
  signature: SignatureCheck;
  /** The checkpoint itself is unusable (bad signature, root, count or scope); its chains are not compared. */
  problems: string[];
  /** Per chain, where the ledger departs from what the checkpoint committed to, first divergence first. */
  divergences: Divergence[];
  ok: boolean;
}

/**
 * Judges checkpoints against chains walked by the caller (from the database, or from an export): each
 * checkpoint's own validity, then every chain a valid one commits to (and the `alsoWalk` chains, for their
 * internal integrity) walked once. `broken`: every chain broken inside itself.
 */
export async function judgeCheckpoints(
  checkpoints: SignedCheckpoint[],
  keyring: LedgerKeyring,
  walk: (walker: ChainWalker) => Promise<void> | void,
  alsoWalk: string[] = [],
): Promise<{ results: CheckpointVerification[]; broken: Divergence[] }> {
  const checks = checkpoints.map((checkpoint) => checkCheckpoint(checkpoint, keyring));
  const headsByChain = new Map<string, ChainHead[]>(alsoWalk.map((chainKey) => [chainKey, []]));
  checkpoints.forEach((checkpoint, i) => {
    if (checks[i]!.problems.length > 0) return;
    for (const head of checkpoint.heads) {
      headsByChain.set(head.chainKey, [...(headsByChain.get(head.chainKey) ?? []), head]);
    }
  });
  const outcomes = new Map<ChainHead, Divergence | null>();
  const broken: Divergence[] = [];
  for (const [chainKey, heads] of headsByChain) {
    const walker = new ChainWalker(chainKey, heads);
    await walk(walker);
    if (walker.brokenAt) broken.push(walker.brokenAt);
    const results = walker.finish(heads);
    heads.forEach((head, i) => {
      outcomes.set(head, results[i]!);
    });
  }
  const results = checkpoints.map((checkpoint, i) => {
    const { signature, problems } = checks[i]!;
    const divergences =
      problems.length > 0
        ? []
        : checkpoint.heads
            .map((head) => outcomes.get(head) ?? null)
            .filter((d): d is Divergence => d !== null)
            .sort((a, b) => a.sequence - b.sequence);
    return {
      scope: checkpoint.scope,
      issuedAt: checkpoint.issuedAt,
      keyId: checkpoint.keyId,
      signature,
      problems,
      divergences,
      ok: problems.length === 0 && divergences.length === 0,
    };
  });
  return { results, broken };
}
