import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import PgBoss from "pg-boss";
import { servicenow } from "../connectors/servicenow/index.js";
import { createApp } from "../src/app.js";
import { openDatabase, queryRows } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { externalLinks, jobs } from "../src/db/schema/index.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createLogger } from "../src/lib/logger.js";
import { loadPlanCatalog } from "../src/sla/catalog.js";
import { defaultSyncSettings } from "../src/sync/settings.js";
import { runOutbox } from "./jobs.js";
import {
  BENCH_ADMIN_TOKEN,
  createBenchDatabase,
  fmt,
  median,
  percentile,
  startGateway,
  startScript,
} from "./lib.js";

export interface IngestResult {
  gateway: { requestsPerSec: number; p50Ms: number; p99Ms: number; non2xx: number }[];
  bare: { requestsPerSec: number; p50Ms: number; p99Ms: number }[];
  accepted: number;
}

async function load(url: string, headers: Record<string, string>, seconds: number, connections: number) {
  const result = await autocannon({
    url,
    method: "POST",
    connections,
    duration: seconds,
    headers: { "content-type": "application/json", ...headers },
    requests: [
      {
        // Each delivery is a different record, so every request is stored, none de-duplicated.
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ sys_id: randomBytes(16).toString("hex"), operation: "update" }),
        }),
      },
    ],
  });
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

/**
 * Inbound webhooks accepted durably per second on PostgreSQL (verified, stored in the inbox with its ledger
 * entry, then answered 202), against a bare Hono handler that only parses the body, in the same run.
 */
export async function benchWebhookIngest(options: {
  seconds: number;
  runs: number;
  connections: number;
}): Promise<IngestResult> {
  const database = await createBenchDatabase();
  // API only: the worker would start applying what is ingested and compete for the two cores.
  const gateway = await startGateway({
    port: 18_700 + Math.floor(Math.random() * 100),
    databaseUrl: database.url,
    env: { RUN_WORKER: "false" },
  });
  const bare = await startScript("bench/bare-hono.ts");
  try {
    const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" };
    const tenant = (await (
      await fetch(`${gateway.url}/v1/tenants`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "bench", plan: "ombori-enterprise" }),
      })
    ).json()) as { id: string };
    const secret = "bench-webhook-secret-0123456789";
    const connection = (await (
      await fetch(`${gateway.url}/v1/connections`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({
          type: "servicenow",
          name: "bench",
          role: "servicedesk",
          tenantId: tenant.id,
          settings: {
            baseUrl: "http://127.0.0.1:9",
            auth: { type: "basic", username: "u", password: "p" },
            webhookSecret: secret,
          },
        }),
      })
    ).json()) as { id: string };
    const result: IngestResult = { gateway: [], bare: [], accepted: 0 };
    for (let run = 0; run < options.runs; run++) {
      result.gateway.push(
        await load(
          `${gateway.url}/webhooks/${connection.id}`,
          { authorization: `Bearer ${secret}` },
          options.seconds,
          options.connections,
        ),
      );
      result.bare.push(
        await load(`${bare.url}/webhooks/${connection.id}`, {}, options.seconds, options.connections),
      );
    }
    const check = await openDatabase({ kind: "postgres", url: database.url, maxConnections: 1 });
    const [row] = await queryRows<{ count: number }>(check.db, sql`select count(*)::int as count from inbox`);
    result.accepted = row?.count ?? 0;
    await check.close();
    return result;
  } finally {
    await bare.stop();
    await gateway.stop();
    await database.drop();
  }
}

export interface DispatchResult {
  ours: { jobsPerSec: number; p50Ms: number; p99Ms: number }[];
  pgBoss: { jobsPerSec: number; p50Ms: number; p99Ms: number }[];
  jobs: number;
  workers: number;
}

/**
 * Outbound jobs delivered to the ServiceNow simulator per second on PostgreSQL: our outbox (leases with
 * SKIP LOCKED, ordered per ticket, ledger entry per delivery) against pg-boss doing the same work per job
 * (create-or-link, read back, store the link) on the same database, in the same run.
 */
export async function benchOutboxDispatch(options: {
  jobs: number;
  runs: number;
  workers: number;
}): Promise<DispatchResult> {
  const database = await createBenchDatabase();
  const simulator = await startScript("bench/simulator-server.ts");
  const db = await openDatabase({ kind: "postgres", url: database.url, maxConnections: options.workers + 4 });
  await runMigrations(db);
  const catalog = loadPlanCatalog();
  const sync = { ...defaultSyncSettings, httpRetries: 0, batchSize: 5 };
  const config = {
    adminToken: BENCH_ADMIN_TOKEN,
    publicUrl: "http://127.0.0.1:1",
    nodeEnv: "test" as const,
    secretsKey: randomBytes(32),
    sync,
    ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
  };
  const app = createApp({
    database: db,
    config,
    logger: createLogger("silent"),
    catalog,
    now: () => new Date(),
  });
  const call = async (method: string, path: string, body: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return (await res.json()) as { id: string };
  };
  const result: DispatchResult = { ours: [], pgBoss: [], jobs: options.jobs, workers: options.workers };
  const settings = {
    baseUrl: simulator.url,
    auth: { type: "basic", username: "svc.ticketsync", password: "simulator-password" },
    webhookSecret: "bench-webhook-secret-0123456789",
  };
  const boss = new PgBoss({ connectionString: database.url, max: options.workers + 2 });
  await boss.start();
  try {
    for (let run = 0; run < options.runs; run++) {
      // Ours: tickets enqueue their create jobs in their own transactions; workers drain the outbox.
      const tenant = await call("POST", "/v1/tenants", { name: `bench-${run}`, plan: "ombori-enterprise" });
      await call("POST", "/v1/connections", {
        type: "servicenow",
        name: `sn-${run}`,
        role: "servicedesk",
        tenantId: tenant.id,
        settings,
      });
      for (let i = 0; i < options.jobs; i++)
        await call("POST", "/v1/tickets", {
          tenantId: tenant.id,
          title: `bench ${run}/${i}`,
          priority: "P3",
        });
      const started = performance.now();
      const startedAt = Date.now();
      await Promise.all(
        Array.from({ length: options.workers }, async (_, w) => {
          for (;;) {
            const handled = await runOutbox(db.db, {
              engine: { secretsKey: config.secretsKey, publicUrl: config.publicUrl, sync },
              workerId: `bench-${w}`,
              now: () => new Date(),
              catalog,
            });
            if (handled === 0) return;
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      const rows = await queryRows<{ delivered_at: Date | string | null }>(
        db.db,
        sql`select finished_at as delivered_at from jobs where tenant_id = ${tenant.id} and status = 'done'`,
      );
      if (rows.length !== options.jobs) throw new Error(`outbox delivered ${rows.length} of ${options.jobs}`);
      const latencies = rows.map((r) => new Date(r.delivered_at!).getTime() - startedAt);
      result.ours.push({
        jobsPerSec: options.jobs / elapsed,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
      });

      // pg-boss: the same work per job through the same connector client, the link stored the same way.
      const queue = `bench-${run}`;
      await boss.createQueue(queue);
      const client = servicenow.createClient(servicenow.settingsSchema.parse(settings), {
        mapping: servicenow.mappingContext(servicenow.settingsSchema.parse(settings)),
        retry: { retries: 0, minTimeoutMs: 100, maxTimeoutMs: 1000 },
      });
      const tickets = await call("POST", "/v1/tenants", { name: `boss-${run}`, plan: "ombori-enterprise" });
      const bossConnection = await call("POST", "/v1/connections", {
        type: "servicenow",
        name: `boss-${run}`,
        role: "servicedesk",
        tenantId: tickets.id,
        settings,
      });
      const ids: string[] = [];
      for (let i = 0; i < options.jobs; i++)
        ids.push(
          (
            await call("POST", "/v1/tickets", {
              tenantId: tickets.id,
              title: `boss ${run}/${i}`,
              priority: "P3",
            })
          ).id,
        );
      // Their create jobs in our outbox stay untouched; pg-boss gets its own.
      await db.db.delete(jobs).where(sql`${jobs.tenantId} = ${tickets.id}`);
      // As for ours, the whole burst is queued before the workers start; latency counts from their start.
      for (const id of ids) await boss.send(queue, { ticketId: id });
      const latenciesBoss: number[] = [];
      let done = 0;
      const bossStarted = performance.now();
      const finished = new Promise<void>((resolve) => {
        const handler = async (jobs: { data: { ticketId: string } }[]) => {
          for (const job of jobs) {
            const ref = await client.createTicket({
              canonicalId: job.data.ticketId,
              title: "bench",
              description: null,
              priority: "P3",
              status: "new",
              requester: null,
              category: null,
              affectedService: null,
            });
            await client.getTicket(ref.externalId);
            await db.db
              .insert(externalLinks)
              .values({
                connectionId: bossConnection.id,
                ticketId: job.data.ticketId,
                externalId: ref.externalId,
                snapshot: {},
              })
              .onConflictDoNothing();
            latenciesBoss.push(performance.now() - bossStarted);
            done++;
            if (done === options.jobs) resolve();
          }
        };
        for (let w = 0; w < options.workers; w++)
          void boss.work(queue, { batchSize: sync.batchSize, pollingIntervalSeconds: 0.5 }, handler);
      });
      await finished;
      const bossElapsed = (performance.now() - bossStarted) / 1000;
      await boss.offWork(queue);
      result.pgBoss.push({
        jobsPerSec: options.jobs / bossElapsed,
        p50Ms: percentile(latenciesBoss, 0.5),
        p99Ms: percentile(latenciesBoss, 0.99),
      });
    }
    return result;
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    await db.close();
    await simulator.stop();
    await database.drop();
  }
}

export function syncMarkdown(
  ingest: IngestResult,
  dispatch: DispatchResult,
  ingestSeconds: number,
  connections: number,
): string {
  const g = median(ingest.gateway.map((r) => r.requestsPerSec));
  const b = median(ingest.bare.map((r) => r.requestsPerSec));
  const ours = median(dispatch.ours.map((r) => r.jobsPerSec));
  const boss = median(dispatch.pgBoss.map((r) => r.jobsPerSec));
  return [
    "## Sync throughput (PostgreSQL)",
    "",
    `### Inbound: webhooks accepted durably`,
    "",
    `\`POST /webhooks/:id\` (ServiceNow bearer secret checked in constant time, notice stored in the inbox with its ledger entry in one transaction, then 202) through a gateway process with \`RUN_WORKER=false\`, against a bare Hono handler that only parses the body; autocannon, ${connections} connections, ${ingestSeconds} s per run, runs interleaved. ${ingest.accepted} notices were stored in all.`,
    "",
    "| | median req/s | runs | p50 ms | p99 ms |",
    "|---|---:|---|---:|---:|",
    `| gateway (durable) | ${fmt(g)} | ${ingest.gateway.map((r) => fmt(r.requestsPerSec)).join(", ")} | ${fmt(median(ingest.gateway.map((r) => r.p50Ms)), 1)} | ${fmt(median(ingest.gateway.map((r) => r.p99Ms)), 1)} |`,
    `| bare Hono (no storage) | ${fmt(b)} | ${ingest.bare.map((r) => fmt(r.requestsPerSec)).join(", ")} | ${fmt(median(ingest.bare.map((r) => r.p50Ms)), 1)} | ${fmt(median(ingest.bare.map((r) => r.p99Ms)), 1)} |`,
    "",
    `Ratio gateway / bare Hono: **${fmt(g / b, 2)}** (the price of verifying, storing durably and ledgering before answering).`,
    "",
    "### Outbound: jobs delivered to the ServiceNow simulator",
    "",
    `${dispatch.jobs} ticket creations per run, ${dispatch.workers} concurrent workers, the simulator in its own process. Each job is create-or-link (a lookup and a create) plus a read-back of the record, and stores the link; ours also takes a lease, keeps per-ticket order and writes a ledger entry per delivery. Both fetch jobs in batches of 5 per worker; pg-boss polls every 0.5 s (its minimum) when a fetch comes back empty. The whole burst is queued before the workers start, for both; latency is from that start to each job's delivery (a drain of the burst, so p99 is close to the drain time).`,
    "",
    "| | median jobs/s | runs | p50 ms | p99 ms |",
    "|---|---:|---|---:|---:|",
    `| outbox (this gateway) | ${fmt(ours, 1)} | ${dispatch.ours.map((r) => fmt(r.jobsPerSec, 1)).join(", ")} | ${fmt(median(dispatch.ours.map((r) => r.p50Ms)))} | ${fmt(median(dispatch.ours.map((r) => r.p99Ms)))} |`,
    `| pg-boss 10.4.2 | ${fmt(boss, 1)} | ${dispatch.pgBoss.map((r) => fmt(r.jobsPerSec, 1)).join(", ")} | ${fmt(median(dispatch.pgBoss.map((r) => r.p50Ms)))} | ${fmt(median(dispatch.pgBoss.map((r) => r.p99Ms)))} |`,
    "",
    `Ratio outbox / pg-boss: **${fmt(ours / boss, 2)}**.`,
  ].join("\n");
}
