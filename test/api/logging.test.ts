import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/lib/logger.js";
import { createTenant, createTestApp, TEST_ADMIN_TOKEN, type TestContext } from "../harness.js";

const lines: string[] = [];
let ctx: TestContext;
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  ctx = await createTestApp({ logger: createLogger("info", sink) });
});
afterAll(async () => ctx?.close());

describe("request logs", () => {
  it("write one event per request with status and latency, and never keys, passwords or path secrets", async () => {
    const tenant = await createTenant(ctx);
    const carrier = await ctx.admin.post("/v1/connections", {
      type: "tmf621",
      name: "Carrier",
      role: "carrier",
      settings: {
        baseUrl: "http://127.0.0.1:9/tmf-api/troubleTicket/v5",
        auth: { type: "bearer", token: "carrier-bearer-token-xyz" },
        version: "v5",
        webhookSecret: "path-secret-never-logged-0001",
      },
    });
    expect(carrier.status, carrier.text).toBe(201);
    await ctx.app.request(
      `/webhooks/${carrier.body.id}/path-secret-never-logged-0001/listener/troubleTicketStatusChangeEvent`,
      {
        method: "POST",
        body: "{}",
      },
    );
    await tenant.client.get("/v1/tickets");
    const all = lines.join("\n");
    for (const secret of [
      TEST_ADMIN_TOKEN,
      tenant.apiKey,
      "carrier-bearer-token-xyz",
      "path-secret-never-logged-0001",
    ]) {
      expect(all).not.toContain(secret);
    }
    const events = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
    expect(events.length).toBeGreaterThanOrEqual(4);
    const webhook = events.find((e) => String(e.path).startsWith("/webhooks/"));
    expect(webhook.path).toBe(
      `/webhooks/${carrier.body.id}/[secret]/listener/troubleTicketStatusChangeEvent`,
    );
    for (const e of events) {
      expect(e).toHaveProperty("status");
      expect(e).toHaveProperty("durationMs");
      expect(e).toHaveProperty("requestId");
    }
  });
});
