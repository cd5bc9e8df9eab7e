import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { PgColumn, PgDatabase, PgQueryResultHKT, PgTable } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { dbQueriesInFlight } from "../observability/metrics.js";

/**
 * One type for both engines: services never know which one they run on. Without drizzle's relational query
 * API (`db.query.*`, unused): given the schema, drizzle builds a query builder for every table on each
 * transaction it opens, a cost every ticket write paid.
 */
export type Db = PgDatabase<PgQueryResultHKT>;
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

/**
 * The embedded server's memory lives in one WASM heap that grows and never shrinks: PGlite starts it at 128 MiB
 * (its floor) and PostgreSQL's default 128 MB of shared buffers would grow it past that. 32 MB fit inside the
 * initial heap; pages beyond them come from the operating system's file cache.
 */
export const PGLITE_SETTINGS = ["shared_buffers=32MB", "work_mem=4MB", "maintenance_work_mem=32MB"];
const pgliteOptions = { postgresqlconf: PGLITE_SETTINGS };

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === "postgres") {
    const client = postgres(target.url, {
      max: target.maxConnections ?? 10,
      onnotice: () => {},
      connection: { application_name: "ticket-sync-gateway", TimeZone: "UTC" },
    });
    const db = drizzlePostgres({ client: countingQueries(client, "postgres") }) as unknown as Db;
    return { db, kind: "postgres", url: target.url, pglite: null, close: () => client.end({ timeout: 5 }) };
  }
  if (target.kind === "pglite-memory") {
    const client = await PGlite.create();
    const db = drizzlePglite({ client: countingQueries(client, "pglite") }) as unknown as Db;
    return { db, kind: "pglite", url: null, pglite: client, close: () => client.close() };
  }
  mkdirSync(target.dataDir, { recursive: true });
  const releaseLock = lockDataDir(target.dataDir);
  try {
    const path = join(target.dataDir, "pglite");
    // A first start runs initdb in a WASM instance whose memory (about 400 MB) the process keeps while the
    // PGlite that created the cluster stays open: create it, close, and serve from a fresh instance.
    if (!existsSync(join(path, "PG_VERSION"))) await (await PGlite.create(path, pgliteOptions)).close();
    const client = await PGlite.create(path, pgliteOptions);
    const db = drizzlePglite({ client: countingQueries(client, "pglite") }) as unknown as Db;
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

const queryMethods = { postgres: "unsafe", pglite: "query" } as const;
const transactionMethods = new Set(["begin", "savepoint", "transaction"]);

/**
 * The driver as drizzle sees it, counting queries in flight (`tsg_db_queries_in_flight`): drizzle sends
 * every statement through `unsafe` (postgres-js) or `query` (PGlite), inside transactions on the handle
 * `begin`/`savepoint`/`transaction` pass to their callback, which is wrapped the same way.
 */
function countingQueries<T extends object>(client: T, engine: keyof typeof queryMethods): T {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === queryMethods[engine]) {
        return (...args: unknown[]) => {
          const query = value.apply(
            target,
            engine === "postgres" ? preparedWhereStable(args) : args,
          ) as Promise<unknown>;
          dbQueriesInFlight.inc();
          const settled = () => dbQueriesInFlight.dec();
          // postgres-js runs a query on its first then(), a tick later, after drizzle's synchronous .values().
          query.then(settled, settled);
          return query;
        };
      }
      if (typeof property === "string" && transactionMethods.has(property)) {
        return (...args: unknown[]) => {
          const callback = args.at(-1) as (inner: object) => unknown;
          return value.apply(target, [
            ...args.slice(0, -1),
            (inner: object) => callback(countingQueries(inner, engine)),
          ]);
        };
      }
      return value.bind(target);
    },
  });
}

/** Statements with more parameters than this are sent unnamed (parsed and planned each time). */
const PREPARED_MAX_PARAMETERS = 16;

/**
 * postgres-js `unsafe(text, params, options)` arguments, asking for a named prepared statement (parsed and
 * planned once per connection, then only bound and executed) where the text repeats. drizzle asks for
 * unnamed ones, so every statement was parsed and planned again each time. Texts that vary with the data are
 * `IN` lists, one parameter per value: left unnamed above a few parameters, so each connection keeps a few
 * plans per statement (postgres-js keeps at most 1,000 per connection, evicting the oldest).
 */
function preparedWhereStable(args: unknown[]): unknown[] {
  const [text, params, options] = args as [
    string,
    unknown[] | undefined,
    Record<string, unknown> | undefined,
  ];
  if ((params?.length ?? 0) > PREPARED_MAX_PARAMETERS) return args;
  return [text, params, { ...options, prepare: true }];
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

/**
 * Rows as one JSON parameter, for `insert ... select ... from json_to_recordset(...)`: the statement's text is
 * the same whatever the number of rows, so it is built and planned once instead of once per row (a multi-row
 * VALUES list of a wide table costs more to build in drizzle and to plan than to run). Dates become ISO
 * instants, as drizzle writes them.
 */
export function jsonRecordset(rows: readonly Record<string, unknown>[]): SQL {
  return sql`json_to_recordset(${JSON.stringify(rows)}::json)`;
}

/** A name quoted as an SQL identifier. */
export const quotedIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A column's type as a record field: serial types are their integer types there. */
function recordFieldType(column: PgColumn): string {
  const type = column.getSQLType();
  return { bigserial: "bigint", serial: "integer", smallserial: "smallint" }[type] ?? type;
}

/**
 * Rows of `table` as one JSON parameter ({@link jsonRecordset}) with the record's fields named and typed from
 * the table's own columns, so an insert's column list and types follow the schema: `columns` lists the
 * columns' names (for `insert into t (${columns}) select ${columns} from ${from}`), `from` is the recordset
 * aliased `r`, and `names` the columns' names for statements that list them otherwise.
 */
export function tableRecordset<T extends PgTable, K extends keyof T["$inferInsert"] & string>(
  table: T,
  keys: readonly K[],
  rows: readonly Pick<T["$inferInsert"], K>[],
): { columns: SQL; from: SQL; names: string[] } {
  const all = getTableColumns(table) as Record<string, PgColumn>;
  const picked = keys.map((key) => all[key]!);
  const names = picked.map((column) => column.name);
  const records = rows.map((row) =>
    Object.fromEntries(keys.map((key, i) => [names[i], (row as Record<string, unknown>)[key] ?? null])),
  );
  const fields = sql.raw(picked.map((column) => `"${column.name}" ${recordFieldType(column)}`).join(", "));
  return {
    // One raw chunk, not a chunk per column: drizzle's cost of building a statement grows with its chunks.
    columns: sql.raw(names.map(quotedIdentifier).join(", ")),
    from: sql`${jsonRecordset(records)} as r(${fields})`,
    names,
  };
}
