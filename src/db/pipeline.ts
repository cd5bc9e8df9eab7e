import type { Queryable } from "./client.js";

/**
 * Writes sent ahead on a transaction without waiting for each one's answer. The driver queues the statements
 * of a transaction on its one connection in the order they are sent (postgres.js pipelines them, PGlite runs
 * them in turn), and the server runs them in that order: a statement sent later, read or write, sees their
 * effects, and the writes of one ticket change cost one round trip instead of one each. A write that fails
 * aborts the transaction, so every statement after it fails too ("current transaction is aborted"):
 * `pipelined` reports the first failure, which is the cause.
 */
const pipelines = new WeakMap<object, Promise<unknown>[]>();

/**
 * Sends `query` (a drizzle query, which runs when first awaited) now. Inside `pipelined` on `tx` the caller goes
 * on at once and the pipeline's end awaits the answer; anywhere else it is awaited here. Only for writes whose
 * result the caller does not need.
 */
export async function sendWrite(tx: Queryable, query: PromiseLike<unknown>): Promise<void> {
  // then() starts a drizzle query synchronously, so statements go out in the order sendWrite is called.
  const sent = new Promise((resolve, reject) => query.then(resolve, reject));
  const pending = pipelines.get(tx);
  if (!pending) {
    await sent;
    return;
  }
  // Awaited at the pipeline's end; until then a failure must not count as unhandled.
  sent.catch(() => {});
  pending.push(sent);
}

/**
 * Runs `work` with the writes it sends through {@link sendWrite} on `tx` pipelined, and awaits them all before
 * returning. Inside a pipeline already open on `tx` it simply joins it. When anything fails, it throws the
 * failure of the first write that failed, if one did, rather than a later statement's "transaction is aborted".
 */
export async function pipelined<T>(tx: Queryable, work: () => Promise<T>): Promise<T> {
  if (pipelines.has(tx)) return work();
  const pending: Promise<unknown>[] = [];
  pipelines.set(tx, pending);
  try {
    const result = await work();
    await Promise.all(pending);
    return result;
  } catch (error) {
    for (const outcome of await Promise.allSettled(pending))
      if (outcome.status === "rejected") throw outcome.reason;
    throw error;
  } finally {
    pipelines.delete(tx);
  }
}
