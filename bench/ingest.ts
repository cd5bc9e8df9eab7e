import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import postgres from "postgres";
import {
  BENCH_ADMIN_TOKEN,
  createBenchDatabase,
  fmt,
  median,
  percentile,
  type RunningGateway,
  startGateways,
} from "./lib.js";

interface Run {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface IngestVsPeerResult {
  gateway: Run[];
  /** The same gateway on embedded PGlite (issue 17, point 7), runs interleaved with the others. */
  pglite: Run[];
  peer: Run[];
  /** 2xx answers of the gateway over all runs, and what the inbox holds afterwards. */
  acknowledged: number;
  stored: number;
  ledgerChecked: number;
  pgliteAcknowledged: number;
  pgliteLedgerChecked: number;
  tenants: number;
}

const TENANTS = 8;
const secretOf = (i: number) => `bench-webhook-secret-${i}-0123456789`;

/** Single-row autocommit INSERTs from a plain concurrent loop: the rate PostgreSQL itself commits here. */
export async function peerRun(
  sql: postgres.Sql,
  connectionIds: string[],
  seconds: number,
  connections: number,
) {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const externalId = randomBytes(16).toString("hex");
        const connectionId = connectionIds[n++ % connectionIds.length]!;
        const started = performance.now();
        await sql`insert into peer_inbox (connection_id, dedupe_key, external_id, notice, source, received_at)
                  values (${connectionId}, ${`notice:${externalId}`}, ${externalId},
                          ${sql.json({ externalId, operation: "update" })}, 'webhook', now())`;
        latencies.push(performance.now() - started);
      }
    }),
  );
  return {
    requestsPerSec: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

async function gatewayRun(url: string, connectionIds: string[], seconds: number, connections: number) {
  let n = 0;
  const result = await autocannon({
    url,
    method: "POST",
    connections,
    duration: seconds,
    requests: [
      {
        // Each delivery is a different record on one of the 8 tenants' connections, so every one is stored.
        setupRequest: (request) => {
          const i = n++ % connectionIds.length;
          return {
            ...request,
            path: `/webhooks/${connectionIds[i]}`,
            headers: { "content-type": "application/json", authorization: `Bearer ${secretOf(i)}` },
            body: JSON.stringify({ sys_id: randomBytes(16).toString("hex"), operation: "update" }),
          };
        },
      },
    ],
  });
  return {
    run: { requestsPerSec: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99 },
    ok: result["2xx"],
    other: result.non2xx + result.errors + result.timeouts,
  };
}

/** The peer's table has the inbox's columns, defaults and indexes (its unique dedupe key included). */
export async function createPeerTable(sql: postgres.Sql) {
  await sql`create table peer_inbox (like inbox including all)`;
}

/**
 * Verified ServiceNow webhooks accepted durably over HTTP (bearer secret checked, notice in the inbox with its
 * hash-chained ledger entry, committed, then 202) against the peer: inbox-shaped single-row autocommit
 * INSERTs by postgres.js from the bench process, same concurrency, same fresh database, runs interleaved.
 */
export async function benchIngestVsPeer(options: {
  seconds: number;
  runs: number;
  connections: number;
}): Promise<IngestVsPeerResult> {
  const database = await createBenchDatabase();
  // API only: a worker would apply what is ingested and compete for the cores.
  const gatewayOptions = (databaseUrl: string | undefined, offset: number) => ({
    port: 18_600 + offset + Math.floor(Math.random() * 100),
    ...(databaseUrl ? { databaseUrl } : {}),
    env: { RUN_WORKER: "false" },
    compiled: true,
  });
  // Started together: opening a fresh PGlite takes long on a loaded machine.
  const [gateway, embedded] = (await startGateways([
    gatewayOptions(database.url, 0),
    gatewayOptions(undefined, 100),
  ])) as [RunningGateway, RunningGateway];
  const sql = postgres(database.url, { max: options.connections, onnotice: () => {} });
  try {
    const connectionIds = await benchConnections(gateway.url);
    const embeddedIds = await benchConnections(embedded.url);
    await createPeerTable(sql);
    const result: IngestVsPeerResult = {
      gateway: [],
      pglite: [],
      peer: [],
      acknowledged: 0,
      pgliteAcknowledged: 0,
      stored: 0,
      ledgerChecked: 0,
      pgliteLedgerChecked: 0,
      tenants: TENANTS,
    };
    const measured = async (url: string, ids: string[], seconds: number) => {
      const g = await gatewayRun(url, ids, seconds, options.connections);
      if (g.other > 0) throw new Error(`${g.other} webhook requests were not answered 2xx`);
      return g;
    };
    // Unmeasured warm-up of all three (JIT, connection pools, caches); its notices are checked like the rest.
    await peerRun(sql, connectionIds, 1, options.connections);
    result.acknowledged += (await measured(gateway.url, connectionIds, 2)).ok;
    result.pgliteAcknowledged += (await measured(embedded.url, embeddedIds, 2)).ok;
    for (let run = 0; run < options.runs; run++) {
      result.peer.push(await peerRun(sql, connectionIds, options.seconds, options.connections));
      const g = await measured(gateway.url, connectionIds, options.seconds);
      result.gateway.push(g.run);
      result.acknowledged += g.ok;
      const e = await measured(embedded.url, embeddedIds, options.seconds);
      result.pglite.push(e.run);
      result.pgliteAcknowledged += e.ok;
    }
    const [row] = await sql<{ count: number }[]>`select count(*)::int as count from inbox`;
    result.stored = row?.count ?? 0;
    if (result.stored < result.acknowledged) {
      throw new Error(`${result.acknowledged} notices acknowledged but only ${result.stored} in the inbox`);
    }
    result.ledgerChecked = await verifiedEntries(gateway.url);
    result.pgliteLedgerChecked = await verifiedEntries(embedded.url);
    // Each acknowledged notice has its own ledger entry.
    if (result.pgliteLedgerChecked < result.pgliteAcknowledged)
      throw new Error(
        `PGlite: ${result.pgliteAcknowledged} acknowledged, ${result.pgliteLedgerChecked} entries`,
      );
    return result;
  } finally {
    await sql.end();
    await gateway.stop();
    await embedded.stop();
    await database.drop();
  }
}

const admin = () => ({ authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" });

/** One ServiceNow connection for each of the bench's tenants, created through the API. */
async function benchConnections(url: string) {
  const connectionIds: string[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const tenant = (await (
      await fetch(`${url}/v1/tenants`, {
        method: "POST",
        headers: admin(),
        body: JSON.stringify({ name: `bench-${i}`, plan: "ombori-enterprise" }),
      })
    ).json()) as { id: string };
    const res = await fetch(`${url}/v1/connections`, {
      method: "POST",
      headers: admin(),
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
  }
  return connectionIds;
}

/** `GET /v1/ledger/verify`: the number of entries checked, or an error when a chain does not verify. */
async function verifiedEntries(url: string) {
  const verification = (await (await fetch(`${url}/v1/ledger/verify`, { headers: admin() })).json()) as {
    ok: boolean;
    checked: number;
  };
  if (!verification.ok) throw new Error(`the ledger does not verify: ${JSON.stringify(verification)}`);
  return verification.checked;
}

export const ingestVsPeerHeading = "## Webhook ingest against PostgreSQL's own commit rate";

export function ingestVsPeerMarkdown(r: IngestVsPeerResult, seconds: number, connections: number): string {
  const g = median(r.gateway.map((x) => x.requestsPerSec));
  const p = median(r.peer.map((x) => x.requestsPerSec));
  const row = (name: string, runs: Run[]) =>
    `| ${name} | ${fmt(median(runs.map((x) => x.requestsPerSec)))} | ${runs.map((x) => fmt(x.requestsPerSec)).join(", ")} | ${fmt(median(runs.map((x) => x.p50Ms)), 1)} | ${fmt(median(runs.map((x) => x.p99Ms)), 1)} |`;
  return [
    ingestVsPeerHeading,
    "",
    `Issue 17, point 1 (\`npm run bench -- ingest\` runs this section alone). PostgreSQL, a fresh database. Gateway: \`POST /webhooks/:id\` over HTTP to the compiled gateway (\`node dist/src/server.js\` as \`npm run start:prod\` runs it, built by the bench; \`RUN_WORKER=false\`) on a listening port, autocannon with ${connections} connections spread over ${r.tenants} tenants' ServiceNow connections, each request a new record: bearer secret checked, notice stored in the inbox with its \`inbox.apply\` job and its hash-chained ledger entry in one transaction, committed, then 202. Peer: inbox-shaped single-row autocommit INSERTs (a table created \`like inbox including all\`) by postgres.js from the bench process, ${connections} connections, a plain concurrent loop. ${r.gateway.length} runs of ${seconds} s each after an unmeasured warm-up (1 s peer, 2 s gateway), peer and gateway interleaved. Afterwards ${fmt(r.acknowledged)} notices had been answered 2xx and ${fmt(r.stored)} were in the inbox (more when requests in flight at a run's end committed after autocannon stopped counting); \`GET /v1/ledger/verify\` checked ${fmt(r.ledgerChecked)} entries: ok.`,
    "",
    "| | median req/s | runs (req/s) | p50 ms | p99 ms |",
    "|---|---:|---|---:|---:|",
    row("gateway (verified, durable, ledgered)", r.gateway),
    row("peer (postgres.js autocommit INSERT)", r.peer),
    row("gateway on embedded PGlite (same requests)", r.pglite),
    "",
    `Ratio gateway / peer: **${fmt(g / p, 3)}** (issue 17 asks for at least 0.5). The same gateway on PGlite / peer: ${fmt(median(r.pglite.map((x) => x.requestsPerSec)) / p, 3)} (${fmt(r.pgliteAcknowledged)} notices answered 2xx, ${fmt(r.pgliteLedgerChecked)} ledger entries verified).`,
  ].join("\n");
}
