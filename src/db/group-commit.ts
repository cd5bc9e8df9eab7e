import type { Db, Queryable, Tx } from "./client.js";
import { isDatabaseUnavailable } from "./errors.js";

/** The largest batch one transaction writes: bounds its statements' size and the work one failure undoes. */
const MAX_BATCH = 256;
/**
 * Batches committing at once. While they commit, new requests gather into the next batch; two overlap one
 * batch's commit (the WAL flush) with the next one's statements.
 */
const MAX_IN_FLIGHT = 2;

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: the durable writes of concurrent requests, committed together in one transaction. `write`
 * stores a batch in the transaction it is given and returns one result per item, in order; each `submit`
 * resolves only after that transaction committed, so nothing is acknowledged before it is durable. When a
 * batch of several fails on its data (not on an unreachable database), each item is retried alone, so one
 * bad item cannot fail the others; otherwise every item of the batch is rejected with the batch's error and
 * nothing of it is stored.
 */
export class GroupCommit<I, R> {
  private readonly queue: Waiting<I, R>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly write: (tx: Queryable, items: I[]) => Promise<R[]>,
    /** `write` is one statement, atomic by itself: sent on the pool without begin and commit round trips. */
    private readonly oneStatement = false,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule() {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    // After the current I/O callbacks, so requests that arrived together are committed together.
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
      this.schedule();
    });
  }

  private async run(batch: Waiting<I, R>[]) {
    try {
      const results = await this.commit(batch.map((w) => w.item));
      for (const [i, w] of batch.entries()) w.resolve(results[i]!);
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const w of batch) w.reject(error);
        return;
      }
      for (const w of batch) {
        try {
          const [result] = await this.commit([w.item]);
          w.resolve(result!);
        } catch (alone) {
          w.reject(alone);
        }
      }
    }
  }

  private commit(items: I[]): Promise<R[]> {
    const written = async (q: Queryable) => {
      const results = await this.write(q, items);
      if (results.length !== items.length)
        throw new Error(`group commit: ${results.length} results for ${items.length} items`);
      return results;
    };
    return this.oneStatement ? written(this.db) : this.db.transaction(written);
  }
}

const committers = new WeakMap<Db, Map<string, GroupCommit<unknown, unknown>>>();

/** The process's group committer for one kind of write on one database handle (created on first use). */
export function groupCommitter<I, R>(
  db: Db,
  name: string,
  write:
    | ((tx: Tx, items: I[]) => Promise<R[]>)
    | { oneStatement: (db: Queryable, items: I[]) => Promise<R[]> },
): GroupCommit<I, R> {
  let byName = committers.get(db);
  if (!byName) {
    byName = new Map();
    committers.set(db, byName);
  }
  let committer = byName.get(name) as GroupCommit<I, R> | undefined;
  if (!committer) {
    committer =
      typeof write === "function"
        ? new GroupCommit(db, write as (tx: Queryable, items: I[]) => Promise<R[]>)
        : new GroupCommit(db, write.oneStatement, true);
    byName.set(name, committer as GroupCommit<unknown, unknown>);
  }
  return committer;
}
