import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema/index.js";

/** One type for both engines: services never know which one they run on. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either the root handle or a transaction: read helpers accept both. */
export type Queryable = Db | Tx;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** postgres-js connection string, when kind is "postgres" (migrations open their own session). */
  url: string | null;
  pglite: PGlite | null;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: "postgres"; url: string; maxConnections?: number }
  | { kind: "pglite"; dataDir: string }
  | { kind: "pglite-memory" };

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: string) {
    super(
      `The embedded database in ${dataDir} is already open in process ${pid}. ` +
        "PGlite serves one process only: stop the other gateway, or set DATABASE_URL to use PostgreSQL for more than one process.",
    );
    this.name = "DataDirLockedError";
  }
}

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === "postgres") {
    const client = postgres(target.url, {
      max: target.maxConnections ?? 10,
      onnotice: () => {},
      connection: { application_name: "ticket-sync-gateway", TimeZone: "UTC" },
    });
    const db = drizzlePostgres({ client, schema }) as unknown as Db;
    return { db, kind: "postgres", url: target.url, pglite: null, close: () => client.end({ timeout: 5 }) };
  }
  if (target.kind === "pglite-memory") {
    const client = await PGlite.create();
    const db = drizzlePglite({ client, schema }) as unknown as Db;
    return { db, kind: "pglite", url: null, pglite: client, close: () => client.close() };
  }
  mkdirSync(target.dataDir, { recursive: true });
  const releaseLock = lockDataDir(target.dataDir);
  try {
    const client = await PGlite.create(join(target.dataDir, "pglite"));
    const db = drizzlePglite({ client, schema }) as unknown as Db;
    return {
      db,
      kind: "pglite",
      url: null,
      pglite: client,
      close: async () => {
        await client.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/**
 * PGlite has no cross-process locking of its own: two processes on one directory corrupt it.
 * A lock file created with O_EXCL holds the owner's pid; a lock whose process is gone is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockPath = join(dataDir, "gateway.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, "utf8") === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = readFileSync(lockPath, "utf8").trim();
      if (owner && isProcessAlive(Number(owner))) throw new DataDirLockedError(dataDir, owner);
      unlinkSync(lockPath);
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}

function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Rows of a raw `execute`, whichever driver ran it (PGlite answers {rows}, postgres-js an array). */
export async function queryRows<T>(db: Queryable, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

export async function ping(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}

/** The SQLSTATE of a driver error, through drizzle's wrapping, on either engine. */
export function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
