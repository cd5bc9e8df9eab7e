import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotencyKeys } from "../../src/db/schema/index.js";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

describe("Idempotency-Key", () => {
  it("replays the first response for a retry with the same key and body", async () => {
    const tenant = await createTenant(ctx);
    const headers = { "idempotency-key": "create-1" };
    const first = await tenant.client.post("/v1/tickets", { title: "Outage", priority: "P1" }, headers);
    const retry = await tenant.client.post("/v1/tickets", { title: "Outage", priority: "P1" }, headers);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.headers.get("etag")).toBe(first.headers.get("etag"));
    const list = await tenant.client.get("/v1/tickets");
    expect(list.body.items).toHaveLength(1);
  });

  it("answers 422 for the same key with another body", async () => {
    const tenant = await createTenant(ctx);
    const headers = { "idempotency-key": "create-2" };
    await tenant.client.post("/v1/tickets", { title: "Outage", priority: "P1" }, headers);
    const other = await tenant.client.post("/v1/tickets", { title: "Other", priority: "P1" }, headers);
    expect(other.status).toBe(422);
    expect(other.body.type).toBe("/problems/idempotency-key-reused");
  });

  it("scopes keys to the credential", async () => {
    const a = await createTenant(ctx);
    const b = await createTenant(ctx);
    const headers = { "idempotency-key": "shared-key" };
    const fromA = await a.client.post("/v1/tickets", { title: "x", priority: "P2" }, headers);
    const fromB = await b.client.post("/v1/tickets", { title: "x", priority: "P2" }, headers);
    expect(fromB.status).toBe(201);
    expect(fromB.body.id).not.toBe(fromA.body.id);
    expect(fromB.body.tenantId).toBe(b.id);
  });

  it("never replays a response that held a secret", async () => {
    const headers = { "idempotency-key": "tenant-1" };
    const first = await ctx.admin.post("/v1/tenants", { name: "Secretive", plan: "ombori-pilot" }, headers);
    expect(first.status).toBe(201);
    const retry = await ctx.admin.post("/v1/tenants", { name: "Secretive", plan: "ombori-pilot" }, headers);
    expect(retry.status).toBe(409);
    expect(retry.body.type).toBe("/problems/idempotency-not-replayable");
    expect(retry.text).not.toContain(first.body.apiKey);
    const stored = await ctx.database.db.select().from(idempotencyKeys);
    expect(JSON.stringify(stored)).not.toContain(first.body.apiKey);
  });

  it("keeps a 4xx answer, so a retry of a rejected request is rejected the same way", async () => {
    const tenant = await createTenant(ctx);
    const headers = { "idempotency-key": "bad-1" };
    const first = await tenant.client.post("/v1/tickets", { title: "x", priority: "P9" }, headers);
    const retry = await tenant.client.post("/v1/tickets", { title: "x", priority: "P9" }, headers);
    expect(first.status).toBe(400);
    expect(retry.status).toBe(400);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
  });

  it("applies to comments too", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await tenant.client.post("/v1/tickets", { title: "x", priority: "P2" });
    const headers = { "idempotency-key": "comment-1" };
    const path = `/v1/tickets/${ticket.body.id}/comments`;
    await tenant.client.post(path, { body: "hello", visibility: "public" }, headers);
    await tenant.client.post(path, { body: "hello", visibility: "public" }, headers);
    expect((await tenant.client.get(path)).body.items).toHaveLength(1);
  });
});
