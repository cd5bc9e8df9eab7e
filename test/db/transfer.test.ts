// From a PGlite trial to the production database (docs/deploy.md): copyAllData moves every row, the ledger's
// hash chains still verify on the target, the target's sequences continue after the copied ids, tenant keys
// keep working, and a non-empty or unmigrated target is refused. The target is PostgreSQL when DATABASE_URL
// is set, else a second PGlite.

import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { type Database, openDatabase, queryRows } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";
import { copyAllData, TransferError } from "../../src/db/transfer.js";
import {
  client,
  createTenant,
  createTestApp,
  createTestDatabase,
  openTicket,
  TEST_ADMIN_TOKEN,
  type TestContext,
  type TestDatabase,
} from "../harness.js";

let trial: Database;
let ctx: TestContext;
let target: TestDatabase;
let tenantKey: string;

async function tableCounts(database: Database): Promise<Record<string, number>> {
  const tables = await queryRows<{ table_name: string }>(
    database.db,
    sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await queryRows<{ n: string | number }>(
      database.db,
      sql.raw(`select count(*) as n from "${table_name}"`),
    );
    counts[table_name] = Number(row?.n);
  }
  return counts;
}

beforeAll(async () => {
  trial = await openDatabase({ kind: "pglite-memory" });
  await runMigrations(trial);
  ctx = await createTestApp({ database: trial });
  const tenant = await createTenant(ctx, { name: "Trial Co" });
  tenantKey = tenant.apiKey;
  for (let i = 0; i < 3; i++) {
    const ticket = await openTicket(tenant.client, { title: `trial ticket ${i}` });
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "acknowledged" });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, { body: "On it.", visibility: "public" });
  }
  target = await createTestDatabase();
}, 120_000);

afterAll(async () => {
  await ctx?.close();
  await trial?.close();
  await target?.close();
});

describe("copyAllData (PGlite trial -> production database)", () => {
  it("copies every row of every table and the ledger still verifies", async () => {
    const report = await copyAllData(trial, target, { batchSize: 2 });
    const before = await tableCounts(trial);
    expect(await tableCounts(target)).toEqual(before);
    expect(before["tickets"]).toBe(3);
    expect(report.tables.find((t) => t.table === "tickets")?.rows).toBe(3);
    expect(report.tables.findIndex((t) => t.table === "tenants")).toBeLessThan(
      report.tables.findIndex((t) => t.table === "tickets"),
    );

    const moved = createApp({ ...ctx.deps, database: target });
    const admin = client(moved, TEST_ADMIN_TOKEN);
    const verification = await admin.get("/v1/ledger/verify");
    expect(verification.body, verification.text).toMatchObject({ ok: true, firstBrokenSequence: null });
    // Compared as PostgreSQL renders them (row_to_json), not as each driver parses them.
    const ledgerText = (database: Database) =>
      queryRows<{ row: string }>(
        database.db,
        sql`select row_to_json(t)::text as row from ledger_entries t order by sequence`,
      ).then((rows) => rows.map((r) => r.row));
    expect(await ledgerText(target)).toEqual(await ledgerText(trial));

    // The tenant's key still works, and new rows continue the copied sequences.
    const tenant = client(moved, tenantKey);
    const listed = await tenant.get("/v1/tickets");
    expect(listed.body.items, listed.text).toHaveLength(3);
    await openTicket(tenant, { title: "after the move" });
    expect((await admin.get("/v1/ledger/verify")).body).toMatchObject({ ok: true });
  });

  it("refuses a target that already has data", async () => {
    await expect(copyAllData(trial, target)).rejects.toThrow(TransferError);
    await expect(copyAllData(trial, target)).rejects.toThrow(/target is not empty/);
  });

  it("refuses an unmigrated target", async () => {
    const bare = await createTestDatabase({ migrate: false });
    try {
      await expect(copyAllData(trial, bare)).rejects.toThrow(/target database has \d+ migrations pending/);
    } finally {
      await bare.close();
    }
  }, 120_000);
});
