import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { inArray, sql } from "drizzle-orm";
import { openDatabase } from "../src/db/client.js";
import { jobs, periodicJobKinds } from "../src/db/schema/index.js";
import { claimJobs, enqueueJobs } from "../src/jobs/queue.js";
import { type SeededHistory, seedHistory } from "./history-seed.js";
import {
  BENCH_ADMIN_TOKEN,
  createBenchDatabase,
  fmt,
  median,
  percentile,
  type RunningGateway,
  startGateway,
} from "./lib.js";

type Engine = "postgres" | "pglite";

interface Rate {
  perSec: number;
  p99Ms: number;
}

export interface HistoryPhase {
  ingest: Rate;
  tickets: Rate;
  claim: { p50Ms: number; p99Ms: number; claims: number };
  /** Peak resident set (VmHWM) of the API process and of the worker process (PostgreSQL only), in MiB. */
  peakRssMiB: { api: number; worker: number | null };
}

export interface HistoryResult {
  engine: Engine;
  empty: HistoryPhase;
  loaded: HistoryPhase;
  seeded: SeededHistory;
  /** `GET /v1/ledger/verify?tenantId=` on seeded tenants of different sizes. */
  verify: { entries: number; seconds: number }[];
}

const TENANTS = 8;
const secretOf = (i: number) => `history-webhook-secret-${i}-0123456789`;
const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" };

/** Peak resident set of a process so far, from the kernel's high-water mark. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Eight tenants, each with an API key and a ServiceNow connection whose webhooks carry a bearer secret. */
async function createTenants(url: string) {
  const keys: string[] = [];
  const tenantIds: string[] = [];
  const connectionIds: string[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const tenant = (await (
      await fetch(`${url}/v1/tenants`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: `bench-${i}`, plan: "ombori-production" }),
      })
    ).json()) as { id: string; apiKey: string };
    const res = await fetch(`${url}/v1/connections`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        type: "servicenow",
        name: `bench-${i}`,
        role: "servicedesk",
        tenantId: tenant.id,
        settings: {
          baseUrl: "http://127.0.0.1:9",
          auth: { type: "basic", username: "u", password: "p" },
          webhookSecret: secretOf(i),
        },
      }),
    });
    if (res.status !== 201) throw new Error(`connection create answered ${res.status}: ${await res.text()}`);
    connectionIds.push(((await res.json()) as { id: string }).id);
    keys.push(tenant.apiKey);
    tenantIds.push(tenant.id);
  }
  return { keys, tenantIds, connectionIds };
}

/**
 * The claim a worker makes, timed: batches of due outbound jobs on the bench connections are claimed ten at a
 * time and marked done (as a finished run would), with whatever else the queue holds left in place.
 */
async function measureClaims(
  db: Awaited<ReturnType<typeof openDatabase>>["db"],
  setup: { tenantIds: string[]; connectionIds: string[] },
  rounds: number,
) {
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await enqueueJobs(
      db,
      Array.from({ length: 200 }, (_, i) => ({
        kind: "ticket.update" as const,
        tenantId: setup.tenantIds[i % TENANTS]!,
        connectionId: setup.connectionIds[i % TENANTS]!,
        orderKey: `claim-${round}-${i}`,
        payload: {},
        runAt: new Date(Date.now() - 1000),
      })),
    );
    for (;;) {
      const started = performance.now();
      const claimed = await claimJobs(db, {
        workerId: "history-bench",
        now: new Date(),
        leaseMs: 60_000,
        limit: 10,
        connectionConcurrency: 4,
      });
      latencies.push(performance.now() - started);
      if (claimed.length === 0) break;
      // Periodic jobs due by now (the connections' first polls) are taken too and put aside like the rest (a
      // worker recreates them when it starts); anything else would mean the seeded backlog was runnable.
      const foreign = claimed.filter(
        (job) =>
          !job.orderKey?.startsWith("claim-") && !(periodicJobKinds as readonly string[]).includes(job.kind),
      );
      if (foreign.length > 0) throw new Error(`the claim took seeded jobs: ${foreign.map((j) => j.kind)}`);
      await db
        .update(jobs)
        .set({ status: "done", finishedAt: new Date() })
        .where(
          inArray(
            jobs.id,
            claimed.map((job) => job.id),
          ),
        );
    }
  }
  return { p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), claims: latencies.length };
}

/**
 * A database with a long history has checkpoints: the seeded one gets its first when the worker starts, a walk
 * of every chain that a running deployment has long behind it, so the timed loads wait for it.
 */
async function waitForFirstCheckpoint(url: string, tenantId: string) {
  const deadline = Date.now() + 900_000;
  while (Date.now() < deadline) {
    // PGlite's one thread walks the chains meanwhile: a kept-alive socket may be closed under a poll; poll again.
    const body = await fetch(`${url}/v1/ledger/checkpoints?scope=${tenantId}&limit=1`, { headers: admin })
      .then((res) => res.text())
      .catch(() => "");
    if (body.includes(tenantId)) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error("no checkpoint of the seeded history within 15 minutes");
}

async function load(
  url: string,
  seconds: number,
  connections: number,
  request: () => { path: string; headers: Record<string, string>; body: string },
): Promise<Rate> {
  const result = await autocannon({
    url,
    method: "POST",
    connections,
    duration: seconds,
    requests: [{ setupRequest: (r) => ({ ...r, method: "POST", ...request() }) }],
  });
  if (result.non2xx + result.errors + result.timeouts > 0) {
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { perSec: result.requests.average, p99Ms: result.latency.p99 };
}

async function phase(
  engine: Engine,
  options: { seconds: number; connections: number; history: { entries: number; pendingJobs: number } },
): Promise<{ phase: HistoryPhase; seeded: SeededHistory; verify: HistoryResult["verify"] }> {
  const database = engine === "postgres" ? await createBenchDatabase() : null;
  const dataDir = mkdtempSync(join(tmpdir(), "tsg-history-"));
  const port = 18_500 + Math.floor(Math.random() * 100);
  const env = { DATA_DIR: dataDir, RUN_WORKER: engine === "pglite" ? "true" : "false" };
  const running: RunningGateway[] = [];
  try {
    // The API creates the tenants and connections (settings encrypted as in production), then steps aside
    // so this process can seed and time claims on the same database (PGlite serves one process).
    let api = await startGateway({ port, databaseUrl: database?.url, env, compiled: true });
    const setup = await createTenants(api.url);
    await api.stop();
    const handle = await openDatabase(
      database ? { kind: "postgres", url: database.url } : { kind: "pglite", dataDir: join(dataDir) },
    );
    let seeded: SeededHistory;
    let claim: HistoryPhase["claim"];
    try {
      // The empty phase seeds the same tenants and connections with no history, so both phases differ only
      // in the history (a claim's cost grows with the connections it looks at, not with their jobs).
      seeded = await seedHistory(
        handle.db,
        { tenants: engine === "postgres" ? 400 : 100, ...options.history },
        { connectionId: setup.connectionIds[0]! },
      );
      claim = await measureClaims(handle.db, setup, 3);
      // Nothing the bench queued stays behind for the API's worker.
      await handle.db.execute(sql`update jobs set status = 'done' where order_key like 'claim-%'`);
    } finally {
      await handle.close();
    }
    api = await startGateway({ port, databaseUrl: database?.url, env, compiled: true });
    running.push(api);
    const worker =
      engine === "postgres"
        ? await startGateway({
            port: port + 1,
            databaseUrl: database!.url,
            env: { ...env, METRICS_PORT: String(port + 1) },
            script: "src/worker-main.ts",
            readyPath: "/metrics",
            compiled: true,
          })
        : null;
    if (worker) running.push(worker);
    if (seeded.entries > 0) await waitForFirstCheckpoint(api.url, seeded.tenantIds[0]!);
    let n = 0;
    const webhook = () => {
      const i = n++ % TENANTS;
      return {
        path: `/webhooks/${setup.connectionIds[i]}`,
        headers: { "content-type": "application/json", authorization: `Bearer ${secretOf(i)}` },
        body: JSON.stringify({ sys_id: randomBytes(16).toString("hex"), operation: "update" }),
      };
    };
    const ticketBody = JSON.stringify({
      title: "Bench: MPLS circuit down at site 42",
      description: "Customer reports packet loss on the primary circuit since 09:12.",
      priority: "P2",
      requester: { name: "Bench User", email: "bench@example.com" },
      category: "network",
    });
    const ticket = () => ({
      path: "/v1/tickets",
      headers: { "content-type": "application/json", authorization: `Bearer ${setup.keys[n++ % TENANTS]}` },
      body: ticketBody,
    });
    // Unmeasured warm-up of both paths (JIT, pools, caches), then the timed runs.
    await load(api.url, 2, options.connections, webhook);
    await load(api.url, 2, options.connections, ticket);
    const ingest = await load(api.url, options.seconds, options.connections, webhook);
    const tickets = await load(api.url, options.seconds, options.connections, ticket);
    const verify: HistoryResult["verify"] = [];
    if (seeded.entries > 0) {
      // Tenants of about 1/16, 1/4, 1/2 and all of the largest one's history, after an unmeasured warm-up.
      await fetch(`${api.url}/v1/ledger/verify?tenantId=${seeded.tenantIds[63]}`, { headers: admin });
      for (const rank of [15, 3, 1, 0]) {
        const tenantId = seeded.tenantIds[rank]!;
        const started = performance.now();
        const res = await fetch(`${api.url}/v1/ledger/verify?tenantId=${tenantId}`, { headers: admin });
        const seconds = (performance.now() - started) / 1000;
        const body = (await res.json()) as { ok: boolean; checked: number };
        // The worker's failing polls of the seeded connections add a few entries of their own.
        if (!body.ok || body.checked < seeded.entriesPerTenant[rank]!) {
          throw new Error(`verify of a seeded tenant: ${JSON.stringify(body)}`);
        }
        verify.push({ entries: body.checked, seconds });
      }
    }
    return {
      phase: {
        ingest,
        tickets,
        claim,
        peakRssMiB: { api: peakRssMiB(api.pid), worker: worker ? peakRssMiB(worker.pid) : null },
      },
      seeded,
      verify,
    };
  } finally {
    for (const process of running) await process.stop();
    await database?.drop();
  }
}

/** The durable paths on an empty database, then on one holding a long history, in one run (issue 17, point 5). */
export async function benchHistory(options: {
  engine: Engine;
  seconds: number;
  connections: number;
  history: { entries: number; pendingJobs: number };
}): Promise<HistoryResult> {
  const empty = await phase(options.engine, { ...options, history: { entries: 0, pendingJobs: 0 } });
  const loaded = await phase(options.engine, options);
  return {
    engine: options.engine,
    empty: empty.phase,
    loaded: loaded.phase,
    seeded: loaded.seeded,
    verify: loaded.verify,
  };
}

export const historyHeading = "## Cost with a long history (empty database against a full one)";

export function historyMarkdown(results: HistoryResult[], seconds: number, connections: number): string {
  // A rate of 0 (no request finished within a run, as on a saturated machine) has no ratio.
  const ratio = (loaded: number, empty: number) => (empty > 0 ? fmt(loaded / empty, 2) : "n/a");
  const lines = [
    historyHeading,
    "",
    `Issue 17, points 5 and 6 (\`npm run bench -- history\` runs this section alone). Each engine twice in one run: a fresh database with the same tenants and connections as the full one and no history, then one seeded set-based with a year of history (\`bench/history-seed.ts\`): long-tail tenants (the n-th has 1/n of the first one's tickets), one ServiceNow connection each (every 10th paused, every 20th held by the vendor), ten hash-chained ledger entries per ticket on its chain shard, and pending jobs of real kinds on those connections. Measured on each: webhook ingest (\`POST /webhooks/:id\`, 8 tenants, ${connections} connections, ${seconds} s), ticket creation (\`POST /v1/tickets\`, same), and the claim a worker makes (\`claimJobs\`, 10 at a time, 600 due jobs on the 8 bench connections, from the bench process before the API starts). Gateway processes run the compiled build (\`dist/src/server.js\`, as \`npm run start:prod\`); on PostgreSQL the API has \`RUN_WORKER=false\` and a separate \`dist/src/worker-main.js\` process works the queue during the load; on PGlite the one process does both. Peak RSS is the kernel's high-water mark (VmHWM) of each process at the end of its phase. A ratio is full / empty; issue 17 asks that rates stay at 0.8 or more and latency at 1.2 or less, and RSS under 256 MiB on PostgreSQL.`,
    "",
    "| engine | history | ingest req/s (full / empty) | tickets req/s (full / empty) | claim p50 ms (full / empty) | claim p99 ms | peak RSS API MiB | peak RSS worker MiB |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const e = r.empty;
    const l = r.loaded;
    lines.push(
      `| ${r.engine} | ${fmt(r.seeded.entries)} entries, ${fmt(r.seeded.tickets)} tickets, ${fmt(r.seeded.tenantIds.length)} tenants, ${fmt(r.seeded.pending.backoff + r.seeded.pending.pausedOrHeld + r.seeded.pending.queuedBehind)} pending jobs (${fmt(r.seeded.pending.backoff)} in backoff, ${fmt(r.seeded.pending.pausedOrHeld)} due on paused or held connections, ${fmt(r.seeded.pending.queuedBehind)} due behind their ticket's earlier job); seeded in ${fmt(r.seeded.seconds, 1)} s | ${fmt(l.ingest.perSec)} / ${fmt(e.ingest.perSec)} = **${ratio(l.ingest.perSec, e.ingest.perSec)}** | ${fmt(l.tickets.perSec)} / ${fmt(e.tickets.perSec)} = **${ratio(l.tickets.perSec, e.tickets.perSec)}** | ${fmt(l.claim.p50Ms, 1)} / ${fmt(e.claim.p50Ms, 1)} = **${ratio(l.claim.p50Ms, e.claim.p50Ms)}** | ${fmt(l.claim.p99Ms, 1)} / ${fmt(e.claim.p99Ms, 1)} | ${fmt(l.peakRssMiB.api)} / ${fmt(e.peakRssMiB.api)} | ${l.peakRssMiB.worker === null ? "(in the API process)" : `${fmt(l.peakRssMiB.worker)} / ${fmt(e.peakRssMiB.worker ?? 0)}`} |`,
    );
  }
  lines.push(
    "",
    "`GET /v1/ledger/verify?tenantId=` on seeded tenants of 1/16, 1/4, 1/2 and all of the largest tenant's entries (the full database, after an unmeasured warm-up; linear means the rate stays the same as the tenant grows):",
    "",
    "| engine | entries | seconds | entries/s | rate / smallest tenant's |",
    "|---|---:|---:|---:|---:|",
  );
  for (const r of results) {
    const base = r.verify[0] ? r.verify[0].entries / r.verify[0].seconds : Number.NaN;
    for (const v of r.verify) {
      lines.push(
        `| ${r.engine} | ${fmt(v.entries)} | ${fmt(v.seconds, 2)} | ${fmt(v.entries / v.seconds)} | ${fmt(v.entries / v.seconds / base, 2)} |`,
      );
    }
  }
  const rateMedian = median(results.flatMap((r) => r.verify.map((v) => v.entries / v.seconds)));
  lines.push("", `Median verify rate over all sizes and engines: ${fmt(rateMedian)} entries/s.`);
  return lines.join("\n");
}
