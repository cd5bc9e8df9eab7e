import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { simulatorUsers as zendeskUsers } from "../connectors/zendesk/simulator.js";
import { type App, createApp } from "../src/app.js";
import { type Db, openDatabase, queryRows } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createLogger } from "../src/lib/logger.js";
import type { EngineDeps } from "../src/services/context.js";
import { loadPlanCatalog } from "../src/sla/catalog.js";
import { defaultSyncSettings } from "../src/sync/settings.js";
import { runInbox, runOutbox } from "./jobs.js";
import { BENCH_ADMIN_TOKEN, createBenchDatabase, fmt, percentile, startScript } from "./lib.js";

export type E2eConnector = "servicenow" | "zendesk" | "jsm";

export interface E2eResult {
  connector: E2eConnector;
  tickets: number;
  workers: number;
  outbound: {
    /** Creates plus comments delivered. */
    items: number;
    seconds: number;
    itemsPerSec: number;
    p50Ms: number;
    p99Ms: number;
    /** Vendor API calls per ticket (its create, read-back and one comment), counted by the simulator. */
    httpCallsPerTicket: number;
  };
  /** Webhooks the vendor sent about the gateway's own writes, applied (untimed) between the phases. */
  echoes: { notices: number; httpCalls: number };
  inbound: {
    records: number;
    seconds: number;
    recordsPerSec: number;
    p50Ms: number;
    p99Ms: number;
    /** Vendor API calls per record applied (the read-back of the notified record). */
    httpCallsPerRecord: number;
  };
}

interface SimulatorStats {
  requests: number;
  webhooks: { delivered: number; failed: number };
  correlated: { externalId: string; canonicalId: string; markerComments: number }[];
}

/** The simulators' default accounts (connectors/<type>/simulator.ts), as a client's admin would configure them. */
export function connectionSettings(
  type: E2eConnector,
  baseUrl: string,
  webhookSecret: string,
): Record<string, unknown> {
  switch (type) {
    case "servicenow":
      return {
        baseUrl,
        auth: { type: "basic", username: "svc.ticketsync", password: "simulator-password" },
        webhookSecret,
      };
    case "zendesk":
      return {
        baseUrl,
        auth: {
          type: "basic",
          username: `${zendeskUsers.integration.email}/token`,
          password: "simulator-api-token",
        },
        integrationUserId: zendeskUsers.integration.id,
        webhookSecret,
      };
    case "jsm":
      return {
        baseUrl,
        auth: { type: "basic", username: "svc.ticketsync@example.com", password: "simulator-api-token" },
        serviceDeskId: "1",
        requestTypeId: "10",
        projectKey: "HELP",
        correlationFieldId: "customfield_10050",
        integrationAccountId: "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
        jqlTimeZone: "UTC",
        webhookSecret,
      };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function count(db: Db, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await queryRows<{ count: number | string }>(db, query);
  return Number(row?.count ?? 0);
}

/**
 * End-to-end sync through each vendor simulator on PostgreSQL. The gateway runs in this process (its HTTP
 * app on a real port, so webhooks reach it, and `workers` concurrent outbox or inbox loops); each simulator
 * runs in its own process (bench/simulators/<type>.ts). Per connector:
 * - outbound: `tickets` canonical tickets with one public comment each, then the outbox drained; items
 *   (creates + comments) delivered per second, latency from the drain's start to each delivery;
 * - inbound: the simulated agent opens `tickets` records, each notifying the gateway by webhook, while the
 *   inbox is drained; records applied per second (from the agent's first create to the last record linked),
 *   latency per record from its webhook being accepted to its canonical ticket being created.
 * Counts are verified (every record linked, every comment delivered once) before any figure is returned.
 */
export async function benchE2eSync(options: { tickets: number; workers: number }): Promise<E2eResult[]> {
  const database = await createBenchDatabase();
  const db = await openDatabase({
    kind: "postgres",
    url: database.url,
    maxConnections: options.workers * 2 + 8,
  });
  let app: App | null = null;
  const server = await new Promise<{ url: string; server: Server }>((resolve) => {
    const listening = serve(
      {
        fetch: (request: Request) => (app ? app.fetch(request) : new Response("starting", { status: 503 })),
        port: 0,
        hostname: "127.0.0.1",
      },
      (info: AddressInfo) => resolve({ url: `http://127.0.0.1:${info.port}`, server: listening as Server }),
    );
  });
  try {
    await runMigrations(db);
    const catalog = loadPlanCatalog();
    const sync = {
      ...defaultSyncSettings,
      httpRetries: 0,
      batchSize: 5,
      backoffBaseMs: 50,
      backoffCapMs: 500,
    };
    const secretsKey = randomBytes(32);
    const engine: EngineDeps = { secretsKey, publicUrl: server.url, sync };
    app = createApp({
      database: db,
      config: {
        adminToken: BENCH_ADMIN_TOKEN,
        publicUrl: server.url,
        nodeEnv: "test",
        secretsKey,
        sync,
        ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
      },
      logger: createLogger("silent"),
      catalog,
      now: () => new Date(),
    });
    const results: E2eResult[] = [];
    for (const type of ["servicenow", "zendesk", "jsm"] as const) {
      results.push(await benchConnector(type, app, db.db, engine, catalog, options));
    }
    return results;
  } finally {
    server.server.closeAllConnections();
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    await db.close();
    await database.drop();
  }
}

async function benchConnector(
  type: E2eConnector,
  app: App,
  db: Db,
  engine: EngineDeps,
  catalog: ReturnType<typeof loadPlanCatalog>,
  options: { tickets: number; workers: number },
): Promise<E2eResult> {
  const { tickets: n, workers } = options;
  const simulator = await startScript(`bench/simulators/${type}.ts`);
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const control = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${simulator.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const run = randomBytes(4).toString("hex");
  // Plain words and digits, so every vendor's markup (wiki, ADF, HTML) keeps it verbatim.
  const marker = `Bench reply ${run}`;
  const pass = { engine, now: () => new Date(), catalog };
  try {
    const tenant = await call<{ id: string }>("POST", "/v1/tenants", {
      name: `bench-${type}`,
      plan: "ombori-enterprise",
    });
    const webhookSecret = `bench-${type}-webhook-${randomBytes(16).toString("hex")}`;
    const connection = await call<{ id: string; webhookUrl: string }>("POST", "/v1/connections", {
      type,
      name: `bench ${type}`,
      role: "servicedesk",
      tenantId: tenant.id,
      settings: connectionSettings(type, simulator.url, webhookSecret),
    });
    // As an admin does at the vendor once the connection exists: point its webhook at the gateway.
    await control("POST", "/__bench/webhook", { url: connection.webhookUrl, secret: webhookSecret });
    const ticketsInTenant = () =>
      count(db, sql`select count(*) as count from tickets where tenant_id = ${tenant.id}`);
    const stats = () => control<SimulatorStats>("GET", `/__bench/stats?marker=${encodeURIComponent(marker)}`);

    // ---- outbound: tickets and their public comments, queued before the workers start ----
    const ticketIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const ticket = await call<{ id: string }>("POST", "/v1/tickets", {
        tenantId: tenant.id,
        title: `Bench ${run} ${i}: MPLS circuit down at site ${i}`,
        description:
          "Packet loss on the primary circuit since 09:12.\n\n- store 12: tills offline\n- store 14: slow",
        priority: (["P1", "P2", "P3", "P4"] as const)[i % 4],
      });
      await call("POST", `/v1/tickets/${ticket.id}/comments`, {
        body: `${marker} ${i}: the carrier has dispatched an engineer.`,
        visibility: "public",
      });
      ticketIds.push(ticket.id);
    }
    const queued = await count(
      db,
      sql`select count(*) as count from jobs where kind <> 'connection.poll' and connection_id = ${connection.id} and status = 'pending'`,
    );
    if (queued !== 2 * n) throw new Error(`${type}: ${queued} outbox jobs queued, expected ${2 * n}`);
    const outboundPending = () =>
      count(
        db,
        sql`select count(*) as count from jobs where kind <> 'connection.poll' and connection_id = ${connection.id} and status = 'pending'`,
      );
    const requestsBefore = (await stats()).requests;
    const outStarted = performance.now();
    const outStartedAt = Date.now();
    await drain(
      `${type} outbox`,
      workers,
      (w) => runOutbox(db, { ...pass, workerId: `bench-out-${w}` }),
      async () => {
        if ((await outboundPending()) > 0) return false;
        return true;
      },
    );
    const outSeconds = (performance.now() - outStarted) / 1000;
    const afterOutbound = await stats();
    const delivered = await queryRows<{ kind: string; delivered_at: Date | string }>(
      db,
      sql`select kind, delivered_at from jobs where kind <> 'connection.poll' and connection_id = ${connection.id} and status = 'done'`,
    );
    const notDelivered = await queryRows<{ kind: string; status: string; last_error: string | null }>(
      db,
      sql`select kind, status, last_error from jobs where kind <> 'connection.poll' and connection_id = ${connection.id} and status <> 'done'`,
    );
    if (delivered.length !== 2 * n || notDelivered.length > 0) {
      throw new Error(
        `${type}: outbox delivered ${delivered.length} of ${2 * n}; not delivered: ${JSON.stringify(notDelivered.slice(0, 3))}`,
      );
    }
    const links = await count(
      db,
      sql`select count(*) as count from external_links where connection_id = ${connection.id} and external_id is not null`,
    );
    const commentLinks = await count(
      db,
      sql`select count(*) as count from comment_links where connection_id = ${connection.id}`,
    );
    if (links !== n || commentLinks !== n) {
      throw new Error(`${type}: ${links} tickets and ${commentLinks} comments linked, expected ${n} each`);
    }
    // At the vendor: one record per ticket carrying its id, each with our comment exactly once.
    const wanted = new Set(ticketIds);
    const atVendor = afterOutbound.correlated.filter((record) => wanted.has(record.canonicalId));
    const distinct = new Set(atVendor.map((record) => record.canonicalId));
    const badComments = atVendor.filter((record) => record.markerComments !== 1);
    if (atVendor.length !== n || distinct.size !== n || badComments.length > 0) {
      throw new Error(
        `${type}: the vendor holds ${atVendor.length} records for ${distinct.size} of ${n} tickets; ${badComments.length} without exactly one comment`,
      );
    }
    const outLatencies = delivered.map((row) => new Date(row.delivered_at).getTime() - outStartedAt);

    // ---- echoes: what the vendor notified about our own writes (Jira notifies every change), untimed ----
    await control("POST", "/__bench/settled");
    const inboxPending = () =>
      count(
        db,
        sql`select count(*) as count from inbox where connection_id = ${connection.id} and status = 'pending'`,
      );
    /** Applies (untimed) whatever is left on both sides, including webhooks still arriving, until nothing is. */
    const settleAll = async (label: string) => {
      const idle = async () => (await outboundPending()) === 0 && (await inboxPending()) === 0;
      for (;;) {
        await control("POST", "/__bench/settled");
        if (await idle()) return;
        await drain(
          label,
          workers,
          async (w) =>
            (await runInbox(db, { ...pass, workerId: `bench-settle-${w}` })) +
            (await runOutbox(db, { ...pass, workerId: `bench-settle-${w}` })),
          idle,
        );
      }
    };
    await settleAll(`${type} echoes`);
    const afterEchoes = await stats();
    if ((await ticketsInTenant()) !== n) {
      throw new Error(
        `${type}: echoes of our own writes created ${(await ticketsInTenant()) - n} canonical tickets`,
      );
    }

    // ---- inbound: the agent opens records, each sends a webhook; workers apply them as they arrive ----
    const inStarted = performance.now();
    let ids: string[] = [];
    const created = control<{ ids: string[] }>("POST", "/__bench/agent-create", {
      count: n,
      prefix: `Agent ${run}`,
    }).then((body) => {
      ids = body.ids;
    });
    await drain(
      `${type} inbox`,
      workers,
      (w) => runInbox(db, { ...pass, workerId: `bench-in-${w}` }),
      async () => {
        if (ids.length < n) return false;
        const linked = await count(
          db,
          sql`select count(*) as count from external_links
            where connection_id = ${connection.id} and external_id in ${ids}`,
        );
        return linked === n && (await inboxPending()) === 0;
      },
    );
    await created;
    const inSeconds = (performance.now() - inStarted) / 1000;
    const settledHooks = await control<{ delivered: number; failed: number }>("POST", "/__bench/settled");
    const afterInbound = await stats();
    const applied = await queryRows<{
      external_id: string;
      received_at: Date | string;
      created_at: Date | string;
    }>(
      db,
      sql`select l.external_id, min(i.received_at) as received_at, t.created_at
          from external_links l
          join tickets t on t.id = l.ticket_id
          join inbox i on i.connection_id = l.connection_id and i.external_id = l.external_id
          where l.connection_id = ${connection.id} and t.tenant_id = ${tenant.id} and t.id not in ${ticketIds}
          group by l.external_id, t.created_at`,
    );
    const dead = await count(
      db,
      sql`select count(*) as count from inbox where connection_id = ${connection.id} and status <> 'applied'`,
    );
    const appliedIds = new Set(applied.map((row) => row.external_id));
    if (ids.length !== n || !ids.every((id) => appliedIds.has(id)) || applied.length !== n || dead > 0) {
      throw new Error(
        `${type}: ${applied.length} of ${n} agent records linked to a new canonical ticket (${dead} inbox notices not applied)`,
      );
    }
    if ((await ticketsInTenant()) !== 2 * n) {
      throw new Error(`${type}: ${await ticketsInTenant()} canonical tickets, expected ${2 * n}`);
    }
    if (settledHooks.failed > 0)
      throw new Error(`${type}: ${settledHooks.failed} webhooks were not accepted`);
    const inLatencies = applied.map(
      (row) => new Date(row.created_at).getTime() - new Date(row.received_at).getTime(),
    );
    const echoNotices =
      (await count(db, sql`select count(*) as count from inbox where connection_id = ${connection.id}`)) - n;

    // ---- wrap-up, untimed: our ids written onto the agent's records, and the vendor's notices of that ----
    // Left pending, these jobs would be claimed by the next connector's workers against a stopped simulator.
    await settleAll(`${type} wrap-up`);
    const finalRecords = (await stats()).correlated;
    const finalIds = new Set(finalRecords.map((record) => record.canonicalId));
    if (finalRecords.length !== 2 * n || finalIds.size !== 2 * n || (await ticketsInTenant()) !== 2 * n) {
      throw new Error(
        `${type}: after the wrap-up the vendor holds ${finalRecords.length} records carrying ${finalIds.size} canonical ids, the tenant ${await ticketsInTenant()} tickets; expected ${2 * n}`,
      );
    }

    return {
      connector: type,
      tickets: n,
      workers,
      outbound: {
        items: delivered.length,
        seconds: outSeconds,
        itemsPerSec: delivered.length / outSeconds,
        p50Ms: percentile(outLatencies, 0.5),
        p99Ms: percentile(outLatencies, 0.99),
        httpCallsPerTicket: (afterOutbound.requests - requestsBefore) / n,
      },
      echoes: { notices: echoNotices, httpCalls: afterEchoes.requests - afterOutbound.requests },
      inbound: {
        records: n,
        seconds: inSeconds,
        recordsPerSec: n / inSeconds,
        p50Ms: percentile(inLatencies, 0.5),
        p99Ms: percentile(inLatencies, 0.99),
        httpCallsPerRecord: (afterInbound.requests - afterEchoes.requests) / n,
      },
    };
  } finally {
    await simulator.stop();
  }
}

/**
 * `workers` concurrent loops of one pass function (as the worker runs them), until `done()` says so. A loop
 * with nothing to claim waits a moment: other loops may still hold leases, or webhooks may still be arriving.
 */
async function drain(
  label: string,
  workers: number,
  passOnce: (worker: number) => Promise<number>,
  done: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let finished = false;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (;;) {
        if (finished) return;
        const handled = await passOnce(w);
        if (handled > 0) continue;
        if (await done()) {
          finished = true;
          return;
        }
        if (Date.now() > deadline) throw new Error(`${label}: not drained after ${timeoutMs / 1000} s`);
        await sleep(2);
      }
    }),
  );
}

const labels: Record<E2eConnector, string> = {
  servicenow: "ServiceNow",
  zendesk: "Zendesk",
  jsm: "Jira Service Management",
};

/** What the API calls counted per ticket and per record are, from the connectors' clients. */
const callBreakdown: Record<E2eConnector, { outbound: string; inbound: string }> = {
  servicenow: {
    outbound:
      "lookup by correlation_id and POST; read-back of the incident and its journal; comment PATCH and a journal read for the entry's id",
    inbound: "the incident and its journal",
  },
  zendesk: {
    outbound:
      "lookup by external_id and POST; read-back of the ticket, its comments and last audit (the requester from the client's cache); comment PUT",
    inbound: "the ticket, its comments and last audit",
  },
  jsm: {
    outbound:
      "JQL lookup, POST of the customer request, PUT of our id, priority and ADF description, GET of the ref; read-back of the issue and its comments; comment POST",
    inbound: "the issue (with changelog) and its comments",
  },
};

export function e2eMarkdown(results: E2eResult[]): string {
  const first = results[0];
  const calls = (value: number) => fmt(value, Number.isInteger(value) ? 0 : 2);
  const each = (render: (r: E2eResult) => string) => results.map(render).join("; ");
  return [
    "## End-to-end sync through each simulator",
    "",
    `PostgreSQL; per connector ${first?.tickets ?? 0} tickets and ${first?.workers ?? 0} concurrent worker loops, one run each. The gateway runs in one process (its HTTP app listening on a real port, so the simulators' webhooks reach it, and the worker loops calling \`runOutbox\` / \`runInbox\` in-process); each vendor simulator runs in its own process (bench/simulators/<type>.ts), on the same 2 cores.`,
    "",
    "| connector | outbound items/s | p50/p99 ms | inbound records/s | p50/p99 ms |",
    "|---|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${labels[r.connector]} | ${fmt(r.outbound.itemsPerSec, 1)} | ${fmt(r.outbound.p50Ms)} / ${fmt(r.outbound.p99Ms)} | ${fmt(r.inbound.recordsPerSec, 1)} | ${fmt(r.inbound.p50Ms)} / ${fmt(r.inbound.p99Ms)} |`,
    ),
    "",
    `Outbound, an item is a ticket create or a public comment. All of them are queued through the API before the workers start (outbox batch size 5), so latency runs from the drain's start to each delivery and p99 is close to the drain time. Each delivery takes a lease, calls the vendor, then commits the link (or comment link), the delivery mark and a hash-chained ledger entry in one transaction; a ticket's comment waits for its create. A create is create-or-link plus a read-back of the record for the link's baseline. The simulators counted these API calls per ticket with its comment: ${each((r) => `${labels[r.connector]} ${calls(r.outbound.httpCallsPerTicket)} (${callBreakdown[r.connector].outbound})`)}. Inbound, a record is one the simulated agent opens. Its webhook is verified, stored in the inbox with a ledger entry and answered 202. A worker then reads the record back (${each((r) => `${labels[r.connector]} ${calls(r.inbound.httpCallsPerRecord)} calls: ${callBreakdown[r.connector].inbound}`)}) and, in one transaction, creates the canonical ticket, links it, ledgers it and queues the write of our id onto the record. Latency runs from the webhook being accepted to the canonical ticket being created; throughput runs from the agent's first create to the last record linked, with the workers applying webhooks as they arrive. Not timed: between the phases, the notices the vendor sent about the gateway's own writes were applied (${each((r) => `${labels[r.connector]} ${r.echoes.notices}, ${r.echoes.httpCalls} read-back calls`)}; only Jira notifies the integration account's own changes) and checked to create no ticket. After the inbound phase, the id writes and their notices were also applied. The Zendesk simulator's API budget is raised far above a plan's 400-700 requests a minute, so the Zendesk figure measures the gateway and not the plan's limit. A run fails instead of printing figures unless every ticket has exactly one vendor record carrying its id, with our comment on it exactly once, and every agent record is linked to a new canonical ticket (and, at the end, carries its id).`,
  ].join("\n");
}
