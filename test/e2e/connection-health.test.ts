import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { createZendeskSimulator, simulatorUsers } from "../../connectors/zendesk/simulator.js";
import { queryRows } from "../../src/db/client.js";
import { connections, jobKinds, ledgerEntries, periodicJobKinds } from "../../src/db/schema/index.js";
import { deploymentJobs, enqueueJobs } from "../../src/jobs/queue.js";
import { jobHandlers } from "../../src/jobs/registry.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { appendLedger } from "../../src/ledger/append.js";
import { jobContext } from "../../src/runtime.js";
import {
  dampHealth,
  evaluateAllConnections,
  evaluateConnections,
  type HealthFigures,
  type ObservedHealth,
  observeHealth,
} from "../../src/sync/health.js";
import { createTenant, engine } from "../harness.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "./sync-harness.js";

const webhookSecret = "health-webhook-secret-0123456789";
const dampingMs = 60_000;
const minute = 60_000;
let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let other: Awaited<ReturnType<typeof createTenant>>;
let connectionId: string;

beforeAll(async () => {
  // No case here injects timeouts: a generous client timeout keeps a slow simulator answer on a loaded
  // machine from turning a poll meant to succeed into a failed one (seen once in CI).
  ctx = await createSyncTestApp({ maxAttempts: 3, healthDampingMs: dampingMs, httpTimeoutMs: 15_000 });
  sim = createServiceNowSimulator({});
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  tenant = await createTenant(ctx, { name: "Acme" });
  other = await createTenant(ctx, { name: "Globex" });
  const res = await connectServiceNow("Acme ServiceNow", "both");
  connectionId = res.body.id;
  expect(res.body.health).toMatchObject({ state: "healthy", evaluatedAt: null });
});

/** A servicedesk connection of the tenant to the simulator. */
async function connectServiceNow(name: string, direction: "both" | "outbound") {
  const res = await tenant.client.post("/v1/connections", {
    type: "servicenow",
    name,
    role: "servicedesk",
    direction,
    settings: {
      baseUrl: simServer.url,
      auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
      webhookSecret,
    },
  });
  expect(res.status, res.text).toBe(201);
  return res;
}

afterAll(async () => {
  await simServer?.close();
  await ctx?.close();
});

const settle = () => sim.settled();
const drain = () => ctx.drain({ settle });

/** Runs the `connection.health` job once, as a worker whose clock reads `at`. */
async function runHealth(at: Date) {
  const db = ctx.database.db;
  await enqueueJobs(
    db,
    deploymentJobs.filter((job) => job.kind === "connection.health").map((job) => ({ ...job, runAt: at })),
  );
  await db.execute(
    sql`update jobs set next_attempt_at = ${at.toISOString()}::timestamptz
        where kind = 'connection.health' and status = 'pending'`,
  );
  const runner = new JobRunner({
    ctx: { ...jobContext(ctx.deps, "health-test"), now: () => at },
    processConcurrency: 1,
    connectionConcurrency: 1,
    tickMs: 50,
    leaseMs: 10_000,
    kinds: ["connection.health"],
  });
  expect(await runner.runUntilIdle(1)).toBe(1);
}

async function healthChanges(id: string) {
  const rows = await ctx.database.db
    .select()
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.connectionId, id), eq(ledgerEntries.kind, "connection.health_changed")))
    .orderBy(ledgerEntries.sequence);
  return rows;
}

const health = async (id = connectionId, client = tenant.client) => {
  const res = await client.get(`/v1/connections/${id}/health`);
  expect(res.status, res.text).toBe(200);
  return res.body;
};

const openTicket = async (title: string) => {
  const res = await tenant.client.post("/v1/tickets", { title, priority: "P3" });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
};

describe("GET /v1/connections/{id}/health through the ServiceNow simulator", () => {
  it("is healthy with the delivery counted after a successful delivery", async () => {
    await openTicket("Printer on fire");
    await drain();
    await runHealth(new Date());
    const body = await health();
    expect(body).toMatchObject({
      connectionId,
      state: "healthy",
      reasons: [],
      pending: null,
      consecutiveFailures: 0,
      last15m: { deliveries: 1, failures: 0 },
      last24h: { deliveries: 1, failures: 0 },
      backlog: { pending: 0, oldestPendingAgeSeconds: null },
      deadLetters: 0,
      lastFailureAt: null,
      holdUntil: null,
      rateLimit: null,
    });
    expect(body.lastSuccessAt).not.toBeNull();
    expect(body.evaluatedAt).not.toBeNull();
    expect(await healthChanges(connectionId)).toHaveLength(0);
  });

  it("another tenant gets 404; the provider sees it", async () => {
    const res = await other.client.get(`/v1/connections/${connectionId}/health`);
    expect(res.status, res.text).toBe(404);
    expect((await ctx.admin.get(`/v1/connections/${connectionId}/health`)).status).toBe(200);
    expect((await ctx.admin.get("/v1/connections/con_doesnotexist/health")).status).toBe(404);
  });

  let failingAt: Date;
  it("becomes failing only after the damping period when the vendor answers 500, with dead letters counted", async () => {
    sim.faults.push({ kind: "status", status: 500, times: 1000 });
    await openTicket("VPN down");
    await openTicket("Mail down");
    await drain();
    const observedAt = new Date();
    await runHealth(observedAt);
    let body = await health();
    // Observed failing, not yet recorded.
    expect(body.state, JSON.stringify(body)).toBe("healthy");
    expect(body.pending).toMatchObject({ state: "failing" });
    expect(body.pending.reasons.join(" ")).toContain("consecutive_failures");
    expect(body).toMatchObject({
      deadLetters: 2,
      consecutiveFailures: 6,
      last15m: { deliveries: 1, failures: 6 },
    });
    expect(body.lastFailureReason).toContain("http_500");
    expect(await healthChanges(connectionId)).toHaveLength(0);

    await runHealth(new Date(observedAt.getTime() + dampingMs / 2));
    expect((await health()).state).toBe("healthy");

    failingAt = new Date(observedAt.getTime() + dampingMs);
    await runHealth(failingAt);
    body = await health();
    expect(body.state).toBe("failing");
    expect(body.stateSince).toBe(failingAt.toISOString());
    expect(body.pending).toBeNull();
    const changes = await healthChanges(connectionId);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      tenantId: tenant.id,
      side: "provider",
      direction: "internal",
      actorType: "system",
      detail: { connectionId, from: "healthy", to: "failing" },
    });
    expect(Object.keys(changes[0]!.detail).sort()).toEqual(["connectionId", "from", "reason", "to"]);
    expect(String(changes[0]!.detail["reason"])).toContain("consecutive_failures");

    // Evaluating again in the same state ledgers nothing more.
    await runHealth(new Date(failingAt.getTime() + 30_000));
    expect(await healthChanges(connectionId)).toHaveLength(1);
  });

  it("shows the list summary on every connection", async () => {
    const res = await tenant.client.get("/v1/connections");
    expect(res.status, res.text).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0].health).toMatchObject({
      state: "failing",
      deadLetters: 2,
      backlog: { pending: 0 },
      stateSince: failingAt.toISOString(),
    });
    expect(res.body.items[0].health.lastFailureAt).not.toBeNull();
    const one = await tenant.client.get(`/v1/connections/${connectionId}`);
    expect(one.body.health.state).toBe("failing");
  });

  it("never shows a secret in the last failure reason", async () => {
    await ctx.database.db.transaction((tx) =>
      appendLedger(tx, [
        {
          tenantId: tenant.id,
          connectionId,
          direction: "outbound",
          kind: "sync.failed",
          actor: { type: "system", id: "outbox" },
          side: "provider",
          detail: {
            cause: "http_401_permanent",
            httpStatus: 401,
            error: `bad password ${sim.integrationUser.password}`,
          },
        },
      ]),
    );
    await runHealth(new Date(failingAt.getTime() + 40_000));
    const body = await health();
    expect(body.lastFailureReason).toContain("http_401_permanent (HTTP 401): bad password [redacted]");
    const text = JSON.stringify(await ctx.admin.get(`/v1/connections/${connectionId}/health`));
    expect(text).not.toContain(sim.integrationUser.password);
  });

  it("records the last poll, failed and then succeeded", async () => {
    await ctx.poll();
    let body = await health();
    expect(body.lastPoll).toMatchObject({ ok: false });
    expect(body.lastPoll.error).toContain("500");
    expect(body.lastPoll.error).not.toContain(sim.integrationUser.password);
    sim.faults.length = 0;
    await ctx.poll();
    body = await health();
    expect(body.lastPoll).toMatchObject({ ok: true, error: null });
  });

  it("recovers to healthy once the failures leave the window, again only after damping", async () => {
    const replayed = await ctx.admin.post("/v1/dead-letters/replay", { connectionId });
    expect(replayed.body).toEqual({ replayed: 2 });
    await drain();
    const start = Date.now() + 2 * minute;
    await runHealth(new Date(start));
    let body = await health();
    // Delivered again, but most attempts of the last 15 min failed: degraded observed, not yet recorded.
    expect(body).toMatchObject({ state: "failing", deadLetters: 0, consecutiveFailures: 0 });
    expect(body.pending).toMatchObject({ state: "degraded" });
    // The failures leave the 15-minute window: healthy observed, the damping wait restarts.
    const later = start + 16 * minute;
    await runHealth(new Date(later));
    body = await health();
    expect(body).toMatchObject({ state: "failing", pending: { state: "healthy" } });
    expect(body.last24h.deliveries).toBe(3);
    await runHealth(new Date(later + dampingMs));
    body = await health();
    expect(body).toMatchObject({ state: "healthy", reasons: [], last15m: { deliveries: 0, failures: 0 } });
    const changes = await healthChanges(connectionId);
    expect(changes.map((c) => [c.detail["from"], c.detail["to"]])).toEqual([
      ["healthy", "failing"],
      ["failing", "healthy"],
    ]);
  });

  it("shows paused at once when paused, with the backlog counted, and resumes at once", async () => {
    const paused = await tenant.client.post(`/v1/connections/${connectionId}/pause`, {
      reason: "vendor upgrade",
    });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body.health.state).toBe("paused");
    await openTicket("Queued while paused 1");
    await openTicket("Queued while paused 2");
    // A pass of the worker: the paused connection's jobs wait.
    await ctx.drain({ settle, timeoutMs: 300 }).catch(() => {});
    let body = await health();
    expect(body).toMatchObject({ state: "paused", backlog: { pending: 2 } });
    expect(body.backlog.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
    const list = await ctx.admin.get("/v1/connections");
    const item = list.body.items.find((c: { id: string }) => c.id === connectionId);
    expect(item.health).toMatchObject({ state: "paused", backlog: { pending: 2 } });
    // The health job keeps it paused (no damping needed to stay).
    await runHealth(new Date(Date.now() + 40 * minute));
    expect((await health()).state).toBe("paused");

    const resumed = await tenant.client.post(`/v1/connections/${connectionId}/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    expect(resumed.body.health.state).not.toBe("paused");
    await drain();
    body = await health();
    expect(body.backlog.pending).toBe(0);
    const changes = (await healthChanges(connectionId)).slice(-2);
    expect(changes.map((c) => [c.detail["from"], c.detail["to"], c.actorType])).toEqual([
      ["healthy", "paused", "tenant_key"],
      ["paused", resumed.body.health.state, "tenant_key"],
    ]);
  });

  it("shows the vendor's hold after a 429 with Retry-After, and names it among the reasons", async () => {
    sim.faults.push({ kind: "status", status: 429, retryAfterSeconds: 2, times: 1 });
    await openTicket("Throttled");
    // One pass: the attempt is refused and the connection held.
    await ctx.drain({ settle, timeoutMs: 200 }).catch(() => {});
    const body = await health();
    expect(body.holdUntil, JSON.stringify(body)).not.toBeNull();
    expect(new Date(body.holdUntil).getTime()).toBeGreaterThan(Date.now());
    await runHealth(new Date());
    const evaluated = await health();
    const reasons = [...evaluated.reasons, ...(evaluated.pending?.reasons ?? [])].join(" ");
    expect(reasons).toContain("held");
    await drain();
    expect((await health()).backlog.pending).toBe(0);
  });
});

describe("state rules", () => {
  const now = new Date("2026-12-07T12:00:00Z");
  const active = {
    status: "active" as const,
    pausedBy: null,
    pausedReason: null,
    holdUntil: null,
    lastPollError: null,
  };
  const quiet: HealthFigures = {
    deliveries15m: 0,
    failures15m: 0,
    deliveries24h: 0,
    failures24h: 0,
    consecutiveFailures: 0,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastFailureReason: null,
    pending: 0,
    oldestPendingAt: null,
    deadLetters: 0,
  };
  const cases: [
    string,
    Partial<typeof active> | Record<string, unknown>,
    Partial<HealthFigures>,
    string,
    string,
  ][] = [
    ["nothing wrong", {}, { deliveries15m: 10 }, "healthy", ""],
    ["quiet", {}, {}, "healthy", ""],
    [
      "paused by an operator",
      { status: "paused", pausedBy: "admin", pausedReason: "upgrade" },
      {},
      "paused",
      "paused: upgrade",
    ],
    [
      "settings broken (paused by the engine)",
      { status: "paused", pausedBy: "system", pausedReason: "auth: required" },
      {},
      "failing",
      "settings_invalid",
    ],
    ["failures, no success in 15 min", {}, { failures15m: 2 }, "failing", "no_success"],
    [
      "5 failures in a row after successes",
      {},
      { deliveries15m: 20, failures15m: 5, consecutiveFailures: 5 },
      "failing",
      "consecutive_failures",
    ],
    [
      "more than 25 % failed",
      {},
      { deliveries15m: 6, failures15m: 3, consecutiveFailures: 1 },
      "degraded",
      "failure_ratio",
    ],
    ["25 % failed exactly", {}, { deliveries15m: 3, failures15m: 1, consecutiveFailures: 1 }, "healthy", ""],
    [
      "oldest pending job 20 min old",
      {},
      { pending: 3, oldestPendingAt: new Date(now.getTime() - 20 * minute) },
      "degraded",
      "backlog_old",
    ],
    [
      "pending jobs 5 min old",
      {},
      { pending: 3, oldestPendingAt: new Date(now.getTime() - 5 * minute) },
      "healthy",
      "",
    ],
    ["a dead letter open", {}, { deadLetters: 1 }, "degraded", "dead_letters: 1 open"],
    ["held by the vendor", { holdUntil: new Date(now.getTime() + minute) }, {}, "degraded", "held"],
    ["a hold that ended", { holdUntil: new Date(now.getTime() - minute) }, {}, "healthy", ""],
    ["the last poll failed", { lastPollError: "HTTP 500" }, {}, "degraded", "poll_failed"],
  ];
  it.each(cases)("%s", (_name, row, figures, state, reason) => {
    const observed = observeHealth(
      { ...active, ...row } as Parameters<typeof observeHealth>[0],
      { ...quiet, ...figures },
      now,
    );
    expect(observed.state, JSON.stringify(observed)).toBe(state);
    expect(observed.reasons.join("; ")).toContain(reason);
  });

  it("every periodic handler is listed as periodic (backlog and drain leave those kinds out)", () => {
    for (const kind of jobKinds) {
      expect(jobHandlers[kind].periodic, kind).toBe((periodicJobKinds as readonly string[]).includes(kind));
    }
  });
});

describe("damping", () => {
  const observed = (state: ObservedHealth["state"]): ObservedHealth => ({ state, reasons: [state] });

  it("a flapping observation never changes the state; a steady one does after the damping period", () => {
    let current = dampHealth(undefined, observed("healthy"), new Date(0), dampingMs).next;
    let changes = 0;
    for (let i = 1; i <= 40; i++) {
      const step = dampHealth(
        current,
        observed(i % 2 ? "failing" : "healthy"),
        new Date(i * 10_000),
        dampingMs,
      );
      current = step.next;
      if (step.change) changes++;
    }
    expect(changes).toBe(0);
    expect(current.state).toBe("healthy");
    const first = dampHealth(current, observed("failing"), new Date(500_000), dampingMs);
    expect(first.change).toBeNull();
    const held = dampHealth(first.next, observed("failing"), new Date(500_000 + dampingMs), dampingMs);
    expect(held.change).toEqual({ from: "healthy", to: "failing", reason: "failing" });
  });

  it("alternating successes and failures ledger one change, not one per attempt", async () => {
    const db = ctx.database.db;
    const res = await connectServiceNow("Flapping ServiceNow", "outbound");
    const id = res.body.id as string;
    // Far enough ahead that the entries of the earlier tests (other connections) do not matter.
    let clock = Date.now() + 3 * 3_600_000;
    for (let attempt = 0; attempt < 30; attempt++) {
      clock += 10_000;
      await db.transaction((tx) =>
        appendLedger(tx, [
          {
            tenantId: tenant.id,
            connectionId: id,
            direction: "outbound",
            kind: attempt % 2 === 0 ? "sync.failed" : "sync.sent",
            actor: { type: "system", id: "outbox" },
            side: "provider",
            occurredAt: new Date(clock),
            detail: attempt % 2 === 0 ? { cause: "http_500", httpStatus: 500, error: "boom" } : {},
          },
        ]),
      );
      await runHealth(new Date(clock));
    }
    const changes = await healthChanges(id);
    expect(changes.map((c) => [c.detail["from"], c.detail["to"]])).toEqual([["healthy", "degraded"]]);
    expect((await health(id)).state).toBe("degraded");
  });

  it("two evaluations racing ledger a change once", async () => {
    const db = ctx.database.db;
    const res = await connectServiceNow("Raced ServiceNow", "outbound");
    const id = res.body.id as string;
    // A dead letter makes the connection degraded; the change is due once observed past the damping period.
    await db.execute(
      sql`insert into jobs (kind, tenant_id, connection_id, order_key, status, dead_at, dead_reason)
          values ('ticket.update', ${tenant.id}, ${id}, 'tkt_race', 'dead', now(), 'max_attempts: test')`,
    );
    const t0 = Date.now() + 10 * 3_600_000;
    const options = { engine: ctx.deps.config, dampingMs };
    await evaluateAllConnections(db, { ...options, now: new Date(t0) });
    expect((await health(id)).pending).toMatchObject({ state: "degraded" });
    const at = new Date(t0 + dampingMs);
    const [row] = await db.select().from(connections).where(eq(connections.id, id));
    const race = () => evaluateConnections(db, [row!], { ...options, now: at });
    let runs: Awaited<ReturnType<typeof race>>[];
    if (engine === "postgres") {
      // Both evaluations read the same snapshot, then wait on its row until a third transaction lets go:
      // the interleaving a lease takeover can produce, made certain.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from connection_health where connection_id = ${id} for update`);
        locked();
        await held;
      });
      await lockTaken;
      const racing = Promise.all([race(), race()]);
      for (let i = 0; i < 200; i++) {
        const [waiting] = await queryRows<{ n: number }>(
          db,
          sql`select count(*)::int as n from pg_locks where not granted`,
        );
        if (Number(waiting?.n) >= 2) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      release();
      await holder;
      runs = await racing;
    } else {
      runs = await Promise.all([race(), race(), race()]);
    }
    expect(runs.flat()).toHaveLength(1);
    const changes = await healthChanges(id);
    expect(changes.map((c) => [c.detail["from"], c.detail["to"]])).toEqual([["healthy", "degraded"]]);
    expect((await health(id)).state).toBe("degraded");
  });
});

describe("rate-limit budget from Zendesk's headers", () => {
  /** An outbound Zendesk connection of `owner` to a simulator serving at `url`. */
  async function zendeskConnection(
    owner: Awaited<ReturnType<typeof createTenant>>,
    zd: ReturnType<typeof createZendeskSimulator>,
    url: string,
  ) {
    zd.setAccountUrl(url);
    const res = await owner.client.post("/v1/connections", {
      type: "zendesk",
      name: "Globex Zendesk",
      role: "servicedesk",
      direction: "outbound",
      settings: {
        baseUrl: url,
        auth: { type: "basic", username: `${simulatorUsers.integration.email}/token`, password: zd.apiToken },
        integrationUserId: simulatorUsers.integration.id,
        webhookSecret,
      },
    });
    expect(res.status, res.text).toBe(201);
    return res.body.id as string;
  }

  it("is kept with the delivery that read it and shown on the health", async () => {
    const zd = createZendeskSimulator({});
    const server = await listen(zd.app);
    try {
      const id = await zendeskConnection(other, zd, server.url);
      expect((await health(id, other.client)).rateLimit).toBeNull();
      await other.client.post("/v1/tickets", { title: "Zendesk ticket", priority: "P3" });
      await ctx.drain({ settle: () => zd.settled() });
      const body = await health(id, other.client);
      expect(body.rateLimit).not.toBeNull();
      expect(body.rateLimit.remaining).toBeGreaterThan(0);
      expect(new Date(body.rateLimit.resetAt).getTime()).toBeGreaterThan(Date.now() - minute);
      // Tenant isolation the other way round.
      expect((await tenant.client.get(`/v1/connections/${id}/health`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("is written with every delivery once it limits claims, and only every few seconds before", async () => {
    // 24 requests a minute, in a minute that does not end during the test; every API request spends one.
    const perMinute = 24;
    const zd = createZendeskSimulator({
      requestsPerMinute: perMinute,
      now: () => new Date("2026-12-07T10:00:30Z"),
    });
    const server = await listen(zd.app);
    const owner = await createTenant(ctx);
    try {
      const id = await zendeskConnection(owner, zd, server.url);
      const reported = () => Math.max(0, perMinute - zd.requests.length);
      const stored = async () => {
        const [row] = await ctx.database.db.select().from(connections).where(eq(connections.id, id));
        return row!;
      };
      const deliverTicket = async () => {
        const created = await owner.client.post("/v1/tickets", { title: "Zendesk ticket", priority: "P3" });
        expect(created.status, created.text).toBe(201);
        await ctx.drain({ settle: () => zd.settled() });
      };
      await deliverTicket();
      const first = await stored();
      expect(first.rateLimitRemaining).toBe(reported());
      await deliverTicket();
      // Still at or above the connection's concurrency (4): not rewritten by the next delivery.
      expect(reported()).toBeGreaterThanOrEqual(4);
      expect(reported()).toBeLessThan(first.rateLimitRemaining!);
      const second = await stored();
      expect(second.rateLimitSeenAt).toEqual(first.rateLimitSeenAt);
      expect(second.rateLimitRemaining).toBe(first.rateLimitRemaining);
      // Below the concurrency it limits claims: the delivery that read it writes it.
      while (reported() >= 4) await deliverTicket();
      const binding = await stored();
      expect(binding.rateLimitRemaining).toBe(reported());
      expect(binding.concurrencyBudget).toBe(Math.max(reported(), 1));
    } finally {
      await server.close();
    }
  });
});
