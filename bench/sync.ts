import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import { openDatabase, queryRows } from "../src/db/client.js";
import { BENCH_ADMIN_TOKEN, createBenchDatabase, fmt, median, startGateway, startScript } from "./lib.js";

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

export const syncHeading = "## Sync throughput (PostgreSQL)";

export function syncMarkdown(ingest: IngestResult, ingestSeconds: number, connections: number): string {
  const g = median(ingest.gateway.map((r) => r.requestsPerSec));
  const b = median(ingest.bare.map((r) => r.requestsPerSec));
  return [
    syncHeading,
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
  ].join("\n");
}
