import { Writable } from "node:stream";
import { and, DrizzleQueryError, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ZodError, z } from "zod";
import { PermanentHttpError, TransientHttpError } from "../../connectors/sdk/index.js";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { queryRows } from "../../src/db/client.js";
import {
  connections,
  idempotencyKeys,
  inbox,
  jobs,
  ledgerEntries,
  webhookRejections,
} from "../../src/db/schema/index.js";
import { ConnectionSettingsError, classifyFailure } from "../../src/jobs/classify.js";
import { pruneFinished } from "../../src/jobs/prune.js";
import { claimJobs, releaseJobs } from "../../src/jobs/queue.js";
import { effectJobKinds, jobHandlers } from "../../src/jobs/registry.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { createLogger } from "../../src/lib/logger.js";
import { encryptSecret } from "../../src/lib/secrets.js";
import { jobContext } from "../../src/runtime.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant } from "../harness.js";

function httpError(status: number | null, retryable: boolean) {
  const details = {
    method: "PATCH",
    url: "https://vendor.example/x",
    status,
    attempts: 1,
    latencyMs: 5,
    responseBody: null,
  };
  return retryable
    ? new TransientHttpError("failed", {
        ...details,
        maybeProcessed: false,
        retryAfterMs: status === 429 ? 1500 : null,
      })
    : new PermanentHttpError("failed", details);
}

describe("failure classification (one place)", () => {
  it.each([400, 401, 403, 404, 405, 410, 412, 413, 415, 422])("vendor %i is permanent", (status) => {
    expect(classifyFailure(httpError(status, false))).toMatchObject({ retry: false, httpStatus: status });
  });
  it.each([408, 409, 423, 425, 429, 500, 502, 503, 504])("vendor %i is retried", (status) => {
    // The SDK calls some of these permanent for one request; for the job they heal later.
    expect(classifyFailure(httpError(status, false))).toMatchObject({ retry: true, httpStatus: status });
    expect(classifyFailure(httpError(status, true))).toMatchObject({ retry: true, httpStatus: status });
  });
  it("holds the connection for a 429's Retry-After", () => {
    expect(classifyFailure(httpError(429, true))).toMatchObject({ retry: true, retryAfterMs: 1500 });
  });
  it("retries network errors and timeouts", () => {
    expect(classifyFailure(httpError(null, true))).toMatchObject({ retry: true, reason: "network" });
    expect(classifyFailure(new DOMException("timed out", "TimeoutError"))).toMatchObject({ retry: true });
  });
  it.each(["08006", "08003", "53300", "57P01", "57P02", "57P03", "40001", "40P01"])(
    "retries PostgreSQL SQLSTATE %s",
    (code) => {
      const error = Object.assign(new Error("db"), { code });
      expect(classifyFailure(error)).toMatchObject({ retry: true, reason: "database_transient" });
      expect(classifyFailure(new Error("wrapped", { cause: error }))).toMatchObject({ retry: true });
    },
  );
  it.each(["CONNECTION_CLOSED", "CONNECTION_ENDED", "ECONNRESET", "ECONNREFUSED", "EPIPE"])(
    "retries a lost connection (%s), also as the cause of drizzle's query error",
    (code) => {
      const lost = Object.assign(new Error("write CONNECTION_CLOSED"), { code });
      expect(classifyFailure(lost)).toMatchObject({ retry: true, reason: "database_transient" });
      const wrapped = new DrizzleQueryError("select * from ledger_entries where id = $1", [1], lost);
      expect(classifyFailure(wrapped)).toMatchObject({ retry: true, reason: "database_transient" });
    },
  );
  it("treats constraint violations, validation errors and bugs as permanent", () => {
    expect(classifyFailure(Object.assign(new Error("dup"), { code: "23505" })).retry).toBe(false);
    const zod = (() => {
      try {
        z.object({ a: z.string() }).parse({});
      } catch (error) {
        return error as ZodError;
      }
      throw new Error("unreachable");
    })();
    expect(classifyFailure(zod)).toMatchObject({ retry: false, reason: "validation" });
    expect(classifyFailure(new TypeError("x is undefined")).retry).toBe(false);
  });
  it("pauses a connection whose settings no longer parse", () => {
    expect(classifyFailure(new ConnectionSettingsError("bad"))).toMatchObject({ pauseConnection: "bad" });
  });
  it("has a handler for every kind, periodic ones apart", () => {
    expect(effectJobKinds).not.toContain("connection.poll");
    expect(jobHandlers["sla.timers"].periodic).toBe(true);
    expect(jobHandlers["inbox.apply"].periodic).toBe(false);
  });
});

describe("the job system through the API and a real vendor", () => {
  const secret = "job-system-webhook-secret-00000000";
  const simOptions: Parameters<typeof createServiceNowSimulator>[0] = {};
  let ctx: SyncTestContext;
  let sim: ServiceNowSimulator;
  let simServer: Listening;
  let tenant: Awaited<ReturnType<typeof createTenant>>;
  let other: Awaited<ReturnType<typeof createTenant>>;
  let connectionId: string;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    ctx = await createSyncTestApp({ maxAttempts: 2 });
    ctx.deps.logger = createLogger(
      "info",
      new Writable({
        write(chunk, _encoding, done) {
          for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
          done();
        },
      }),
    );
    sim = createServiceNowSimulator(simOptions);
    simServer = await listen(sim.app);
    sim.setInstanceUrl(simServer.url);
    tenant = await createTenant(ctx);
    other = await createTenant(ctx);
    const res = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "Jobs ServiceNow",
      role: "servicedesk",
      settings: {
        baseUrl: simServer.url,
        auth: {
          type: "basic",
          username: sim.integrationUser.username,
          password: sim.integrationUser.password,
        },
        webhookSecret: secret,
      },
    });
    expect(res.status, res.text).toBe(201);
    connectionId = res.body.id;
    simOptions.webhook = { url: res.body.webhookUrl, secret };
  }, 120_000);
  afterAll(async () => {
    await simServer?.close();
    await ctx?.close();
  });
  const settle = () => sim.settled();

  it("dead-letters an inbound notice that cannot be applied, lists and inspects it, and replays it", async () => {
    // The instance fails every read of the record: the notice is accepted (202), then its apply job dies.
    sim.faults.push({ kind: "status", status: 500, times: 2, match: { method: "GET" } });
    const incident = sim.simulateAgentInsert({
      short_description: "Inbound that fails",
      impact: "2",
      urgency: "2",
    });
    await ctx.drain({ settle, timeoutMs: 20_000 });
    const listed = await ctx.admin.get("/v1/dead-letters?source=inbox");
    expect(listed.status, listed.text).toBe(200);
    const dead = listed.body.items.find((d: { externalId: string }) => d.externalId === incident["sys_id"]);
    expect(dead, listed.text).toMatchObject({
      source: "inbox",
      kind: "inbox.apply",
      connectionId,
      tenantId: tenant.id,
      lastHttpStatus: 500,
      reason: "max_attempts: http_500",
    });
    // The tenant sees its own dead letter, another tenant does not.
    expect((await tenant.client.get("/v1/dead-letters?source=inbox")).body.items).toHaveLength(1);
    expect((await other.client.get("/v1/dead-letters")).body.items).toHaveLength(0);
    expect((await other.client.get(`/v1/dead-letters/${dead.id}`)).status).toBe(404);
    const detail = await tenant.client.get(`/v1/dead-letters/${dead.id}`);
    expect(detail.status, detail.text).toBe(200);
    expect(detail.body.notice).toMatchObject({ externalId: incident["sys_id"] });
    expect(detail.body.attemptHistory.map((a: { kind: string }) => a.kind)).toEqual([
      "sync.failed",
      "sync.retry_scheduled",
      "sync.failed",
      "sync.dead_lettered",
    ]);
    expect(
      logLines.filter((l) => l["event"] === "job.attempt_failed" && l["jobId"] === dead.id),
    ).toHaveLength(1);
    const deathLog = logLines.find((l) => l["event"] === "job.dead_lettered" && l["jobId"] === dead.id);
    expect(deathLog).toMatchObject({
      connectionId,
      tenantId: tenant.id,
      jobKind: "inbox.apply",
      attempt: 2,
      httpStatus: 500,
    });
    // Replay (the provider's): the record is applied.
    expect((await tenant.client.post(`/v1/dead-letters/${dead.id}/replay`)).status).toBe(403);
    const replayed = await ctx.admin.post(`/v1/dead-letters/${dead.id}/replay`);
    expect(replayed.status, replayed.text).toBe(200);
    await ctx.drain({ settle });
    const [row] = await ctx.database.db.select().from(jobs).where(eq(jobs.id, dead.id));
    expect(row?.status).toBe("done");
    expect(sim.state.incidents.get(incident["sys_id"]!)!["correlation_id"]).toMatch(/^tkt_/);
    expect(logLines.some((l) => l["event"] === "job.replayed" && l["jobId"] === dead.id)).toBe(true);
    // Nothing secret in any log line.
    const logText = JSON.stringify(logLines);
    expect(logText).not.toContain(sim.integrationUser.password);
    expect(logText).not.toContain(secret);
  });

  it("keeps accepting webhooks while paused, runs nothing, and catches up on resume", async () => {
    const paused = await tenant.client.post(`/v1/connections/${connectionId}/pause`, {
      reason: "change freeze",
    });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toMatchObject({ state: "paused", paused: { reason: "change freeze" } });
    expect((await tenant.client.get(`/v1/connections/${connectionId}`)).body.state).toBe("paused");
    expect((await other.client.post(`/v1/connections/${connectionId}/pause`, { reason: "x" })).status).toBe(
      404,
    );
    expect((await tenant.client.post(`/v1/connections/${connectionId}/pause`, {})).status).toBe(400);

    const ticket = (await tenant.client.post("/v1/tickets", { title: "While paused", priority: "P2" })).body;
    const incident = sim.simulateAgentInsert({
      short_description: "Agent while paused",
      impact: "3",
      urgency: "3",
    });
    await sim.settled();
    await ctx.drain({ settle, timeoutMs: 1_000 }).catch(() => {});
    // Nothing went out and nothing came in, yet the webhook is stored and nothing is dead.
    expect([...sim.state.incidents.values()].some((r) => r["correlation_id"] === ticket.id)).toBe(false);
    const stored = await ctx.database.db
      .select()
      .from(inbox)
      .where(and(eq(inbox.connectionId, connectionId), eq(inbox.externalId, incident["sys_id"]!)));
    expect(stored).toHaveLength(1);
    expect(
      await ctx.database.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.connectionId, connectionId), eq(jobs.status, "dead"))),
    ).toHaveLength(0);

    const resumed = await tenant.client.post(`/v1/connections/${connectionId}/resume`);
    expect(resumed.body).toMatchObject({ state: "active", paused: null });
    await ctx.drain({ settle });
    expect([...sim.state.incidents.values()].some((r) => r["correlation_id"] === ticket.id)).toBe(true);
    expect(sim.state.incidents.get(incident["sys_id"]!)!["correlation_id"]).toMatch(/^tkt_/);
    const entries = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(
        and(eq(ledgerEntries.connectionId, connectionId), sql`${ledgerEntries.kind} like 'connection.%'`),
      );
    expect(entries.map((e) => [e.kind, e.detail["reason"] ?? null])).toEqual(
      expect.arrayContaining([
        ["connection.paused", "change freeze"],
        ["connection.resumed", null],
      ]),
    );
    expect(
      logLines.some((l) => l["event"] === "connection.paused" && l["connectionId"] === connectionId),
    ).toBe(true);
  });

  it("pauses a connection whose stored settings no longer parse instead of failing its jobs", async () => {
    const [row] = await ctx.database.db.select().from(connections).where(eq(connections.id, connectionId));
    await ctx.database.db
      .update(connections)
      .set({ settingsEncrypted: encryptSecret(ctx.deps.config.secretsKey, JSON.stringify({ baseUrl: 42 })) })
      .where(eq(connections.id, connectionId));
    const ticket = (await tenant.client.post("/v1/tickets", { title: "Bad settings", priority: "P3" })).body;
    const runner = new JobRunner({
      ctx: jobContext(ctx.deps, "settings-worker"),
      processConcurrency: 4,
      connectionConcurrency: 4,
      tickMs: 20,
      leaseMs: 5_000,
      kinds: effectJobKinds,
    });
    await runner.runUntilIdle(3);
    const [after] = await ctx.database.db.select().from(connections).where(eq(connections.id, connectionId));
    expect(after).toMatchObject({ status: "paused", pausedBy: "system" });
    expect(after!.pausedReason).toContain("settings no longer parse");
    const [job] = await ctx.database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.orderKey, ticket.id), eq(jobs.connectionId, connectionId)));
    expect(job).toMatchObject({ status: "pending", attempts: 0 });
    // Fixed settings and a resume: the job runs.
    await ctx.database.db
      .update(connections)
      .set({ settingsEncrypted: row!.settingsEncrypted })
      .where(eq(connections.id, connectionId));
    expect((await ctx.admin.post(`/v1/connections/${connectionId}/resume`)).status).toBe(200);
    await ctx.drain({ settle });
    expect([...sim.state.incidents.values()].some((r) => r["correlation_id"] === ticket.id)).toBe(true);
  });

  it("claims no more of a connection's jobs than its vendor budget allows, and none while it is held", async () => {
    const orderKeys = Array.from({ length: 10 }, (_, i) => `tkt_BUDGET${i}`);
    await ctx.database.db.insert(jobs).values(
      orderKeys.map((orderKey) => ({
        kind: "ticket.update" as const,
        connectionId,
        tenantId: tenant.id,
        orderKey,
      })),
    );
    const claim = async () => {
      const claimed = await claimJobs(ctx.database.db, {
        workerId: "budget-test",
        now: new Date(),
        leaseMs: 60_000,
        limit: 10,
        connectionConcurrency: 4,
        kinds: ["ticket.update"],
      });
      await releaseJobs(
        ctx.database.db,
        "budget-test",
        claimed.map((j) => j.id),
      );
      return claimed.length;
    };
    expect(await claim()).toBe(4);
    await ctx.database.db
      .update(connections)
      .set({ concurrencyBudget: 1 })
      .where(eq(connections.id, connectionId));
    expect(await claim()).toBe(1);
    await ctx.database.db
      .update(connections)
      .set({ concurrencyBudget: null, holdUntil: new Date(Date.now() + 60_000) })
      .where(eq(connections.id, connectionId));
    expect(await claim()).toBe(0);
    await ctx.database.db
      .update(connections)
      .set({ holdUntil: null })
      .where(eq(connections.id, connectionId));
    expect(await claim()).toBe(4);
    await ctx.database.db.delete(jobs).where(sql`${jobs.orderKey} like 'tkt_BUDGET%'`);
  });

  it("prunes finished rows, idempotency keys and rejection counters after their age, never open work or the ledger", async () => {
    const old = new Date(Date.now() - 8 * 86_400_000);
    const [done] = await ctx.database.db
      .insert(jobs)
      .values({ kind: "ticket.update", connectionId, orderKey: "tkt_OLD", status: "done", finishedAt: old })
      .returning();
    const [deadJob] = await ctx.database.db
      .insert(jobs)
      .values({ kind: "ticket.update", connectionId, orderKey: "tkt_OLD2", status: "dead", deadAt: old })
      .returning();
    const [applied] = await ctx.database.db
      .insert(inbox)
      .values({
        connectionId,
        dedupeKey: "old-notice",
        externalId: "x",
        notice: {},
        source: "webhook",
        status: "applied",
        receivedAt: old,
        appliedAt: old,
      })
      .returning();
    await ctx.database.db.insert(idempotencyKeys).values({
      credentialId: "k",
      key: "old",
      method: "POST",
      path: "/v1/tickets",
      requestHash: "h",
      createdAt: old,
    });
    await ctx.database.db.insert(webhookRejections).values({ connectionId, minute: old, count: 3 });
    const ledgerBefore = await queryRows<{ n: number }>(
      ctx.database.db,
      sql`select count(*)::int as n from ledger_entries`,
    );
    const pruned = await pruneFinished(ctx.database.db, ctx.deps.config.sync.retention, new Date());
    expect(pruned).toMatchObject({ jobs: 1, inbox: 1, idempotency: 1, rejections: 1 });
    expect(await ctx.database.db.select().from(jobs).where(eq(jobs.id, done!.id))).toHaveLength(0);
    expect(await ctx.database.db.select().from(jobs).where(eq(jobs.id, deadJob!.id))).toHaveLength(1);
    expect(await ctx.database.db.select().from(inbox).where(eq(inbox.id, applied!.id))).toHaveLength(0);
    const ledgerAfter = await queryRows<{ n: number }>(
      ctx.database.db,
      sql`select count(*)::int as n from ledger_entries`,
    );
    expect(ledgerAfter[0]!.n).toBe(ledgerBefore[0]!.n);
    // Recent rows stay.
    expect((await pruneFinished(ctx.database.db, ctx.deps.config.sync.retention, new Date())).total).toBe(0);
  });
});
