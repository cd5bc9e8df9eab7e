// The queue probes keyed by one record's queue (connection, order key) read that queue only, through
// jobs_order_idx, even when the statistics were taken while the queue was small (migration 0027). Checked
// with the transaction's own index-scan counters, so the real SQL functions are measured, not a copy of them.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows, type Tx } from "../../src/db/client.js";
import { connections, tenants } from "../../src/db/schema/index.js";
import { enqueueJobs, enqueueRowOf } from "../../src/jobs/queue.js";
import { ledgerAppendRowOf, ledgerFanoutJob } from "../../src/ledger/append.js";
import { unreadNotices } from "../../src/sync/notice-keys.js";
import { createTestDatabase, type TestDatabase } from "../harness.js";
import { staleQueueStatistics } from "./stale-queue-statistics.js";

let database: TestDatabase;
const tenantId = "ten_probe_plans";
const connectionId = "con_probe_0";
const jobIndexes = ["jobs_order_idx", "jobs_due_idx", "jobs_leased_idx", "jobs_pending_idx"];

beforeAll(async () => {
  database = await createTestDatabase();
  const { db } = database;
  await db.insert(tenants).values({ id: tenantId, name: "Probe plans", plan: "ombori-production" });
  await db.insert(connections).values(
    Array.from({ length: 8 }, (_, i) => ({
      id: `con_probe_${i}`,
      tenantId,
      type: "servicenow",
      name: `probe ${i}`,
      role: "servicedesk" as const,
      direction: "both" as const,
      settingsEncrypted: `settings-${i}`,
      pathSecretEncrypted: `path-${i}`,
    })),
  );
  await staleQueueStatistics(db, "con_probe_");
});
afterAll(async () => database?.close());

/** Index scans of the job table's indexes made so far in this transaction. */
async function indexScans(tx: Tx): Promise<Record<string, number>> {
  const rows = await queryRows<{ name: string; scans: number }>(
    tx,
    sql`select c.relname as name, pg_stat_get_xact_numscans(c.oid)::int as scans
        from pg_class c where c.relname in (${sql.join(
          jobIndexes.map((name) => sql`${name}`),
          sql`, `,
        )})`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.scans]));
}

/** The index scans `work` makes, in a transaction rolled back afterwards. */
async function scansOf(work: (tx: Tx) => Promise<unknown>) {
  let scans: Record<string, number> = {};
  await database.db
    .transaction(async (tx) => {
      const before = await indexScans(tx);
      await work(tx);
      const after = await indexScans(tx);
      scans = Object.fromEntries(jobIndexes.map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]));
      throw new RolledBack();
    })
    .catch((error) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return scans;
}
class RolledBack extends Error {}

/** Only the record's own queue was read: jobs_order_idx, and none of the indexes over every pending job. */
function expectOwnQueueOnly(scans: Record<string, number>) {
  expect(scans["jobs_order_idx"]).toBeGreaterThan(0);
  expect({ ...scans, jobs_order_idx: 0 }).toEqual(Object.fromEntries(jobIndexes.map((name) => [name, 0])));
}

describe("queue probes with statistics from a small queue", () => {
  it("are needed: the same probe filtered on `status = 'pending'` is planned on another index", async () => {
    const plan = await queryRows<{ "QUERY PLAN": string }>(
      database.db,
      sql`explain select 1 from jobs j
          where j.connection_id = ${connectionId} and j.order_key = 'in:record-1' and j.kind = 'inbox.apply'
            and j.status = 'pending' and j.attempts = 0 and j.locked_until is null
          order by j.id limit 1`,
    );
    const text = plan.map((row) => row["QUERY PLAN"]).join("\n");
    expect(text).toMatch(/(Index Scan using|Bitmap Index Scan on) jobs_(due|leased|pending)_idx/);
  });

  it("store_webhooks looks for an unread notice of the record in its own queue", async () => {
    const scans = await scansOf(async (tx) => {
      const job = enqueueRowOf({
        kind: "inbox.apply",
        tenantId,
        connectionId,
        orderKey: "in:record-1",
        priority: 2,
        payload: { inboxId: 0 },
      });
      const entry = (kind: string) =>
        ledgerAppendRowOf({
          tenantId,
          connectionId,
          direction: "inbound",
          kind,
          actor: { type: "connection", id: connectionId },
          side: "client",
          externalId: "record-1",
        });
      const items = [
        {
          connection_id: connectionId,
          status: "active",
          settings_encrypted: "settings-0",
          path_secret_encrypted: "path-0",
          received_at: new Date().toISOString(),
          repairs: [],
          notices: [
            {
              delivery_key: null,
              unique_key: "probe:record-1",
              external_id: "record-1",
              notice: { externalId: "record-1" },
              job,
              received_entry: entry("sync.received"),
              duplicate_entry: entry("sync.duplicate"),
            },
          ],
        },
      ];
      const [row] = await queryRows<{ stored: unknown }>(
        tx,
        sql`select store_webhooks(${JSON.stringify(items)}::jsonb, ${JSON.stringify(ledgerFanoutJob())}::jsonb) as stored`,
      );
      expect(row!.stored).toEqual([{ accepted: 1, duplicates: 0 }]);
    });
    expectOwnQueueOnly(scans);
  });

  it("enqueue_jobs reads a job's predecessors in its own queue", async () => {
    const scans = await scansOf((tx) =>
      enqueueJobs(tx, [
        { kind: "ticket.update", tenantId, connectionId, orderKey: "tkt_probe", payload: {} },
      ]),
    );
    expectOwnQueueOnly(scans);
  });

  it("unreadNotices reads each record's own queue", async () => {
    const scans = await scansOf(async (tx) => {
      const unread = await unreadNotices(tx, [
        { connectionId, externalId: "backlog-8" },
        { connectionId, externalId: "record-2" },
      ]);
      expect([...unread]).toEqual([`${connectionId}\nbacklog-8`]);
    });
    expectOwnQueueOnly(scans);
  });
});
