import { type ChildProcess, spawn } from "node:child_process";
import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { openDatabase, queryRows } from "../../src/db/client.js";
import { jobs as jobsTable } from "../../src/db/schema/index.js";
import { effectJobKinds } from "../../src/jobs/registry.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { generateSigningKey } from "../../src/ledger/keys.js";
import { jobContext } from "../../src/runtime.js";
import { createTenant, engine, TEST_ADMIN_TOKEN } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

// Every worker process of one deployment shares the signing key, as they share the admin token.
const ledgerSigningKey = generateSigningKey();

// Real processes and real concurrency: only meaningful (and only possible) on PostgreSQL.
describe.runIf(engine === "postgres")("job workers on PostgreSQL", () => {
  let ctx: SyncTestContext;
  let sim: ServiceNowSimulator;
  let simServer: Listening;
  let tenantId: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ctx = await createSyncTestApp();
    sim = createServiceNowSimulator({});
    simServer = await listen(sim.app);
    sim.setInstanceUrl(simServer.url);
    tenantId = (await createTenant(ctx)).id;
    const res = await ctx.admin.post("/v1/connections", {
      type: "servicenow",
      name: "crash test",
      role: "servicedesk",
      tenantId,
      settings: {
        baseUrl: simServer.url,
        auth: {
          type: "basic",
          username: sim.integrationUser.username,
          password: sim.integrationUser.password,
        },
        webhookSecret: "crash-test-webhook-secret-000000",
      },
    });
    expect(res.status, res.text).toBe(201);
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await simServer?.close();
    await ctx?.close();
  });

  function startWorker(): ChildProcess {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: ctx.database.testUrl!,
      GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      SECRETS_KEY: ctx.deps.config.secretsKey.toString("base64"),
      LEDGER_SIGNING_KEY: ledgerSigningKey,
      PUBLIC_URL: ctx.gatewayUrl,
      LOG_LEVEL: "error",
      WORKER_TICK_MS: "100",
      SYNC_LEASE_MS: "2000",
      SYNC_HTTP_TIMEOUT_MS: "1000",
      SYNC_BACKOFF_BASE_MS: "50",
      SYNC_BACKOFF_CAP_MS: "200",
    };
    const child = spawn(process.execPath, ["--import", "tsx", "src/worker-main.ts"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (d) => process.stderr.write(`[worker] ${d}`));
    children.push(child);
    return child;
  }

  async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) {
        const jobs = await ctx.database.db.select().from(jobsTable);
        const ledger = await queryRows(
          ctx.database.db,
          sql`select kind, detail from ledger_entries where kind like 'sync.%'`,
        );
        throw new Error(`timed out; outbox ${JSON.stringify(jobs)} ledger ${JSON.stringify(ledger)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const posts = (pathIncludes: string) =>
    sim.requests.filter((r) => (r.method === "POST" || r.method === "PATCH") && r.path.includes(pathIncludes))
      .length;

  it("loses nothing and duplicates nothing when a worker is SIGKILLed mid-delivery", async () => {
    const ticket = (
      await ctx.admin.post("/v1/tickets", { tenantId, title: "Survives a crash", priority: "P2" })
    ).body;
    // The instance applies the create, then hangs: the worker is killed while waiting for the answer.
    sim.faults.push({ kind: "timeout", delayMs: 4000, times: 1, match: { method: "POST" } });
    const first = startWorker();
    await waitFor(
      () =>
        sim.state.incidents.size > 0 &&
        [...sim.state.incidents.values()].some((r) => r["correlation_id"] === ticket.id),
    );
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Written after the crash",
      visibility: "public",
    });

    const second = startWorker();
    await waitFor(async () => {
      const [open] = await queryRows<{ count: number }>(
        ctx.database.db,
        sql`select count(*)::int as count from jobs where order_key = ${ticket.id} and status <> 'done'`,
      );
      return open!.count === 0;
    });
    second.kill("SIGTERM");
    const incidents = [...sim.state.incidents.values()].filter((r) => r["correlation_id"] === ticket.id);
    expect(incidents).toHaveLength(1);
    const journal = sim.state.journal.filter((j) => j["element_id"] === incidents[0]!["sys_id"]);
    expect(journal.map((j) => j["value"])).toEqual(["Written after the crash"]);
    const jobs = await ctx.database.db.select().from(jobsTable).where(eq(jobsTable.orderKey, ticket.id));
    expect(jobs.find((j) => j.kind === "ticket.create")!.attempts).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("never lets two workers deliver the same job", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push(
        (await ctx.admin.post("/v1/tickets", { tenantId, title: `Parallel ${i}`, priority: "P3" })).body.id,
      );
    }
    for (const id of ids)
      await ctx.admin.post(`/v1/tickets/${id}/comments`, { body: `note for ${id}`, visibility: "public" });
    const secondPool = await openDatabase({
      kind: "postgres",
      url: ctx.database.testUrl!,
      maxConnections: 4,
    });
    const runnerOn = (db: typeof ctx.database, id: string) =>
      new JobRunner({
        ctx: jobContext(
          { ...ctx.deps, database: db, config: { ...ctx.deps.config, publicUrl: ctx.gatewayUrl } },
          id,
        ),
        processConcurrency: 4,
        connectionConcurrency: 8,
        tickMs: 50,
        leaseMs: 10_000,
        kinds: effectJobKinds,
      });
    const first = runnerOn(ctx.database, "w1");
    const second = runnerOn({ ...secondPool, testUrl: null }, "w2");
    try {
      for (let round = 0; round < 60; round++) {
        const handled = await Promise.all([first.runUntilIdle(1), second.runUntilIdle(1)]);
        if (handled[0] + handled[1] === 0) break;
      }
    } finally {
      await secondPool.close();
    }
    for (const id of ids) {
      const records = [...sim.state.incidents.values()].filter((r) => r["correlation_id"] === id);
      expect(records, id).toHaveLength(1);
      const notes = sim.state.journal.filter((j) => j["value"] === `note for ${id}`);
      expect(notes, id).toHaveLength(1);
    }
    const pending = await ctx.database.db
      .select()
      .from(jobsTable)
      .where(and(eq(jobsTable.status, "pending"), inArray(jobsTable.kind, effectJobKinds)));
    expect(pending).toHaveLength(0);
    expect(posts("/incident")).toBeGreaterThanOrEqual(30);
  }, 60_000);
});
