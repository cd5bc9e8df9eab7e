import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { createApp } from "../src/app.js";
import { openDatabase, queryRows } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { effectJobKinds } from "../src/jobs/registry.js";
import { JobRunner } from "../src/jobs/runner.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createLogger } from "../src/lib/logger.js";
import { loadPlanCatalog } from "../src/sla/catalog.js";
import { defaultSyncSettings } from "../src/sync/settings.js";
import { BENCH_ADMIN_TOKEN, createBenchDatabase, fmt, percentile, startScript } from "./lib.js";

export interface FaultRun {
  faults: boolean;
  deliveries: number;
  seconds: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  injected: { status503: number; status429: number; timeouts: number };
  deadLetters: number;
}

/** A deterministic PRNG, so every run injects the same sequence of faults. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A proxy in front of the simulator that answers 10 % of calls 503, 5 % 429 (Retry-After: 1) and holds 2 %
 * for 3 s after forwarding them (the write lands, the client times out not knowing).
 */
async function faultProxy(target: string, enabled: boolean) {
  const random = mulberry32(42);
  const injected = { status503: 0, status429: 0, timeouts: 0 };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const roll = enabled && !req.url?.startsWith("/__bench/") ? random() : 1;
    if (roll < 0.1) {
      injected.status503++;
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":{"message":"unavailable"}}');
      return;
    }
    if (roll < 0.15) {
      injected.status429++;
      res.writeHead(429, { "retry-after": "1", "content-type": "application/json" }).end("{}");
      return;
    }
    const forwarded = await fetch(`${target}${req.url}`, {
      method: req.method!,
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(
          ([k, v]) => typeof v === "string" && k !== "host" && k !== "content-length",
        ),
      ) as Record<string, string>,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await forwarded.arrayBuffer());
    if (roll < 0.17) {
      injected.timeouts++;
      await new Promise((r) => setTimeout(r, 3_000));
    }
    if (res.destroyed) return;
    res.writeHead(forwarded.status, {
      "content-type": forwarded.headers.get("content-type") ?? "application/json",
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    injected,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Issue: "under vendor faults (10 % 503, 5 % 429, some timeouts) two workers drain a backlog of 1,000
 * deliveries". Four tenants' ServiceNow connections (250 ticket creates each) are queued, then two job runners
 * on two connection pools (two workers, default concurrency: 4 per connection, 32 per process) drain them
 * through the fault proxy; the same backlog without faults is the peer in the same run. Exactly once is checked.
 */
export async function benchDeliveriesUnderFaults(options: { deliveries: number }): Promise<FaultRun[]> {
  const simulator = await startScript("bench/simulators/servicenow.ts");
  const runs: FaultRun[] = [];
  try {
    for (const faults of [false, true]) {
      const database = await createBenchDatabase();
      const proxy = await faultProxy(simulator.url, faults);
      const pools = [
        await openDatabase({ kind: "postgres", url: database.url, maxConnections: 10 }),
        await openDatabase({ kind: "postgres", url: database.url, maxConnections: 10 }),
      ];
      await runMigrations(pools[0]!);
      const catalog = loadPlanCatalog();
      const sync = {
        ...defaultSyncSettings,
        httpTimeoutMs: 1_000,
        backoffBaseMs: 200,
        backoffCapMs: 5_000,
        maxAttempts: 50,
      };
      const config = {
        adminToken: BENCH_ADMIN_TOKEN,
        publicUrl: "http://127.0.0.1:1",
        nodeEnv: "test" as const,
        secretsKey: randomBytes(32),
        sync,
        ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
      };
      const logger = createLogger("silent");
      const app = createApp({ database: pools[0]!, config, logger, catalog, now: () => new Date() });
      const call = async (method: string, path: string, body: unknown) => {
        const res = await app.request(path, {
          method,
          headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return (await res.json()) as { id: string };
      };
      const perTenant = Math.ceil(options.deliveries / 4);
      const marker = `faults-${faults}-${Date.now()}`;
      for (let t = 0; t < 4; t++) {
        const tenant = await call("POST", "/v1/tenants", { name: `faults-${t}`, plan: "ombori-enterprise" });
        await call("POST", "/v1/connections", {
          type: "servicenow",
          name: `sn-${t}`,
          role: "servicedesk",
          tenantId: tenant.id,
          settings: {
            baseUrl: proxy.url,
            auth: { type: "basic", username: "svc.ticketsync", password: "simulator-password" },
            webhookSecret: "bench-webhook-secret-0123456789",
          },
        });
        for (let i = 0; i < perTenant; i++)
          await call("POST", "/v1/tickets", {
            tenantId: tenant.id,
            title: `${marker} ${t}/${i}`,
            priority: "P3",
          });
      }
      await pools[0]!.db.execute(sql`update jobs set created_at = now()`);
      const started = performance.now();
      const runners = pools.map(
        (pool, i) =>
          new JobRunner({
            ctx: {
              db: pool.db,
              engine: { secretsKey: config.secretsKey, publicUrl: config.publicUrl, sync },
              catalog,
              now: () => new Date(),
              workerId: `faults-worker-${i}`,
              logger,
            },
            processConcurrency: sync.processConcurrency,
            connectionConcurrency: sync.connectionConcurrency,
            tickMs: 50,
            leaseMs: sync.leaseMs,
            kinds: effectJobKinds,
          }),
      );
      for (const runner of runners) runner.start();
      const total = perTenant * 4;
      for (;;) {
        const [row] = await queryRows<{ n: number }>(
          pools[0]!.db,
          sql`select count(*)::int as n from jobs where kind = 'ticket.create' and status in ('done', 'dead')`,
        );
        if (Number(row?.n) >= total) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      await Promise.all(runners.map((r) => r.stop(5_000)));
      const rows = await queryRows<{ ms: number; status: string }>(
        pools[0]!.db,
        sql`select extract(epoch from (finished_at - created_at)) * 1000 as ms, status from jobs where kind = 'ticket.create'`,
      );
      const latencies = rows.filter((r) => r.status === "done").map((r) => Number(r.ms));
      const stats = (await (await fetch(`${simulator.url}/__bench/stats?marker=${marker}`)).json()) as {
        correlated: { canonicalId: string }[];
      };
      const ids = new Set(stats.correlated.map((c) => c.canonicalId));
      // Exactly once: every ticket has one record at the vendor, none twice.
      const [created] = await queryRows<{ n: number }>(
        pools[0]!.db,
        sql`select count(*)::int as n from external_links`,
      );
      if (Number(created?.n) !== total || ids.size < total)
        throw new Error(`faults=${faults}: ${created?.n} links, ${ids.size} records for ${total} tickets`);
      runs.push({
        faults,
        deliveries: total,
        seconds,
        perSec: total / seconds,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        injected: { ...proxy.injected },
        deadLetters: rows.filter((r) => r.status === "dead").length,
      });
      for (const pool of pools) await pool.close();
      await proxy.close();
      await database.drop();
    }
  } finally {
    await simulator.stop();
  }
  return runs;
}

export const faultsHeading = "## Deliveries under vendor faults";

export function faultsMarkdown(runs: FaultRun[]): string {
  const clean = runs.find((r) => !r.faults);
  const faulty = runs.find((r) => r.faults);
  return [
    faultsHeading,
    "",
    "A backlog of ticket creates for four tenants' ServiceNow connections (one simulator process behind a fault proxy), drained by two job runners on two connection pools in one process, with the default concurrency (4 per connection, 32 per process); timeout 1 s, backoff 200 ms doubling to 5 s. With faults, the proxy answers 10 % of calls 503, 5 % 429 (Retry-After: 1 s, which holds the connection) and holds 2 % for 3 s after forwarding them (the write lands; the client times out not knowing). The peer is the same backlog without faults, in the same run. Latency runs from enqueue to done. Exactly once is checked: every ticket has one record at the vendor.",
    "",
    "| | deliveries | seconds | per second | p50 ms | p99 ms | 503 / 429 / timeouts injected | dead letters |",
    "|---|---:|---:|---:|---:|---:|---|---:|",
    ...runs.map(
      (r) =>
        `| ${r.faults ? "with faults" : "no faults (peer)"} | ${r.deliveries} | ${fmt(r.seconds, 1)} | ${fmt(r.perSec, 1)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${r.injected.status503} / ${r.injected.status429} / ${r.injected.timeouts} | ${r.deadLetters} |`,
    ),
    "",
    clean && faulty ? `With faults / without: **${fmt(faulty.perSec / clean.perSec, 2)}**.` : "",
    faulty
      ? `\nWhere the time goes with faults: each of the ${faulty.injected.status429} injected 429s holds its connection (all its jobs, not only the refused one) for the 1 s the vendor asks; the gateway honours Retry-After rather than racing it.`
      : "",
  ].join("\n");
}
