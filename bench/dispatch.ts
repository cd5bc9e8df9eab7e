import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphileWorker } from "graphile-worker";
import PgBoss from "pg-boss";
import { servicenow } from "../connectors/servicenow/index.js";
import { createApp } from "../src/app.js";
import { type Db, openDatabase, queryRows } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { externalLinks, jobs } from "../src/db/schema/index.js";
import { enqueueJobs } from "../src/jobs/queue.js";
import { jobHandlers } from "../src/jobs/registry.js";
import { JobRunner, jobLedgerEntry } from "../src/jobs/runner.js";
import type { JobHandlers } from "../src/jobs/types.js";
import { appendLedger } from "../src/ledger/append.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createLogger } from "../src/lib/logger.js";
import { loadPlanCatalog } from "../src/sla/catalog.js";
import { defaultSyncSettings } from "../src/sync/settings.js";
import {
  BENCH_ADMIN_TOKEN,
  createBenchDatabase,
  fmt,
  machineDescription,
  median,
  startScript,
} from "./lib.js";

export const dispatchHeading = "## Outbound dispatch against PostgreSQL job queues";

type Queue = "ours" | "pgBoss" | "graphile";
type Mode = "noop" | "vendor";

export interface DispatchComparison {
  concurrency: number;
  jobs: Record<Mode, number>;
  /** Jobs per second per run, by mode and queue. */
  runs: Record<Mode, Record<Queue, number[]>>;
  pgBoss: { workers: number; batchSize: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` reaches `n` (checked every 20 ms, the same for every queue); returns when it did. */
async function until(n: number, done: () => Promise<number>, label: string): Promise<number> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    if ((await done()) >= n) return performance.now();
    if (Date.now() > deadline) throw new Error(`${label}: ${await done()} of ${n} jobs done after 300 s`);
    await sleep(20);
  }
}

async function count(db: Db, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(db, query);
  return Number(row?.n ?? 0);
}

/**
 * Outbound dispatch on PostgreSQL, three queues doing the same work at the same concurrency, runs interleaved:
 * our job runner (leases, per-ticket order, a ledger entry committed with each job's completion), pg-boss 10.4.2
 * and graphile-worker 0.16. A burst of jobs is queued, then the workers start; jobs per second run from the
 * start until the database shows every job completed (checked every 20 ms for all three).
 * - `noop`: the queue alone: claim, a handler that does nothing, mark done; ours also appends the job's
 *   hash-chained ledger entry in the transaction that marks it done (over 8 tenants' chains).
 * - `vendor`: a ticket create at the ServiceNow simulator (its own process): create-or-link (a lookup and a
 *   create), a read-back, the link stored; ours is the real `ticket.create` job with its ledger entry.
 */
export async function benchDispatch(options: {
  jobs: Record<Mode, number>;
  runs: number;
  concurrency: number;
}): Promise<DispatchComparison> {
  const { concurrency } = options;
  // pg-boss waits its polling interval (0.5 s at least) after every fetch unless the worker is notified:
  // each worker notifies itself after a full batch, so a busy queue is fetched back to back.
  const boss = { workers: 2, batchSize: concurrency / 2 };
  const database = await createBenchDatabase();
  const simulator = await startScript("bench/simulator-server.ts");
  const opened = await openDatabase({ kind: "postgres", url: database.url, maxConnections: concurrency + 4 });
  const db = opened.db;
  const silent = createLogger("silent");
  const catalog = loadPlanCatalog();
  const sync = { ...defaultSyncSettings, httpRetries: 0 };
  const secretsKey = randomBytes(32);
  const engine = { secretsKey, publicUrl: "http://127.0.0.1:1", sync };
  const result: DispatchComparison = {
    concurrency,
    jobs: options.jobs,
    runs: {
      noop: { ours: [], pgBoss: [], graphile: [] },
      vendor: { ours: [], pgBoss: [], graphile: [] },
    },
    pgBoss: boss,
  };
  const pgBoss = new PgBoss({ connectionString: database.url, max: concurrency + 2 });
  pgBoss.on("error", () => {});
  const graphileLogger = new GraphileLogger(() => () => {});
  try {
    await runMigrations(opened);
    await pgBoss.start();
    const utils = await makeWorkerUtils({ connectionString: database.url, logger: graphileLogger });
    await utils.migrate();
    await utils.release();
    const app = createApp({
      database: opened,
      config: {
        adminToken: BENCH_ADMIN_TOKEN,
        publicUrl: engine.publicUrl,
        nodeEnv: "test",
        secretsKey,
        sync,
        ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
      },
      logger: silent,
      catalog,
      now: () => new Date(),
    });
    const call = async (method: string, path: string, body: unknown) => {
      const res = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { id: string };
    };
    const settings = {
      baseUrl: simulator.url,
      auth: { type: "basic", username: "svc.ticketsync", password: "simulator-password" },
      webhookSecret: "bench-webhook-secret-0123456789",
    };
    const parsed = servicenow.settingsSchema.parse(settings);
    const client = servicenow.createClient(parsed, {
      mapping: servicenow.mappingContext(parsed),
      retry: { retries: 0, minTimeoutMs: 100, maxTimeoutMs: 1000 },
    });
    const tenants: string[] = [];
    for (let t = 0; t < 8; t++)
      tenants.push((await call("POST", "/v1/tenants", { name: `noop-${t}`, plan: "ombori-enterprise" })).id);

    /** A vendor create as the peers run it: the same connector client, the link stored the same way. */
    const deliver = async (connectionId: string, ticketId: string) => {
      const ref = await client.createTicket({
        canonicalId: ticketId,
        title: "bench",
        description: null,
        priority: "P3",
        status: "new",
        requester: null,
        category: null,
        affectedService: null,
      });
      await client.getTicket(ref.externalId);
      await db
        .insert(externalLinks)
        .values({ connectionId, ticketId, externalId: ref.externalId, snapshot: {} })
        .onConflictDoNothing();
    };
    /** A tenant with a ServiceNow connection and `n` tickets; their create jobs stay in our outbox or not. */
    const vendorTickets = async (label: string, n: number, keepJobs: boolean) => {
      const tenant = await call("POST", "/v1/tenants", { name: label, plan: "ombori-enterprise" });
      const connection = await call("POST", "/v1/connections", {
        type: "servicenow",
        name: label,
        role: "servicedesk",
        tenantId: tenant.id,
        settings,
      });
      const ids: string[] = [];
      for (let i = 0; i < n; i++)
        ids.push(
          (await call("POST", "/v1/tickets", { tenantId: tenant.id, title: `${label} ${i}`, priority: "P3" }))
            .id,
        );
      if (!keepJobs) await db.delete(jobs).where(sql`${jobs.tenantId} = ${tenant.id}`);
      return { tenantId: tenant.id, connectionId: connection.id, ids };
    };

    const noopHandlers: JobHandlers = {
      ...jobHandlers,
      "comment.add": {
        periodic: false,
        run: async (_ctx, job) => ({
          outcome: "done",
          commit: async (tx) => {
            await appendLedger(tx, [jobLedgerEntry(job, "sync.delivered", { noop: true })]);
          },
        }),
      },
    };
    const runOurs = async (mode: Mode, label: string, n: number): Promise<number> => {
      // This run's jobs only: earlier runs' done jobs share the tenants.
      let scope = sql`order_key like ${`tkt_${label}_%`}`;
      if (mode === "noop") {
        await enqueueJobs(
          db,
          Array.from({ length: n }, (_, i) => ({
            kind: "comment.add" as const,
            tenantId: tenants[i % tenants.length]!,
            // A ticket of its own per job: the per-ticket order check runs as for real deliveries.
            orderKey: `tkt_${label}_${i}`,
          })),
        );
      } else {
        scope = sql`kind = 'ticket.create' and tenant_id = ${(await vendorTickets(label, n, true)).tenantId}`;
      }
      const runner = new JobRunner({
        ctx: { db, engine, catalog, now: () => new Date(), workerId: `bench-${label}`, logger: silent },
        processConcurrency: concurrency,
        connectionConcurrency: concurrency,
        tickMs: 1000,
        leaseMs: 60_000,
        kinds: [mode === "noop" ? "comment.add" : "ticket.create"],
        ...(mode === "noop" ? { handlers: noopHandlers } : {}),
      });
      const started = performance.now();
      runner.start();
      const ended = await until(
        n,
        () => count(db, sql`select count(*) as n from jobs where status = 'done' and ${scope}`),
        `ours ${label}`,
      );
      await runner.stop();
      const failed = await count(db, sql`select count(*) as n from jobs where status <> 'done' and ${scope}`);
      if (failed > 0) throw new Error(`ours ${label}: ${failed} jobs not done`);
      return n / ((ended - started) / 1000);
    };

    const runPgBoss = async (mode: Mode, label: string, n: number): Promise<number> => {
      const queue = label;
      await pgBoss.createQueue(queue);
      const target = mode === "vendor" ? await vendorTickets(label, n, false) : null;
      await pgBoss.insert(
        Array.from({ length: n }, (_, i) => ({ name: queue, data: { ticketId: target?.ids[i] ?? null } })),
      );
      const workerIds: string[] = [];
      const started = performance.now();
      for (let w = 0; w < boss.workers; w++) {
        const index = w;
        workerIds.push(
          await pgBoss.work<{ ticketId: string | null }>(
            queue,
            { batchSize: boss.batchSize, pollingIntervalSeconds: 0.5 },
            async (batch) => {
              if (target)
                await Promise.all(batch.map((job) => deliver(target.connectionId, job.data.ticketId!)));
              if (batch.length === boss.batchSize && workerIds[index]) pgBoss.notifyWorker(workerIds[index]);
            },
          ),
        );
      }
      const ended = await until(
        n,
        () =>
          count(db, sql`select count(*) as n from pgboss.job where name = ${queue} and state = 'completed'`),
        `pg-boss ${label}`,
      );
      await pgBoss.offWork(queue);
      return n / ((ended - started) / 1000);
    };

    const runGraphile = async (mode: Mode, label: string, n: number): Promise<number> => {
      const target = mode === "vendor" ? await vendorTickets(label, n, false) : null;
      // graphile-worker 0.16's bulk insert (one statement), as `addJobs` does in later versions.
      await db.execute(
        sql`select graphile_worker.add_jobs(array(
              select json_populate_record(null::graphile_worker.job_spec,
                json_build_object('identifier', ${mode}::text, 'payload', json_build_object('ticketId', t.id)))
              from json_array_elements_text(${JSON.stringify(target ? target.ids : Array.from({ length: n }, () => null))}::json) as t(id)))`,
      );
      const started = performance.now();
      const runner = await runGraphileWorker({
        connectionString: database.url,
        concurrency,
        noHandleSignals: true,
        logger: graphileLogger,
        taskList: {
          noop: async () => {},
          vendor: async (payload) => {
            await deliver(target!.connectionId, (payload as { ticketId: string }).ticketId);
          },
        },
      });
      // Completed jobs are deleted from graphile-worker's table.
      const ended = await until(
        n,
        async () => n - (await count(db, sql`select count(*) as n from graphile_worker._private_jobs`)),
        `graphile-worker ${label}`,
      );
      await runner.stop();
      return n / ((ended - started) / 1000);
    };

    const log = (line: string) => process.stderr.write(`${line}\n`);
    for (const mode of ["noop", "vendor"] as const) {
      for (let run = 0; run < options.runs; run++) {
        const n = options.jobs[mode];
        const label = `${mode}_${run}`;
        result.runs[mode].ours.push(await runOurs(mode, `ours_${label}`, n));
        result.runs[mode].pgBoss.push(await runPgBoss(mode, `boss_${label}`, n));
        result.runs[mode].graphile.push(await runGraphile(mode, `gw_${label}`, n));
        log(
          `  ${mode} run ${run + 1}: ours ${fmt(result.runs[mode].ours.at(-1)!)}/s, pg-boss ${fmt(result.runs[mode].pgBoss.at(-1)!)}/s, graphile-worker ${fmt(result.runs[mode].graphile.at(-1)!)}/s`,
        );
      }
    }
    return result;
  } finally {
    await pgBoss.stop({ graceful: false, wait: true }).catch(() => {});
    await opened.close();
    await simulator.stop();
    await database.drop();
  }
}

export function dispatchMarkdown(result: DispatchComparison): string {
  const row = (mode: Mode, queue: Queue, name: string) => {
    const runs = result.runs[mode][queue];
    return `| ${name} | ${fmt(median(runs))} | ${runs.map((r) => fmt(r)).join(", ")} |`;
  };
  const ratio = (mode: Mode) => {
    const ours = median(result.runs[mode].ours);
    const boss = median(result.runs[mode].pgBoss);
    const graphile = median(result.runs[mode].graphile);
    return `ours / pg-boss **${fmt(ours / boss, 2)}**, ours / graphile-worker **${fmt(ours / graphile, 2)}**, ours / the faster peer **${fmt(ours / Math.max(boss, graphile), 2)}**`;
  };
  const table = (mode: Mode, title: string) => [
    `### ${title}`,
    "",
    "| queue | median jobs/s | runs |",
    "|---|---:|---|",
    row(mode, "ours", "this gateway's job runner"),
    row(mode, "pgBoss", "pg-boss 10.4.2"),
    row(mode, "graphile", "graphile-worker 0.16.6"),
    "",
    `${result.jobs[mode]} jobs per run; ${ratio(mode)}.`,
    "",
  ];
  return [
    dispatchHeading,
    "",
    `PostgreSQL, one bench process, ${result.concurrency} jobs in flight for every queue, runs interleaved (ours, pg-boss, graphile-worker). A burst is queued, then the workers start; jobs per second run from the start until the database shows every job completed (checked every 20 ms, the same for all three). Settings: ours, one runner with \`processConcurrency\` ${result.concurrency} and \`connectionConcurrency\` ${result.concurrency}, claims as many jobs as it has free slots in one (prepared) statement and claims again as jobs finish, and marks jobs that finish together done in one transaction with their ledger entries (a group commit); pg-boss, ${result.pgBoss.workers} workers (\`work\`) with \`batchSize\` ${result.pgBoss.batchSize} and \`pollingIntervalSeconds\` 0.5 (its minimum), each worker calling \`notifyWorker\` on itself after a full batch so a busy queue is fetched back to back instead of once per interval; graphile-worker, \`concurrency\` ${result.concurrency} (LISTEN/NOTIFY for new jobs, prepared statements, default 2 s fallback poll).`,
    "",
    ...table(
      "noop",
      "Queue alone: claim, a no-op, mark done (ours also appends the job's ledger entry, over 8 tenants' chains, in the transaction that marks it done; each job has its own ticket, so the per-ticket order check runs)",
    ),
    ...table(
      "vendor",
      "With the vendor call: a ticket create at the ServiceNow simulator (create-or-link, read-back, link stored; ours with its ledger entry)",
    ),
    `Measured ${new Date().toISOString()} on ${machineDescription()}.`,
  ].join("\n");
}
