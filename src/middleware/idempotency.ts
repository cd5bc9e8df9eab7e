import { and, eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { credentialId } from "../auth/principal.js";
import type { Db, Tx } from "../db/client.js";
import { idempotencyKeys } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { sha256Hex } from "../lib/hash.js";

const REPLAYED_HEADERS = ["content-type", "etag", "location"];

/** The points between claim and commit where a fault can strike (tests inject session kills there). */
export type IdempotencyPoint = "claimed" | "handled" | "stored" | "committed";

/** Thrown inside the transaction to roll back an effect whose answer is not kept. */
class Discard extends Error {}

/**
 * `Idempotency-Key` on the POSTs that document it, scoped to the calling credential: a retry with the
 * same key and body gets the first response; another body is 422; a response that held a secret is never
 * replayed (409).
 *
 * The claim, the handler's change and the stored response are one transaction: the handler runs on the
 * transaction (its own transactions become savepoints), so a fault anywhere before COMMIT leaves no
 * trace and the retry runs once, and after COMMIT the retry finds the response. A concurrent request with
 * the same key waits on the claim's primary key until the first one ends. 2xx and 4xx answers are kept;
 * a 4xx never keeps an effect (its savepoint is rolled back); a 5xx rolls everything back.
 */
export function idempotency(appliesTo: (method: string, path: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined || !appliesTo(c.req.method, c.req.path)) return next();
    if (key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
      throw new GatewayError("BAD_REQUEST", "Idempotency-Key must be 1 to 255 visible ASCII characters.");
    }
    const deps = c.get("deps");
    const hook = deps.faults?.idempotency;
    const credential = credentialId(c.get("principal"));
    const body = await c.req.text();
    const requestHash = sha256Hex(`${c.req.method} ${c.req.path}\n${body}`);
    const scope = and(eq(idempotencyKeys.credentialId, credential), eq(idempotencyKeys.key, key));

    let replay = null as Response | null;
    try {
      await deps.database.db.transaction(async (tx) => {
        const claimed = await tx
          .insert(idempotencyKeys)
          .values({ credentialId: credential, key, method: c.req.method, path: c.req.path, requestHash })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key });
        if (claimed.length === 0) {
          const [existing] = await tx.select().from(idempotencyKeys).where(scope).for("update");
          if (!existing) throw new GatewayError("IDEMPOTENCY_IN_PROGRESS", "Retry the request.");
          if (existing.requestHash !== requestHash) {
            throw new GatewayError(
              "IDEMPOTENCY_KEY_REUSED",
              "This Idempotency-Key was used with a different request; use a new key for a new request.",
            );
          }
          if (existing.containsSecret) {
            throw new GatewayError(
              "IDEMPOTENCY_NOT_REPLAYABLE",
              "The first response held a secret that is shown only once; it cannot be replayed. Look the resource up instead.",
            );
          }
          // A row without an answer was claimed by an earlier release (claim committed on its own) whose
          // request never finished; holding its row lock now, this request takes it over.
          if (existing.statusCode !== null) {
            const headers = new Headers(existing.responseHeaders ?? {});
            headers.set("idempotent-replayed", "true");
            replay = new Response(JSON.stringify(existing.responseBody), {
              status: existing.statusCode,
              headers,
            });
            return;
          }
        }
        await hook?.("claimed", tx, key);
        await runHandler(tx);
        await hook?.("handled", tx, key);
        if (c.res.status >= 500) throw new Discard();
        const responseBody = await c.res
          .clone()
          .json()
          .catch(() => null);
        const responseHeaders: Record<string, string> = {};
        for (const name of REPLAYED_HEADERS) {
          const value = c.res.headers.get(name);
          if (value) responseHeaders[name] = value;
        }
        const containsSecret = c.var.responseContainsSecret === true;
        await tx
          .update(idempotencyKeys)
          .set({
            statusCode: c.res.status,
            responseBody: containsSecret ? null : responseBody,
            responseHeaders,
            containsSecret,
            completedAt: new Date(),
          })
          .where(scope);
        await hook?.("stored", tx, key);
      });
    } catch (error) {
      if (!(error instanceof Discard)) throw error;
      return;
    } finally {
      c.set("deps", deps);
    }
    if (replay) {
      c.res = replay;
      return;
    }
    await hook?.("committed", null, key);

    async function runHandler(tx: Tx) {
      try {
        await tx.transaction(async (savepoint) => {
          c.set("deps", { ...deps, database: { ...deps.database, db: savepoint as unknown as Db } });
          await next();
          // A rejected request keeps its answer but none of its writes.
          if (c.res.status >= 400) throw new Discard();
        });
      } catch (error) {
        if (!(error instanceof Discard)) throw error;
      }
    }
  };
}
