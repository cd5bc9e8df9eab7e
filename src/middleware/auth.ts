import { and, eq, isNull, lt, or, type SQL } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { hashApiKey, tokenMatches } from "../auth/api-keys.js";
import type { Principal } from "../auth/principal.js";
import type { Db } from "../db/client.js";
import { apiKeys, operators } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";

const LAST_USED_RESOLUTION_MS = 5 * 60_000;

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** Resolves `Authorization: Bearer <key>` to a principal; anything else is 401. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const presented = bearerToken(c.req.header("authorization"));
    if (presented === null) throw new GatewayError("UNAUTHORIZED", "Send Authorization: Bearer <api key>.");
    const deps = c.get("deps");
    if (tokenMatches(presented, deps.config.adminToken)) {
      c.set("principal", { kind: "admin" });
      return next();
    }
    const db = deps.database.db;
    const key = await activeKey(db, eq(apiKeys.keyHash, hashApiKey(presented)));
    if (!key) throw new GatewayError("UNAUTHORIZED", "The API key is unknown or revoked.");
    const principal = principalOfKey(key);
    if (!principal) throw new GatewayError("UNAUTHORIZED", "The API key is not usable.");
    c.set("principal", principal);
    const now = new Date();
    // Recording every use would turn each read into a write; a coarse timestamp is enough.
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await db
        .update(apiKeys)
        .set({ lastUsedAt: now })
        .where(
          and(
            eq(apiKeys.id, key.id),
            or(
              isNull(apiKeys.lastUsedAt),
              lt(apiKeys.lastUsedAt, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)),
            ),
          ),
        );
    }
    return next();
  };
}

/** An API key that is not revoked, with what a principal needs; the console checks its sessions' keys with it. */
export async function activeKey(db: Db, match: SQL) {
  const [key] = await db
    .select({
      id: apiKeys.id,
      kind: apiKeys.kind,
      tenantId: apiKeys.tenantId,
      operatorId: apiKeys.operatorId,
      operatorTenantIds: operators.tenantIds,
      lastUsedAt: apiKeys.lastUsedAt,
    })
    .from(apiKeys)
    .leftJoin(operators, eq(operators.id, apiKeys.operatorId))
    .where(and(match, isNull(apiKeys.revokedAt)))
    .limit(1);
  return key ?? null;
}

export function principalOfKey(key: NonNullable<Awaited<ReturnType<typeof activeKey>>>): Principal | null {
  if (key.kind === "tenant" && key.tenantId) {
    return { kind: "tenant", tenantId: key.tenantId, keyId: key.id };
  }
  if (key.kind === "operator" && key.operatorId) {
    return {
      kind: "operator",
      operatorId: key.operatorId,
      keyId: key.id,
      tenantIds: key.operatorTenantIds ?? null,
    };
  }
  return null;
}

export function requireAdmin(principal: Principal): void {
  if (principal.kind !== "admin") {
    throw new GatewayError("FORBIDDEN", "This route takes the admin token.");
  }
}

export function requireProvider(principal: Principal): void {
  if (principal.kind === "tenant") {
    throw new GatewayError("FORBIDDEN", "This action is the provider's; a tenant key may not do it.");
  }
}
