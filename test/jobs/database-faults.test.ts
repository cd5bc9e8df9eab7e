import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { queryRows } from "../../src/db/client.js";
import { effectJobKinds } from "../../src/jobs/registry.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { jobContext } from "../../src/runtime.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant, engine } from "../harness.js";

// Sessions of this test's own database are terminated while jobs run: every job must still land exactly
// once, and nothing may be dead-lettered for a database fault.
describe.runIf(engine === "postgres")("jobs under transient database errors (PostgreSQL)", () => {
  let ctx: SyncTestContext;
  let sim: ServiceNowSimulator;
  let simServer: Listening;
  let admin: postgres.Sql;

  beforeAll(async () => {
    ctx = await createSyncTestApp({ leaseMs: 1_500, backoffBaseMs: 20, backoffCapMs: 100, maxAttempts: 50 });
    sim = createServiceNowSimulator({});
    simServer = await listen(sim.app);
    sim.setInstanceUrl(simServer.url);
    admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await simServer?.close();
    await ctx?.close();
  });

  it("terminates the database's sessions mid-batch and loses, duplicates and dead-letters nothing", async () => {
    const tenant = await createTenant(ctx);
    const res = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "faults",
      role: "servicedesk",
      settings: {
        baseUrl: simServer.url,
        auth: {
          type: "basic",
          username: sim.integrationUser.username,
          password: sim.integrationUser.password,
        },
        webhookSecret: "faults-webhook-secret-000000000000",
      },
    });
    expect(res.status, res.text).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const ticket = (
        await tenant.client.post("/v1/tickets", { title: `Fault ${i}`, priority: i % 3 === 0 ? "P1" : "P3" })
      ).body;
      ids.push(ticket.id);
      await tenant.client.post(`/v1/tickets/${ticket.id}/comments`, {
        body: `note ${ticket.id}`,
        visibility: "public",
      });
    }
    const dbName = new URL(ctx.database.testUrl!).pathname.slice(1);
    const runners = ["fault-a", "fault-b"].map(
      (id) =>
        new JobRunner({
          ctx: jobContext(ctx.deps, id),
          processConcurrency: 8,
          connectionConcurrency: 4,
          tickMs: 20,
          leaseMs: 1_500,
          kinds: effectJobKinds,
        }),
    );
    for (const runner of runners) runner.start();
    // Only this test's own database: files run in parallel against the same server.
    let terminated = 0;
    for (let round = 0; round < 12; round++) {
      await new Promise((r) => setTimeout(r, 120));
      const killed = await admin`select pg_terminate_backend(pid) as ok from pg_stat_activity
                                 where datname = ${dbName} and pid <> pg_backend_pid()`;
      terminated += killed.length;
    }
    expect(terminated).toBeGreaterThan(0);
    const open = async () =>
      Number(
        (
          await queryRows<{ n: number }>(
            ctx.database.db,
            sql`select count(*)::int as n from jobs where kind <> 'connection.poll' and status <> 'done'`,
          )
        )[0]?.n,
      );
    const deadline = Date.now() + 90_000;
    while ((await open().catch(() => -1)) !== 0) {
      if (Date.now() > deadline) {
        const state = await queryRows(
          ctx.database.db,
          sql`select kind, status, attempts, last_error from jobs where status <> 'done'`,
        );
        throw new Error(`jobs still open: ${JSON.stringify(state)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(runners.map((r) => r.stop(1_000)));
    const dead = await queryRows(ctx.database.db, sql`select * from jobs where status = 'dead'`);
    expect(dead).toHaveLength(0);
    for (const id of ids) {
      const records = [...sim.state.incidents.values()].filter((r) => r["correlation_id"] === id);
      expect(records, id).toHaveLength(1);
      expect(
        sim.state.journal.filter((j) => j["value"] === `note ${id}`),
        id,
      ).toHaveLength(1);
    }
    const verify = await ctx.admin.get("/v1/ledger/verify");
    expect(verify.body, verify.text).toMatchObject({ ok: true });
  }, 180_000);
});
