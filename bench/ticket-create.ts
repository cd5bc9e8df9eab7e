import autocannon from "autocannon";
import postgres from "postgres";
import { createPeerTable, peerRun } from "./ingest.js";
import {
  BENCH_ADMIN_TOKEN,
  createBenchDatabase,
  fmt,
  median,
  type RunningGateway,
  startGateways,
} from "./lib.js";

interface Run {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const operations = ["create", "update", "comment"] as const;
type Operation = (typeof operations)[number];
const engines = ["postgres", "pglite"] as const;
type Engine = (typeof engines)[number];

export interface TicketWritesResult {
  /** Gateway runs per engine and operation, and the peer's runs (PostgreSQL), interleaved with them. */
  gateway: Record<Engine, Record<Operation, Run[]>>;
  peer: Run[];
  non2xx: number;
}

const TENANTS = 8;
const TICKETS_PER_TENANT = 8;

const ticketBody = JSON.stringify({
  title: "Bench: MPLS circuit down at site 42",
  description: "Customer reports packet loss on the primary circuit since 09:12.",
  priority: "P2",
  requester: { name: "Bench User", email: "bench@example.com" },
  category: "network",
});

/** Tenants with their API keys and a few tickets each to update and comment on. */
async function seed(gateway: RunningGateway) {
  const tenants: { key: string; tickets: string[] }[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const res = await fetch(`${gateway.url}/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `bench-${i}`, plan: "ombori-production" }),
    });
    const key = ((await res.json()) as { apiKey: string }).apiKey;
    const tickets: string[] = [];
    for (let t = 0; t < TICKETS_PER_TENANT; t++) {
      const made = await fetch(`${gateway.url}/v1/tickets`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: ticketBody,
      });
      if (made.status !== 201) throw new Error(`ticket create answered ${made.status}: ${await made.text()}`);
      tickets.push(((await made.json()) as { id: string }).id);
    }
    tenants.push({ key, tickets });
  }
  return tenants;
}

async function gatewayRun(
  gateway: RunningGateway,
  tenants: Awaited<ReturnType<typeof seed>>,
  operation: Operation,
  seconds: number,
  connections: number,
) {
  let n = 0;
  const result = await autocannon({
    url: gateway.url,
    connections,
    duration: seconds,
    requests: [
      {
        // Requests go round the 8 tenants (their chains) and, for updates and comments, round their tickets.
        setupRequest: (request) => {
          const i = n++;
          const tenant = tenants[i % TENANTS]!;
          const ticket = tenant.tickets[Math.floor(i / TENANTS) % TICKETS_PER_TENANT]!;
          const headers = { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" };
          if (operation === "create")
            return { ...request, method: "POST", path: "/v1/tickets", headers, body: ticketBody };
          if (operation === "update")
            return {
              ...request,
              method: "PATCH",
              path: `/v1/tickets/${ticket}`,
              headers,
              body: JSON.stringify({ title: `Bench: MPLS circuit down at site 42 (update ${i})` }),
            };
          return {
            ...request,
            method: "POST",
            path: `/v1/tickets/${ticket}/comments`,
            headers,
            body: JSON.stringify({ body: `Bench comment ${i}: still seeing loss.`, visibility: "public" }),
          };
        },
      },
    ],
  });
  return {
    run: { requestsPerSec: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 },
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

/**
 * Ticket creation, update and comment over HTTP on the compiled gateway, on PostgreSQL and on PGlite, against
 * the ingest bench's peer (inbox-shaped single-row autocommit INSERTs by postgres.js on PostgreSQL), runs
 * interleaved: each round runs the peer, then every engine and operation once.
 */
export async function benchTicketWrites(options: {
  seconds: number;
  runs: number;
  connections: number;
}): Promise<TicketWritesResult> {
  const database = await createBenchDatabase();
  const gateways: Partial<Record<Engine, RunningGateway>> = {};
  const sql = postgres(database.url, { max: options.connections, onnotice: () => {} });
  try {
    // Started together: opening a fresh PGlite takes long on a loaded machine.
    const started = await startGateways(
      engines.map((engine) => ({
        port: 18_800 + Math.floor(Math.random() * 100) + (engine === "pglite" ? 100 : 0),
        ...(engine === "postgres" ? { databaseUrl: database.url } : {}),
        compiled: true,
      })),
    );
    engines.forEach((engine, i) => {
      gateways[engine] = started[i]!;
    });
    // The PostgreSQL gateway has migrated the database, so the peer's table can copy the inbox's shape.
    await createPeerTable(sql);
    const seeded = {
      postgres: await seed(gateways.postgres!),
      pglite: await seed(gateways.pglite!),
    };
    const empty = () => ({ create: [], update: [], comment: [] });
    const result: TicketWritesResult = {
      gateway: { postgres: empty(), pglite: empty() },
      peer: [],
      non2xx: 0,
    };
    const peerIds = ["con_bench_peer"];
    await peerRun(sql, peerIds, 1, options.connections);
    for (const engine of engines)
      await gatewayRun(gateways[engine]!, seeded[engine], "create", 1, options.connections);
    for (let run = 0; run < options.runs; run++) {
      result.peer.push(await peerRun(sql, peerIds, options.seconds, options.connections));
      for (const engine of engines)
        for (const operation of operations) {
          const g = await gatewayRun(
            gateways[engine]!,
            seeded[engine],
            operation,
            options.seconds,
            options.connections,
          );
          result.gateway[engine][operation].push(g.run);
          result.non2xx += g.non2xx;
        }
    }
    if (result.non2xx > 0) throw new Error(`${result.non2xx} ticket writes were not answered 2xx`);
    for (const engine of engines) {
      const verification = (await (
        await fetch(`${gateways[engine]!.url}/v1/ledger/verify`, {
          headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
        })
      ).json()) as { ok: boolean };
      if (!verification.ok) throw new Error(`the ${engine} ledger does not verify`);
    }
    return result;
  } finally {
    await sql.end();
    for (const gateway of Object.values(gateways)) await gateway.stop();
    await database.drop();
  }
}

export const ticketWritesHeading = "## Ticket creation over HTTP (with ledger writes)";

export function ticketWritesMarkdown(r: TicketWritesResult, seconds: number, connections: number): string {
  const peer = median(r.peer.map((x) => x.requestsPerSec));
  const row = (name: string, runs: Run[]) => {
    const rate = median(runs.map((x) => x.requestsPerSec));
    return `| ${name} | ${fmt(rate)} | ${runs.map((x) => fmt(x.requestsPerSec)).join(", ")} | ${fmt(median(runs.map((x) => x.p50Ms)), 1)} | ${fmt(median(runs.map((x) => x.p99Ms)), 1)} | ${fmt(rate / peer, 3)} |`;
  };
  const lines = [
    ticketWritesHeading,
    "",
    `Issue 17, points 2 and 7 (\`npm run bench -- ticket-create\` runs this section alone). Ticket creation (\`POST /v1/tickets\`), update (\`PATCH /v1/tickets/:id\`, a new title each time) and comment creation (\`POST /v1/tickets/:id/comments\`, public) over HTTP through the compiled gateway (\`node dist/src/server.js\`, built by the bench, with its worker), on PostgreSQL (a fresh database) and on embedded PGlite, load from autocannon in the bench process: ${connections} connections spread over ${TENANTS} tenants and ${TENANTS * TICKETS_PER_TENANT} seeded tickets. Each request authenticates the tenant key, validates the body and, in one transaction, writes the change with its hash-chained ledger entries, SLA clocks (ombori-production) and outbound queueing. Peer: the ingest section's inbox-shaped single-row autocommit INSERTs by postgres.js on PostgreSQL, ${connections} connections. ${r.peer.length} rounds of ${seconds} s per run, each round the peer then every engine and operation; both ledgers verify afterwards.`,
    "",
    "| | median req/s | runs (req/s) | p50 ms | p99 ms | ratio to peer |",
    "|---|---:|---|---:|---:|---:|",
    row("peer (postgres.js autocommit INSERT, PostgreSQL)", r.peer),
  ];
  for (const engine of engines)
    for (const operation of operations)
      lines.push(row(`${engine}: ticket ${operation}`, r.gateway[engine][operation]));
  const create = median(r.gateway.postgres.create.map((x) => x.requestsPerSec));
  lines.push(
    "",
    `Ticket creation on PostgreSQL / peer: **${fmt(create / peer, 3)}** (issue 17 asks for at least 0.3).`,
  );
  return lines.join("\n");
}
