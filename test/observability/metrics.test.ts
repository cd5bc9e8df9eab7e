// GET /metrics: who may read it, the unauthenticated METRICS_PORT listener, and the series moving with real
// traffic (webhooks accepted and refused, jobs run against the ServiceNow simulator, queue depth, dead
// letters, SLA clocks at risk and breached under a controllable clock).

import type { AddressInfo } from "node:net";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceNowSimulator } from "../../connectors/servicenow/simulator.js";
import { defaultMetricsSettings } from "../../src/config.js";
import { jobs } from "../../src/db/schema/index.js";
import { dbQueriesInFlight } from "../../src/observability/metrics.js";
import { startMetricsListener } from "../../src/routes/metrics.js";
import { runSlaTimers } from "../../src/services/sla-timers.js";
import { createSyncTestApp, type Listening, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant, createTestApp, TEST_ADMIN_TOKEN, type TestContext } from "../harness.js";
import { parseExposition, type Sample, sampleValue } from "./scrape.js";
import { type ConnectedServiceNow, connectServiceNow } from "./servicenow-connection.js";

const webhookSecret = "servicenow-webhook-secret-metrics-0123";
const metricsToken = "metrics-token-0123456789abcdefghij";

let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let tenant: ConnectedServiceNow["tenant"];
let connectionId: string;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  // Fresh values on every scrape; the cache has its own test below.
  ctx.deps.config = { ...ctx.deps.config, metrics: { ...defaultMetricsSettings, cacheMs: 0 } };
  ({ sim, simServer, tenant, connectionId } = await connectServiceNow(ctx, webhookSecret));
});
afterAll(async () => {
  await simServer?.close();
  await ctx?.close();
});

async function scrape(app: TestContext = ctx): Promise<Sample[]> {
  const res = await app.app.request("/metrics", { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return parseExposition(text);
}

describe("GET /metrics, who may read it", () => {
  const get = (headers: Record<string, string> = {}) => ctx.app.request("/metrics", { headers });

  it("answers 401 problem+json without a bearer token", async () => {
    const res = await get();
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const basic = await get({ authorization: `Basic ${Buffer.from("a:b").toString("base64")}` });
    expect(basic.status).toBe(401);
  });

  it("answers 403 to a wrong token and to a tenant's API key", async () => {
    expect((await get({ authorization: "Bearer not-the-token-at-all-0123456789" })).status).toBe(403);
    const res = await get({ authorization: `Bearer ${tenant.apiKey}` });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("tsg_");
  });

  it("serves the text exposition format to the admin token", async () => {
    const res = await get({ authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain("# TYPE tsg_http_request_duration_seconds histogram");
    expect(text).toContain("# TYPE tsg_jobs_pending gauge");
  });

  it("serves METRICS_TOKEN when it is set, and the admin token still", async () => {
    const before = ctx.deps.config.metrics!;
    expect((await get({ authorization: `Bearer ${metricsToken}` })).status, "not set yet").toBe(403);
    ctx.deps.config = { ...ctx.deps.config, metrics: { ...before, token: metricsToken } };
    try {
      expect((await get({ authorization: `Bearer ${metricsToken}` })).status).toBe(200);
      expect((await get({ authorization: `Bearer ${TEST_ADMIN_TOKEN}` })).status).toBe(200);
      expect((await get({ authorization: `Bearer ${metricsToken}x` })).status).toBe(403);
    } finally {
      ctx.deps.config = { ...ctx.deps.config, metrics: before };
    }
  });

  it("is not an operation of the JSON API, but documented as text/plain", async () => {
    const doc = (await (await ctx.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>;
    };
    const operation = doc.paths["/metrics"]?.["get"];
    expect(operation, "documented").toBeDefined();
    expect(Object.keys(operation!.responses["200"]!.content ?? {})).toEqual(["text/plain"]);
  });
});

describe("METRICS_PORT listener", () => {
  it("serves /metrics without auth and nothing else", async () => {
    const server = startMetricsListener({
      db: ctx.database.db,
      settings: { ...defaultMetricsSettings, cacheMs: 0 },
      host: "127.0.0.1",
    });
    try {
      await new Promise<void>((resolve) =>
        server.listening ? resolve() : server.once("listening", resolve),
      );
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/metrics`);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(
        sampleValue(parseExposition(text), "tsg_jobs_pending", { kind: "sla.timers" }),
      ).toBeGreaterThanOrEqual(0);
      expect(text).toContain("tsg_jobs_pending");
      expect((await fetch(`${base}/v1/tickets`)).status).toBe(404);
      expect((await fetch(`${base}/openapi.json`)).status).toBe(404);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("series after real traffic", () => {
  it("counts a webhook accepted, one refused, the inbox job and its vendor call, by connector type", async () => {
    const before = await scrape();
    sim.simulateAgentInsert({ short_description: "Metrics: VPN down", impact: "2", urgency: "2" });
    await sim.settled();
    const refused = await fetch(`${ctx.gatewayUrl}/webhooks/${connectionId}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer wrong-secret" },
      body: "{}",
    });
    expect(refused.status).toBe(401);
    await ctx.drain({ settle: () => sim.settled() });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);

    expect(delta("tsg_webhooks_accepted_total", { connector: "servicenow" })).toBe(1);
    expect(delta("tsg_webhooks_rejected_total", { connector: "servicenow", reason: "unverified" })).toBe(1);
    expect(delta("tsg_jobs_total", { kind: "inbox.apply", outcome: "done" })).toBeGreaterThanOrEqual(1);
    expect(delta("tsg_job_enqueue_to_done_seconds_count", { kind: "inbox.apply" })).toBeGreaterThanOrEqual(1);
    expect(delta("tsg_job_run_duration_seconds_count", { kind: "inbox.apply" })).toBeGreaterThanOrEqual(1);
    expect(
      delta("tsg_vendor_request_duration_seconds_count", {
        connector: "servicenow",
        method: "GET",
        outcome: "2xx",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(delta("tsg_ledger_append_duration_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(
      delta("tsg_http_request_duration_seconds_count", {
        method: "POST",
        route: "/webhooks/:connectionId",
        status: "202",
      }),
    ).toBe(1);
    expect(
      delta("tsg_http_request_duration_seconds_count", { route: "/webhooks/:connectionId", status: "401" }),
    ).toBe(1);
    // Queries ran; none is left in flight between requests.
    expect(sampleValue(after, "tsg_db_queries_in_flight")).toBe(0);
  });

  it("counts database queries in flight, inside transactions too", async () => {
    const inFlight = async () => (await dbQueriesInFlight.get()).values.reduce((sum, v) => sum + v.value, 0);
    const idle = await inFlight();
    // The highest count seen while `query` runs (a sleeping statement, so it is seen in flight).
    const peakWhile = async (query: Promise<unknown>) => {
      let done = false;
      const finished = query.then(() => {
        done = true;
      });
      let peak = idle;
      while (!done) {
        peak = Math.max(peak, await inFlight());
        await new Promise((r) => setTimeout(r, 10));
      }
      await finished;
      return peak;
    };
    expect(await peakWhile(ctx.database.db.execute(sql`select pg_sleep(0.5)`).then())).toBe(idle + 1);
    expect(await inFlight()).toBe(idle);
    const peakInTransaction = await ctx.database.db.transaction((tx) =>
      peakWhile(tx.execute(sql`select pg_sleep(0.5)`).then()),
    );
    expect(peakInTransaction).toBe(idle + 1);
    expect(await inFlight()).toBe(idle);
  });

  it("counts an unknown webhook URL under connector unknown", async () => {
    const before = await scrape();
    const res = await fetch(`${ctx.gatewayUrl}/webhooks/con_01JZZZZZZZZZZZZZZZZZZZZZZZ`, {
      method: "POST",
      body: "{}",
    });
    expect(res.status).toBe(404);
    const after = await scrape();
    const labels = { connector: "unknown", reason: "unknown_connection" };
    expect(sampleValue(after, "tsg_webhooks_rejected_total", labels)).toBe(
      sampleValue(before, "tsg_webhooks_rejected_total", labels) + 1,
    );
  });

  it("labels requests by route pattern and never by an id", async () => {
    const ticket = await ctx.admin.post("/v1/tickets", {
      tenantId: tenant.id,
      title: "Labels",
      priority: "P3",
    });
    expect(ticket.status).toBe(201);
    await ctx.admin.get(`/v1/tickets/${ticket.body.id}`);
    await ctx.admin.get(`/v1/no-such-route/${ticket.body.id}`);
    await ctx.drain({ settle: () => sim.settled() });
    const res = await ctx.app.request("/metrics", {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    const text = await res.text();
    expect(text).toContain('route="/v1/tickets/:id"');
    for (const id of [ticket.body.id, tenant.id, connectionId]) expect(text).not.toContain(id);
  });

  it("shows queue depth and the oldest pending age while a connection is paused, and dead letters", async () => {
    expect(
      (await ctx.admin.post(`/v1/connections/${connectionId}/pause`, { reason: "metrics" })).status,
    ).toBe(200);
    const ticket = await ctx.admin.post("/v1/tickets", {
      tenantId: tenant.id,
      title: "Queued",
      priority: "P2",
    });
    expect(ticket.status).toBe(201);
    const paused = await scrape();
    expect(sampleValue(paused, "tsg_jobs_pending", { kind: "ticket.create" })).toBe(1);
    expect(
      sampleValue(paused, "tsg_jobs_oldest_pending_age_seconds", { kind: "ticket.create" }),
    ).toBeGreaterThanOrEqual(0);
    expect(
      paused.some(
        (s) => s.name === "tsg_jobs_oldest_pending_age_seconds" && s.labels["kind"] === "ticket.create",
      ),
    ).toBe(true);

    // The job fails for good: a dead letter, counted open until it is skipped.
    await ctx.database.db
      .update(jobs)
      .set({ status: "dead", deadAt: new Date(), deadReason: "permanent_error: test" })
      .where(and(eq(jobs.kind, "ticket.create"), eq(jobs.status, "pending")));
    const dead = await scrape();
    expect(sampleValue(dead, "tsg_jobs_pending", { kind: "ticket.create" })).toBe(0);
    expect(sampleValue(dead, "tsg_dead_letters_open", { kind: "ticket.create" })).toBe(1);
    await ctx.database.db.execute(
      sql`update jobs set status = 'skipped' where kind = 'ticket.create' and status = 'dead'`,
    );
    expect(sampleValue(await scrape(), "tsg_dead_letters_open", { kind: "ticket.create" })).toBe(0);
    expect((await ctx.admin.post(`/v1/connections/${connectionId}/resume`, {})).status).toBe(200);
  });

  it("reuses one database snapshot within METRICS_CACHE_MS", async () => {
    const before = ctx.deps.config.metrics!;
    try {
      // A fresh snapshot first (an earlier test's may still be cached), then one kept for a minute.
      ctx.deps.config = { ...ctx.deps.config, metrics: { ...before, cacheMs: 0 } };
      const first = sampleValue(await scrape(), "tsg_jobs_pending");
      ctx.deps.config = { ...ctx.deps.config, metrics: { ...before, cacheMs: 60_000 } };
      await ctx.database.db
        .insert(jobs)
        .values({ kind: "jobs.prune", nextAttemptAt: new Date(Date.now() + 3_600_000) });
      expect(sampleValue(await scrape(), "tsg_jobs_pending"), "cached").toBe(first);
      ctx.deps.config = { ...ctx.deps.config, metrics: { ...before, cacheMs: 0 } };
      expect(sampleValue(await scrape(), "tsg_jobs_pending"), "fresh").toBe(first + 1);
    } finally {
      ctx.deps.config = { ...ctx.deps.config, metrics: before };
      await ctx.database.db.delete(jobs).where(eq(jobs.kind, "jobs.prune"));
    }
  });
});

describe("SLA clocks at risk and breached, under a controllable clock", () => {
  const clock = { now: new Date("2026-11-23T09:00:00Z") };
  let slaCtx: TestContext;
  beforeAll(async () => {
    slaCtx = await createTestApp({ now: () => clock.now });
    slaCtx.deps.config = { ...slaCtx.deps.config, metrics: { ...defaultMetricsSettings, cacheMs: 0 } };
  });
  afterAll(async () => slaCtx?.close());

  const fire = () =>
    runSlaTimers(slaCtx.database.db, {
      catalog: slaCtx.deps.catalog,
      now: () => clock.now,
      workerId: "metrics-test",
      leaseMs: 30_000,
      batchSize: 100,
    });

  it("moves a P1 response clock from at risk to breached, by plan and priority, without tenant ids", async () => {
    const slaTenant = await createTenant(slaCtx, { plan: "ombori-production" });
    const res = await slaTenant.client.post("/v1/tickets", { title: "Core down", priority: "P1" });
    expect(res.status, res.text).toBe(201);
    const labels = { plan: "ombori-production", priority: "P1", clock: "response" };
    await fire();
    expect(sampleValue(await scrape(slaCtx), "tsg_sla_clocks_at_risk", labels), "on time").toBe(0);

    clock.now = new Date("2026-11-23T09:25:00Z");
    await fire();
    const atRisk = await scrape(slaCtx);
    expect(sampleValue(atRisk, "tsg_sla_clocks_at_risk", labels)).toBe(1);
    expect(sampleValue(atRisk, "tsg_sla_clocks_breached", labels)).toBe(0);

    clock.now = new Date("2026-11-23T09:31:00Z");
    await fire();
    const breached = await scrape(slaCtx);
    expect(sampleValue(breached, "tsg_sla_clocks_at_risk", labels)).toBe(0);
    expect(sampleValue(breached, "tsg_sla_clocks_breached", labels)).toBe(1);
    const exposition = await slaCtx.app.request("/metrics", {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    const text = await exposition.text();
    expect(text).not.toContain(slaTenant.id);

    slaCtx.deps.config = {
      ...slaCtx.deps.config,
      metrics: { ...defaultMetricsSettings, cacheMs: 0, tenantLabels: true },
    };
    expect(
      sampleValue(await scrape(slaCtx), "tsg_sla_clocks_breached", { ...labels, tenant: slaTenant.id }),
    ).toBe(1);
  });
});
