// OpenTelemetry: a webhook, the inbox.apply job it enqueues and that job's call to the vendor form one
// trace (the job row carries the request's traceparent across the queue), with job and connector attributes.
// Spans go to an in-memory exporter. Off (the default), no job row carries a traceparent.

import { SpanKind } from "@opentelemetry/api";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceNowSimulator } from "../../connectors/servicenow/simulator.js";
import { loadConfig, tracingOff } from "../../src/config.js";
import { jobs } from "../../src/db/schema/index.js";
import { type RunningTracing, startTracing, tracingEnabled } from "../../src/observability/tracing.js";
import { createSyncTestApp, type Listening, type SyncTestContext } from "../e2e/sync-harness.js";
import { connectServiceNow } from "./servicenow-connection.js";

const webhookSecret = "servicenow-webhook-secret-tracing-0123";

describe("tracing settings", () => {
  const base = { GATEWAY_ADMIN_TOKEN: "t".repeat(24), DATA_DIR: "/tmp/tsg-tracing-config" };
  it("is off by default and on with an OTLP endpoint or a traces exporter", () => {
    expect(loadConfig(base).tracing).toEqual(tracingOff);
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing).toEqual({
      enabled: true,
      exporter: "otlp",
      serviceName: "ticket-sync-gateway",
    });
    expect(
      loadConfig({ ...base, OTEL_TRACES_EXPORTER: "console", OTEL_SERVICE_NAME: "tsg-eu" }).tracing,
    ).toEqual({
      enabled: true,
      exporter: "console",
      serviceName: "tsg-eu",
    });
    expect(loadConfig({ ...base, OTEL_TRACES_EXPORTER: "none" }).tracing.enabled).toBe(false);
    expect(
      loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" })
        .tracing.enabled,
    ).toBe(false);
    expect(() => loadConfig({ ...base, OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(/OTEL_TRACES_EXPORTER/);
  });
});

describe("one trace from a webhook through the inbox job to the vendor call", () => {
  let ctx: SyncTestContext;
  let sim: ServiceNowSimulator;
  let simServer: Listening;
  let connectionId: string;
  let tracing: RunningTracing | null = null;
  let exporter: import("@opentelemetry/sdk-trace-node").InMemorySpanExporter;

  beforeAll(async () => {
    ctx = await createSyncTestApp();
    ({ sim, simServer, connectionId } = await connectServiceNow(ctx, webhookSecret));
  });
  afterAll(async () => {
    await tracing?.shutdown();
    await simServer?.close();
    await ctx?.close();
  });

  it("stores no traceparent while tracing is off", async () => {
    expect(tracingEnabled()).toBe(false);
    sim.simulateAgentInsert({ short_description: "Untraced", impact: "3", urgency: "3" });
    await sim.settled();
    const rows = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, "inbox.apply"));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.traceParent)).toEqual(rows.map(() => null));
    await ctx.drain({ settle: () => sim.settled() });
  });

  it("links the HTTP request, the job run and the vendor call, with job and connector attributes", async () => {
    const sdk = await import("@opentelemetry/sdk-trace-node");
    exporter = new sdk.InMemorySpanExporter();
    tracing = await startTracing(tracingOff, { spanProcessors: [new sdk.SimpleSpanProcessor(exporter)] });
    expect(tracingEnabled()).toBe(true);

    const incident = sim.simulateAgentInsert({ short_description: "Traced", impact: "2", urgency: "2" });
    await sim.settled();
    const [queued] = await ctx.database.db
      .select()
      .from(jobs)
      .where(eq(jobs.status, "pending"))
      .then((rows) => rows.filter((r) => r.kind === "inbox.apply"));
    expect(queued?.traceParent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    await ctx.drain({ settle: () => sim.settled() });

    const spans = exporter.getFinishedSpans();
    const server = spans.find(
      (s) => s.attributes["http.route"] === "/webhooks/:connectionId" && s.kind === SpanKind.SERVER,
    );
    const described = spans.map((s) => `${s.name} ${JSON.stringify(s.attributes)}`).join("\n");
    expect(server, described).toBeDefined();
    expect(server!.name).toBe("POST /webhooks/:connectionId");
    expect(server!.attributes["http.response.status_code"]).toBe(202);
    const traceId = server!.spanContext().traceId;
    expect(queued!.traceParent).toContain(traceId);

    const job = spans.find((s) => s.name === "job inbox.apply" && s.spanContext().traceId === traceId);
    expect(job, described).toBeDefined();
    expect(job!.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
    expect(job!.attributes).toMatchObject({
      "job.kind": "inbox.apply",
      "job.id": queued!.id,
      "job.attempt": 1,
      "connection.id": connectionId,
      "connector.type": "servicenow",
      "job.outcome": "done",
    });

    const vendorCalls = spans.filter(
      (s) => s.parentSpanContext?.spanId === job!.spanContext().spanId && s.attributes["connector.type"],
    );
    expect(vendorCalls.length, described).toBeGreaterThan(0);
    expect(vendorCalls[0]!.spanContext().traceId).toBe(traceId);
    expect(vendorCalls[0]!.attributes).toMatchObject({
      "connector.type": "servicenow",
      "http.request.method": "GET",
      "server.address": "127.0.0.1",
      "http.response.status_code": 200,
    });
    // Hosts only: no span carries a vendor path, record id or secret.
    const all = JSON.stringify(spans.map((s) => s.attributes));
    expect(all).not.toContain(incident["sys_id"]!);
    expect(all).not.toContain(webhookSecret);
    expect(all).not.toContain(sim.integrationUser.password);
  });

  it("never hangs a periodic job off the request that created it", async () => {
    expect(tracingEnabled()).toBe(true);
    const second = await connectServiceNow(ctx, `${webhookSecret}-2`);
    try {
      const [poll] = await ctx.database.db
        .select()
        .from(jobs)
        .where(eq(jobs.singletonKey, `poll:${second.connectionId}`));
      expect(poll, "a poll job per receiving connection").toBeDefined();
      expect(poll!.traceParent).toBeNull();
    } finally {
      await second.simServer.close();
    }
  });
});
