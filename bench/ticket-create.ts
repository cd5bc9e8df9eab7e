import autocannon from "autocannon";
import { BENCH_ADMIN_TOKEN, createBenchDatabase, fmt, median, startGateway } from "./lib.js";

export interface TicketCreateResult {
  engine: "pglite" | "postgres";
  runs: { requestsPerSec: number; p50Ms: number; p99Ms: number; non2xx: number }[];
  medianRequestsPerSec: number;
}

/**
 * Ticket creation over HTTP, each request one transaction with the ticket row and its hash-chained
 * ledger entry. Tickets go to 8 tenants so chains (one per tenant) are exercised as in production.
 */
export async function benchTicketCreate(options: {
  engine: "pglite" | "postgres";
  seconds: number;
  runs: number;
  connections: number;
}): Promise<TicketCreateResult> {
  const database = options.engine === "postgres" ? await createBenchDatabase() : null;
  const gateway = await startGateway({
    port: 18_800 + Math.floor(Math.random() * 100),
    databaseUrl: database?.url,
  });
  try {
    const keys: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${gateway.url}/v1/tenants`, {
        method: "POST",
        headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: `bench-${i}`, plan: "ombori-production" }),
      });
      keys.push(((await res.json()) as { apiKey: string }).apiKey);
    }
    const body = JSON.stringify({
      title: "Bench: MPLS circuit down at site 42",
      description: "Customer reports packet loss on the primary circuit since 09:12.",
      priority: "P2",
      requester: { name: "Bench User", email: "bench@example.com" },
      category: "network",
    });
    const runs: TicketCreateResult["runs"] = [];
    for (let run = 0; run < options.runs; run++) {
      let next = 0;
      const result = await autocannon({
        url: `${gateway.url}/v1/tickets`,
        method: "POST",
        connections: options.connections,
        duration: options.seconds,
        headers: { "content-type": "application/json" },
        body,
        setupClient: (client) => {
          client.setHeaders({
            "content-type": "application/json",
            authorization: `Bearer ${keys[next++ % keys.length]}`,
          });
        },
      });
      runs.push({
        requestsPerSec: result.requests.average,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
      });
    }
    return { engine: options.engine, runs, medianRequestsPerSec: median(runs.map((r) => r.requestsPerSec)) };
  } finally {
    await gateway.stop();
    await database?.drop();
  }
}

export function ticketCreateMarkdown(
  results: TicketCreateResult[],
  connections: number,
  seconds: number,
): string {
  const lines = [
    "## Ticket creation over HTTP (with ledger writes)",
    "",
    `\`POST /v1/tickets\` through a gateway process (\`src/server.ts\`), load from autocannon in the bench process: ${connections} connections, ${seconds} s per run. Each request authenticates the tenant key, validates the body and, in one transaction, inserts the ticket, appends its hash-chained ledger entry, starts its SLA clocks (ombori-production: response target, an sla.target_set entry) and checks for connections to queue outbound sync; 8 tenants.`,
    "",
    "| engine | median req/s | runs (req/s) | p50 ms | p99 ms | non-2xx |",
    "|---|---:|---|---:|---:|---:|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.engine} | ${fmt(r.medianRequestsPerSec)} | ${r.runs.map((x) => fmt(x.requestsPerSec)).join(", ")} | ${fmt(median(r.runs.map((x) => x.p50Ms)), 1)} | ${fmt(median(r.runs.map((x) => x.p99Ms)), 1)} | ${r.runs.reduce((s, x) => s + x.non2xx, 0)} |`,
    );
  }
  return lines.join("\n");
}
