import { and, eq, lt } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { credentialId } from "../auth/principal.js";
import { idempotencyKeys } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { sha256Hex } from "../lib/hash.js";

// A claim whose request never finished (the process died) may be taken over after this long.
const STALE_CLAIM_MS = 60_000;
const REPLAYED_HEADERS = ["content-type", "etag", "location"];

/**
 * `Idempotency-Key` on POSTs that create things, scoped to the calling credential: a retry with the
 * same key and body gets the first response; another body is 422; a response that held a secret is
 * never replayed (409). Only completed 2xx/4xx responses are kept; a 5xx frees the key for a retry.
 */
export function idempotency(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (c.req.method !== "POST" || key === undefined) return next();
    if (key.length < 1 || key.length > 255) {
      throw new GatewayError("BAD_REQUEST", "Idempotency-Key must be 1 to 255 characters.");
    }
    const db = c.get("deps").database.db;
    const credential = credentialId(c.get("principal"));
    const body = await c.req.text();
    const requestHash = sha256Hex(`${c.req.method} ${c.req.path}\n${body}`);
    const scope = and(eq(idempotencyKeys.credentialId, credential), eq(idempotencyKeys.key, key));

    const claimed = await db
      .insert(idempotencyKeys)
      .values({ credentialId: credential, key, method: c.req.method, path: c.req.path, requestHash })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (claimed.length === 0) {
      const [existing] = await db.select().from(idempotencyKeys).where(scope);
      if (!existing) throw new GatewayError("IDEMPOTENCY_IN_PROGRESS", "Retry the request.");
      if (existing.requestHash !== requestHash) {
        throw new GatewayError(
          "IDEMPOTENCY_KEY_REUSED",
          "This Idempotency-Key was used with a different request; use a new key for a new request.",
        );
      }
      if (existing.statusCode === null) {
        const stale = Date.now() - existing.createdAt.getTime() > STALE_CLAIM_MS;
        const takenOver = stale
          ? await db
              .update(idempotencyKeys)
              .set({ createdAt: new Date() })
              .where(and(scope, lt(idempotencyKeys.createdAt, new Date(Date.now() - STALE_CLAIM_MS))))
              .returning({ key: idempotencyKeys.key })
          : [];
        if (takenOver.length === 0) {
          throw new GatewayError(
            "IDEMPOTENCY_IN_PROGRESS",
            "The first request with this key is still running.",
          );
        }
      } else if (existing.containsSecret) {
        throw new GatewayError(
          "IDEMPOTENCY_NOT_REPLAYABLE",
          "The first response held a secret that is shown only once; it cannot be replayed. Look the resource up instead.",
        );
      } else {
        const headers = new Headers(existing.responseHeaders ?? {});
        headers.set("idempotent-replayed", "true");
        return c.body(
          JSON.stringify(existing.responseBody),
          existing.statusCode as 200,
          Object.fromEntries(headers),
        );
      }
    }

    try {
      await next();
    } catch (error) {
      await db.delete(idempotencyKeys).where(scope);
      throw error;
    }
    if (c.res.status >= 500) {
      await db.delete(idempotencyKeys).where(scope);
      return;
    }
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
    await db
      .update(idempotencyKeys)
      .set({
        statusCode: c.res.status,
        responseBody: containsSecret ? null : responseBody,
        responseHeaders,
        containsSecret,
        completedAt: new Date(),
      })
      .where(scope);
  };
}
