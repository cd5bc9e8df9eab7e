import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type App, createApp } from "../src/app.js";
import type { AppDeps } from "../src/app-env.js";
import { type Database, openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createLogger } from "../src/lib/logger.js";
import { loadPlanCatalog } from "../src/sla/catalog.js";
import { defaultSyncSettings } from "../src/sync/settings.js";

/** Which engine this run uses: PostgreSQL when DATABASE_URL is set (as CI's second pass does), else PGlite. */
export const engine: "postgres" | "pglite" = process.env.DATABASE_URL ? "postgres" : "pglite";

export interface TestDatabase extends Database {
  /** Connection string of this file's own database (PostgreSQL only). */
  testUrl: string | null;
}

/**
 * A database per test file: a fresh in-memory PGlite, or a new PostgreSQL database created from
 * DATABASE_URL and dropped at the end. Both get the same drizzle/ migrations production applies.
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const baseUrl = process.env.DATABASE_URL;
  let database: Database;
  let testUrl: string | null = null;
  let drop: (() => Promise<void>) | null = null;
  if (baseUrl) {
    const name = `tsg_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
    const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    await admin.end();
    const url = new URL(baseUrl);
    url.pathname = `/${name}`;
    testUrl = url.toString();
    database = await openDatabase({ kind: "postgres", url: testUrl, maxConnections: 12 });
    drop = async () => {
      const cleanup = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    };
  } else {
    database = await openDatabase({ kind: "pglite-memory" });
  }
  if (options.migrate !== false) await runMigrations(database);
  return {
    ...database,
    testUrl,
    close: async () => {
      await database.close();
      if (drop) await drop();
    },
  };
}

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

export interface TestContext {
  app: App;
  database: TestDatabase;
  admin: Client;
  deps: AppDeps;
  close(): Promise<void>;
}

export async function createTestApp(overrides: Partial<AppDeps> = {}): Promise<TestContext> {
  const database = await createTestDatabase();
  const deps: AppDeps = {
    database,
    config: {
      adminToken: TEST_ADMIN_TOKEN,
      publicUrl: "http://gateway.test",
      nodeEnv: "test",
      secretsKey: Buffer.alloc(32, 9),
      ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
      sync: {
        ...defaultSyncSettings,
        backoffBaseMs: 50,
        backoffCapMs: 500,
        pollIntervalMs: 500,
        leaseMs: 5000,
        httpTimeoutMs: 2000,
        httpRetries: 0,
      },
    },
    logger: createLogger("silent"),
    catalog: loadPlanCatalog(),
    now: () => new Date(),
    ...overrides,
  };
  const app = createApp(deps);
  return { app, database, deps, admin: client(app, TEST_ADMIN_TOKEN), close: () => database.close() };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export type Client = ReturnType<typeof client>;

/** A small HTTP client over `app.request()` that keeps the raw text for failure messages. */
export function client(app: App, token: string | null) {
  const send = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (token) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
    if (body !== undefined) {
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await app.request(path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  };
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) =>
      send<T>("GET", path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      send<T>("POST", path, body, headers),
    patch: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      send<T>("PATCH", path, body, headers),
    put: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      send<T>("PUT", path, body, headers),
    delete: <T = any>(path: string, headers?: Record<string, string>) =>
      send<T>("DELETE", path, undefined, headers),
  };
}

export async function createTenant(
  ctx: TestContext,
  overrides: { name?: string; plan?: string; timezone?: string | null } = {},
) {
  const res = await ctx.admin.post("/v1/tenants", {
    name: overrides.name ?? "Acme",
    plan: overrides.plan ?? "ombori-production",
    ...(overrides.timezone !== undefined ? { timezone: overrides.timezone } : {}),
  });
  if (res.status !== 201) throw new Error(`tenant create failed: ${res.status} ${res.text}`);
  return {
    id: res.body.id as string,
    apiKey: res.body.apiKey as string,
    keyId: res.body.keyId as string,
    client: client(ctx.app, res.body.apiKey),
  };
}

export async function createOperator(ctx: TestContext, tenantIds: string[] | null = null) {
  const res = await ctx.admin.post("/v1/operators", { name: "Night shift", tenantIds });
  if (res.status !== 201) throw new Error(`operator create failed: ${res.status} ${res.text}`);
  return {
    id: res.body.id as string,
    apiKey: res.body.apiKey as string,
    client: client(ctx.app, res.body.apiKey),
  };
}

export async function openTicket(api: Client, body: Record<string, unknown> = {}) {
  const res = await api.post("/v1/tickets", { title: "Router down", priority: "P2", ...body });
  if (res.status !== 201) throw new Error(`ticket create failed: ${res.status} ${res.text}`);
  return res.body as { id: string; version: number; status: string; tenantId: string };
}
