import { sql } from "drizzle-orm";
import { type Database, queryRows } from "./client.js";
import { pendingMigrationCount } from "./migrate.js";

export interface TransferReport {
  tables: { table: string; rows: number }[];
}

export class TransferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransferError";
  }
}

const ident = (name: string) => sql.raw(`"${name.replaceAll('"', '""')}"`);

/**
 * Copies every row of every table from one gateway database to another (a PGlite trial to PostgreSQL):
 * tenants, keys, connections, tickets, comments, the ledger with its hash chains, the sync state. Both must
 * be migrated by this build and the target must be empty. Rows travel as JSON (`row_to_json` then
 * `json_populate_recordset`), so every value is re-read by PostgreSQL's own input functions; parents go
 * before children (foreign keys), all in one target transaction, and serial sequences continue after
 * the copied ids. The target either gets everything or nothing.
 */
export async function copyAllData(
  source: Database,
  target: Database,
  options: { batchSize?: number; log?: (line: string) => void } = {},
): Promise<TransferReport> {
  const batchSize = options.batchSize ?? 500;
  for (const [role, database] of [
    ["source", source],
    ["target", target],
  ] as const) {
    const pending = await pendingMigrationCount(database);
    if (pending > 0) throw new TransferError(`the ${role} database has ${pending} migrations pending`);
  }
  const tables = await tablesInDependencyOrder(source);
  for (const table of tables) {
    const [row] = await queryRows<{ n: string | number }>(
      target.db,
      sql`select count(*) as n from ${ident(table)}`,
    );
    if (Number(row?.n ?? 0) > 0) throw new TransferError(`the target is not empty: ${table} has rows`);
  }

  const report: TransferReport = { tables: [] };
  await target.db.transaction(async (tx) => {
    for (const table of tables) {
      let copied = 0;
      for (;;) {
        const rows = await queryRows<{ batch: string | null }>(
          source.db,
          sql`select json_agg(t)::text as batch from (select * from ${ident(table)} order by 1 limit ${batchSize} offset ${copied}) t`,
        );
        const batch = rows[0]?.batch;
        if (!batch) break;
        const count = (JSON.parse(batch) as unknown[]).length;
        await tx.execute(
          sql`insert into ${ident(table)} select * from json_populate_recordset(null::${ident(table)}, ${batch}::json)`,
        );
        copied += count;
        if (count < batchSize) break;
      }
      report.tables.push({ table, rows: copied });
      options.log?.(`${table}: ${copied} rows`);
    }
    const serials = await queryRows<{ table_name: string; column_name: string }>(
      tx,
      sql`select table_name, column_name from information_schema.columns
          where table_schema = 'public' and column_default like 'nextval(%'`,
    );
    for (const { table_name, column_name } of serials) {
      await tx.execute(
        sql`select setval(pg_get_serial_sequence(${`"${table_name}"`}, ${column_name}),
                          coalesce((select max(${ident(column_name)}) from ${ident(table_name)}), 0) + 1, false)`,
      );
    }
  });
  return report;
}

/** The public tables, each after the tables its foreign keys point to. */
async function tablesInDependencyOrder(database: Database): Promise<string[]> {
  const tables = (
    await queryRows<{ table_name: string }>(
      database.db,
      sql`select table_name from information_schema.tables
          where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    )
  ).map((row) => row.table_name);
  const edges = await queryRows<{ child: string; parent: string }>(
    database.db,
    sql`select c.relname as child, p.relname as parent from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
        join pg_namespace n on n.oid = c.relnamespace
        where k.contype = 'f' and n.nspname = 'public'`,
  );
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (table: string) => {
    if (ordered.includes(table) || visiting.has(table)) return;
    visiting.add(table);
    for (const edge of edges) if (edge.child === table && edge.parent !== table) visit(edge.parent);
    visiting.delete(table);
    ordered.push(table);
  };
  for (const table of tables) visit(table);
  return ordered;
}
