import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { queryRows } from "../../src/db/client.js";
import { effectJobKinds } from "../../src/jobs/registry.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { jobContext } from "../../src/runtime.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

// Fairness and priority are asserted as order and progress, never as wall time (latency is in `npm run bench`).

const secret = "fairness-webhook-secret-0000000000";
let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let hanging: { url: string; server: Server; sockets: Set<Socket> };
let runner: JobRunner | null = null;

/** A vendor that accepts every connection and never answers. */
async function hangingVendor() {
  const sockets = new Set<Socket>();
  const server = createServer(() => {});
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, sockets };
}

function snSettings(baseUrl: string) {
  return {
    baseUrl,
    auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
    webhookSecret: secret,
  };
}

async function connect(tenant: Awaited<ReturnType<typeof createTenant>>, baseUrl: string) {
  const res = await tenant.client.post("/v1/connections", {
    type: "servicenow",
    name: `ServiceNow of ${tenant.id}`,
    role: "servicedesk",
    settings: snSettings(baseUrl),
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const count = async (query: ReturnType<typeof sql>) =>
  Number((await queryRows<{ n: number }>(ctx.database.db, query))[0]?.n ?? 0);

async function waitFor(what: string, predicate: () => Promise<boolean>, state: () => Promise<unknown>) {
  const deadline = Date.now() + 90_000;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await state())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  // Calls to the hanging vendor outlast the test; leases are extended while they run.
  ctx = await createSyncTestApp({ httpTimeoutMs: 120_000, leaseMs: 3_000, connectionConcurrency: 4 });
  sim = createServiceNowSimulator({});
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  hanging = await hangingVendor();
}, 120_000);

afterAll(async () => {
  await runner?.stop(0);
  for (const socket of hanging?.sockets ?? []) socket.destroy();
  await new Promise<void>((resolve) => (hanging ? hanging.server.close(() => resolve()) : resolve()));
  await new Promise((r) => setTimeout(r, 200));
  await simServer?.close();
  await ctx?.close();
});

function startRunner(
  options: { connectionConcurrency: number; processConcurrency: number },
  kinds: readonly (typeof effectJobKinds)[number][] = effectJobKinds,
) {
  const created = new JobRunner({
    ctx: jobContext(ctx.deps, "fairness-worker"),
    ...options,
    tickMs: 20,
    leaseMs: 3_000,
    kinds,
  });
  return created;
}

describe("fair share across tenants while one vendor hangs", () => {
  it("delivers all of tenant B's jobs, P1 first, while 5,000 of tenant A's P3 jobs wait on a vendor that never answers", async () => {
    const a = await createTenant(ctx, { name: "Tenant A (hanging vendor)" });
    const b = await createTenant(ctx, { name: "Tenant B (healthy vendor)" });
    const aConnection = await connect(a, hanging.url);
    const bConnection = await connect(b, simServer.url);

    // 5,000 P3 tickets of A, each with its create job queued (cloned in SQL: the API is not what is measured).
    const seed = await a.client.post("/v1/tickets", { title: "A seed", priority: "P3" });
    expect(seed.status, seed.text).toBe(201);
    const columns = (
      await queryRows<{ column_name: string }>(
        ctx.database.db,
        sql`select column_name from information_schema.columns where table_name = 'tickets' and table_schema = current_schema() and column_name <> 'id'`,
      )
    ).map((c) => `"${c.column_name}"`);
    await ctx.database.db.execute(
      sql.raw(
        `insert into tickets (id, ${columns.join(", ")})
         select 'tkt_FAIR' || lpad(g::text, 6, '0'), ${columns.join(", ")}
         from tickets, generate_series(1, 4999) g where id = '${seed.body.id}'`,
      ),
    );
    await ctx.database.db.execute(
      sql`insert into jobs (kind, tenant_id, connection_id, order_key, priority)
          select 'ticket.create', tenant_id, ${aConnection}, id, 3 from tickets
          where tenant_id = ${a.id} and id <> ${seed.body.id} order by id`,
    );
    expect(
      await count(
        sql`select count(*)::int as n from jobs where connection_id = ${aConnection} and kind = 'ticket.create' and status = 'pending'`,
      ),
    ).toBe(5000);

    runner = startRunner({ connectionConcurrency: 4, processConcurrency: 32 });
    runner.start();
    const aInFlight = () =>
      count(
        sql`select count(*)::int as n from jobs where connection_id = ${aConnection} and status = 'pending' and locked_until > now()`,
      );
    await waitFor("A's jobs to be in flight", async () => (await aInFlight()) >= 4, aInFlight);

    // B opens a P3 and then a P1 ticket; afterwards A queues more work.
    const bP3 = await b.client.post("/v1/tickets", { title: "B routine", priority: "P3" });
    const bP1 = await b.client.post("/v1/tickets", { title: "B outage", priority: "P1" });
    expect([bP3.status, bP1.status]).toEqual([201, 201]);
    await ctx.database.db.execute(
      sql`insert into jobs (kind, tenant_id, connection_id, order_key, priority)
          select 'ticket.create', tenant_id, ${aConnection}, id, 3 from tickets
          where tenant_id = ${a.id} and id like 'tkt_FAIR0001%'`,
    );

    let maxAInFlight = 0;
    const landed = (id: string) => [...sim.state.incidents.values()].some((r) => r["correlation_id"] === id);
    const bOpen = () =>
      count(
        sql`select count(*)::int as n from jobs where connection_id = ${bConnection} and kind <> 'connection.poll' and status <> 'done'`,
      );
    await waitFor(
      "B's tickets to land at B's ServiceNow",
      async () => {
        maxAInFlight = Math.max(maxAInFlight, await aInFlight());
        return landed(bP3.body.id) && landed(bP1.body.id) && (await bOpen()) === 0;
      },
      async () =>
        queryRows(
          ctx.database.db,
          sql`select connection_id, status, count(*)::int as n from jobs group by connection_id, status`,
        ),
    );
    // B landed while A's calls were still hanging, and A never held more than its connection's share.
    expect(await aInFlight()).toBeGreaterThan(0);
    expect(maxAInFlight).toBeLessThanOrEqual(4);
    expect(
      await count(
        sql`select count(*)::int as n from jobs where connection_id = ${aConnection} and status = 'done'`,
      ),
    ).toBe(0);
    // The A jobs queued after B's P1 were never even attempted.
    expect(
      await count(
        sql`select count(*)::int as n from jobs where connection_id = ${aConnection} and order_key like 'tkt_FAIR0001%' and attempts > 0 and id > (select max(id) from jobs where connection_id = ${bConnection} and kind = 'ticket.create')`,
      ),
    ).toBe(0);
    await runner.stop(0);
    runner = null;
    // A's backlog waits while its vendor is down.
    expect(
      await a.client.post(`/v1/connections/${aConnection}/pause`, { reason: "vendor down" }),
    ).toMatchObject({
      status: 200,
    });
  }, 180_000);

  it("delivers a P1 ticket's job before P3 jobs of other tickets queued earlier on the same connection", async () => {
    const c = await createTenant(ctx, { name: "Tenant C" });
    const cConnection = await connect(c, simServer.url);
    // Paused, so the whole queue is there before anything is delivered.
    const paused = await c.client.post(`/v1/connections/${cConnection}/pause`, {
      reason: "maintenance window",
    });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toMatchObject({ state: "paused", paused: { reason: "maintenance window" } });
    const p3: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await c.client.post("/v1/tickets", { title: `C routine ${i}`, priority: "P3" });
      p3.push(res.body.id);
    }
    const p1 = (await c.client.post("/v1/tickets", { title: "C outage", priority: "P1" })).body.id as string;
    // Nothing of the connection moves while paused (the tickets' event fan-outs belong to no connection).
    const idle = startRunner(
      { connectionConcurrency: 1, processConcurrency: 1 },
      effectJobKinds.filter((kind) => !kind.startsWith("event.")),
    );
    expect(await idle.runUntilIdle(5)).toBe(0);
    expect(await c.client.post(`/v1/connections/${cConnection}/resume`)).toMatchObject({ status: 200 });

    const before = sim.state.incidents.size;
    const serial = startRunner({ connectionConcurrency: 1, processConcurrency: 1 });
    await serial.runUntilIdle();
    const created = [...sim.state.incidents.values()].slice(before).map((r) => r["correlation_id"]);
    const state = await queryRows(
      ctx.database.db,
      sql`select id, kind, order_key, status, attempts, last_error, locked_until from jobs where connection_id = ${cConnection} order by id`,
    );
    expect(created[0], JSON.stringify({ created, state })).toBe(p1);
    expect(new Set(created), JSON.stringify(state)).toEqual(new Set([p1, ...p3]));
    const ledger = await queryRows<{ kind: string }>(
      ctx.database.db,
      sql`select kind from ledger_entries where connection_id = ${cConnection}
          and kind in ('connection.created', 'connection.paused', 'connection.resumed') order by sequence`,
    );
    expect(ledger.map((l) => l.kind)).toEqual([
      "connection.created",
      "connection.paused",
      "connection.resumed",
    ]);
  }, 120_000);
});
