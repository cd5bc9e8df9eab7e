import { randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, gt } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppDeps, AppEnv } from "../app-env.js";
import { hashApiKey, tokenMatches } from "../auth/api-keys.js";
import type { Principal } from "../auth/principal.js";
import { DEFAULT_CONSOLE_SESSION_TTL_MS } from "../config.js";
import { apiKeys, consoleSessions } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { activeKey, principalOfKey } from "../middleware/auth.js";

export const SESSION_COOKIE = "tsg_session";
export const CONSOLE_PATH = "/console";

export interface ConsoleSession {
  /** The stored id (hash of the cookie's token). */
  id: string;
  csrfToken: string;
  viewerZone: string | null;
}

export interface ConsoleEnv extends AppEnv {
  Variables: AppEnv["Variables"] & { session: ConsoleSession };
}

/** Exchanges a presented key for a session; null when the key is unknown, revoked or unusable. */
export async function signIn(deps: AppDeps, presented: string): Promise<{ token: string } | null> {
  let principal: Principal | null;
  if (tokenMatches(presented, deps.config.adminToken)) principal = { kind: "admin" };
  else {
    const key = await activeKey(deps.database.db, eq(apiKeys.keyHash, hashApiKey(presented)));
    principal = key ? principalOfKey(key) : null;
  }
  if (!principal) return null;
  const token = randomBytes(32).toString("base64url");
  const now = deps.now();
  const db = deps.database.db;
  await db.insert(consoleSessions).values({
    id: hashApiKey(token),
    principalKind: principal.kind,
    keyId: principal.kind === "admin" ? null : principal.keyId,
    csrfToken: randomBytes(24).toString("base64url"),
    createdAt: now,
    expiresAt: new Date(now.getTime() + (deps.config.consoleSessionTtlMs ?? DEFAULT_CONSOLE_SESSION_TTL_MS)),
  });
  return { token };
}

/**
 * The session behind a cookie token, with its principal re-read from the key on every request: a revoked
 * key (or a changed operator scope) takes effect at once. A session whose key is gone is deleted.
 */
export async function loadSession(
  deps: AppDeps,
  token: string,
): Promise<{ session: ConsoleSession; principal: Principal } | null> {
  const db = deps.database.db;
  const id = hashApiKey(token);
  const [row] = await db
    .select()
    .from(consoleSessions)
    .where(and(eq(consoleSessions.id, id), gt(consoleSessions.expiresAt, deps.now())));
  if (!row) return null;
  const session = { id: row.id, csrfToken: row.csrfToken, viewerZone: row.viewerZone };
  if (row.principalKind === "admin") return { session, principal: { kind: "admin" } };
  const key = row.keyId ? await activeKey(db, eq(apiKeys.id, row.keyId)) : null;
  const principal = key ? principalOfKey(key) : null;
  if (!principal || principal.kind !== row.principalKind) {
    await db.delete(consoleSessions).where(eq(consoleSessions.id, id));
    return null;
  }
  return { session, principal };
}

export async function signOut(deps: AppDeps, sessionId: string): Promise<void> {
  await deps.database.db.delete(consoleSessions).where(eq(consoleSessions.id, sessionId));
}

export async function setViewerZone(deps: AppDeps, sessionId: string, zone: string | null): Promise<void> {
  await deps.database.db
    .update(consoleSessions)
    .set({ viewerZone: zone })
    .where(eq(consoleSessions.id, sessionId));
}

/** Secure when the request came over https or the gateway's public URL is https (a TLS-terminating proxy). */
function isSecure(c: Context<ConsoleEnv>): boolean {
  return new URL(c.req.url).protocol === "https:" || c.get("deps").config.publicUrl.startsWith("https:");
}

export function setSessionCookie(c: Context<ConsoleEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    secure: isSecure(c),
    path: CONSOLE_PATH,
    maxAge: Math.floor((c.get("deps").config.consoleSessionTtlMs ?? DEFAULT_CONSOLE_SESSION_TTL_MS) / 1000),
  });
}

export function clearSessionCookie(c: Context<ConsoleEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_PATH, secure: isSecure(c) });
}

/**
 * A cross-site POST names another origin (browsers send Origin on every POST); an absent Origin is a
 * non-browser client, which holds no victim's cookie to abuse.
 */
export function sameOrigin(c: Context<ConsoleEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return true;
  const host = c.req.header("host") ?? new URL(c.req.url).host;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function tokensEqual(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Every console route but sign-in and the static files: a valid session or a redirect to sign-in; every
 * POST also carries the session's CSRF token in `_csrf` and a same-origin Origin, or gets 403.
 */
export function requireSession(): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    const loaded = token ? await loadSession(c.get("deps"), token) : null;
    if (!loaded) {
      if (token) clearSessionCookie(c);
      return c.redirect(`${CONSOLE_PATH}/sign-in`, 303);
    }
    c.set("principal", loaded.principal);
    c.set("session", loaded.session);
    if (c.req.method === "POST") {
      const body = await c.req.parseBody();
      const presented = typeof body._csrf === "string" ? body._csrf : "";
      if (!sameOrigin(c) || !tokensEqual(presented, loaded.session.csrfToken)) {
        throw new GatewayError("FORBIDDEN", "The form is stale or came from another site; reload the page.");
      }
    }
    await next();
  };
}
