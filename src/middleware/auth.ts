import { and, eq, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";
import { hashApiKey, tokenMatches } from "../auth/api-keys.js";
import type { Principal } from "../auth/principal.js";
import { type Db, queryRows } from "../db/client.js";
import { apiKeys, operators } from "../db/schema/index.js";
import { tableRows } from "../db/table-rows.js";
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

// Read on every request with a key: selected raw, the select lists built once (src/db/table-rows.ts).
const apiKeyRows = tableRows(apiKeys);
const operatorRows = tableRows(operators);

/** An API key that is not revoked, with what a principal needs; the console checks its sessions' keys with it. */
export async function activeKey(db: Db, match: SQL) {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`select ${apiKeyRows.columns}, ${operatorRows.columns}
        from ${apiKeys} left join ${operators} on ${operators.id} = ${apiKeys.operatorId}
        where ${match} and ${apiKeys.revokedAt} is null
        limit 1`,
  );
  const key = apiKeyRows.rowOf(row);
  if (!key) return null;
  return {
    id: key.id,
    kind: key.kind,
    tenantId: key.tenantId,
    operatorId: key.operatorId,
    operatorTenantIds: operatorRows.rowOf(row)?.tenantIds ?? null,
    lastUsedAt: key.lastUsedAt,
  };
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
