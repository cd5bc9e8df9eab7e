import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "../../src/db/schema/index.js";
import { sha256Hex } from "../../src/lib/hash.js";
import {
  client,
  createOperator,
  createTenant,
  createTestApp,
  openTicket,
  type TestContext,
} from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

describe("POST /v1/tenants", () => {
  it("creates a tenant and answers its key once", async () => {
    const res = await ctx.admin.post("/v1/tenants", {
      name: "Acme",
      plan: "ombori-pilot",
      timezone: "Europe/Oslo",
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name: "Acme", plan: "ombori-pilot", timezone: "Europe/Oslo" });
    expect(res.body.id).toMatch(/^ten_/);
    expect(res.body.apiKey).toMatch(/^tsg_t_/);
    expect(res.body.keyId).toMatch(/^key_/);
    const read = await ctx.admin.get(`/v1/tenants/${res.body.id}`);
    expect(read.body).not.toHaveProperty("apiKey");
    expect(read.body.timezone).toBe("Europe/Oslo");
  });

  it("stores only a hash of the key, never the key", async () => {
    const tenant = await createTenant(ctx);
    const rows = await ctx.database.db.select().from(apiKeys);
    const row = rows.find((r) => r.id === tenant.keyId)!;
    expect(row.keyHash).toBe(sha256Hex(tenant.apiKey));
    expect(JSON.stringify(rows)).not.toContain(tenant.apiKey);
    expect(tenant.apiKey.startsWith(row.prefix)).toBe(true);
  });

  it.each([
    [{ name: "", plan: "x" }, "name"],
    [{ name: "A" }, "plan"],
    [{ name: "A", plan: "ombori-pilot", timezone: "Mars/Olympus" }, "timezone"],
    [{ name: "A", plan: "ombori-pilot", colour: "red" }, "colour"],
  ])("rejects %j at path %s", async (body, path) => {
    const res = await ctx.admin.post("/v1/tenants", body);
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("is admin-only: tenant and operator keys get 403", async () => {
    const tenant = await createTenant(ctx);
    const operator = await createOperator(ctx);
    for (const caller of [tenant.client, operator.client]) {
      expect((await caller.post("/v1/tenants", { name: "X", plan: "ombori-pilot" })).status).toBe(403);
      expect((await caller.get("/v1/tenants")).status).toBe(403);
      expect((await caller.get(`/v1/tenants/${tenant.id}`)).status).toBe(403);
      expect((await caller.get(`/v1/tenants/${tenant.id}/keys`)).status).toBe(403);
    }
  });

  it("rejects a missing or wrong key with 401 problem+json", async () => {
    for (const token of [null, "tsg_t_notakey"]) {
      const res = await client(ctx.app, token).get("/v1/tickets");
      expect(res.status).toBe(401);
      expect(res.body.type).toBe("/problems/unauthorized");
    }
  });

  it("rejects a plan that is not in the catalog, on create and on patch", async () => {
    const bad = await ctx.admin.post("/v1/tenants", { name: "A", plan: "gold-plus" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("plan");
    const tenant = await createTenant(ctx);
    const patched = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, { plan: "gold-plus" });
    expect(patched.status).toBe(400);
  });
});

describe("GET and PATCH /v1/tenants", () => {
  it("lists with a cursor and patches name, plan and timezone", async () => {
    await createTenant(ctx, { name: "One" });
    await createTenant(ctx, { name: "Two" });
    const first = await ctx.admin.get("/v1/tenants?limit=1");
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toBeTypeOf("string");
    const second = await ctx.admin.get(`/v1/tenants?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);

    const tenant = await createTenant(ctx);
    const patched = await ctx.admin.patch(`/v1/tenants/${tenant.id}`, {
      plan: "ombori-enterprise",
      timezone: null,
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ plan: "ombori-enterprise", timezone: null });
    expect((await ctx.admin.patch("/v1/tenants/ten_missing", { name: "x" })).status).toBe(404);
  });
});

describe("tenant keys: rotation and revocation", () => {
  it("issues a second key, lists keys without secrets, and revokes the old one", async () => {
    const tenant = await createTenant(ctx);
    const rotated = await ctx.admin.post(`/v1/tenants/${tenant.id}/keys`);
    expect(rotated.status, rotated.text).toBe(201);
    const newKey = client(ctx.app, rotated.body.apiKey);
    expect((await newKey.get("/v1/tickets")).status).toBe(200);
    expect((await tenant.client.get("/v1/tickets")).status).toBe(200);

    const listed = await ctx.admin.get(`/v1/tenants/${tenant.id}/keys`);
    expect(listed.body.items).toHaveLength(2);
    expect(listed.text).not.toContain(tenant.apiKey);
    expect(listed.text).not.toContain(rotated.body.apiKey);
    expect(listed.body.items[0]).toHaveProperty("prefix");

    const revoked = await ctx.admin.delete(`/v1/tenants/${tenant.id}/keys/${tenant.keyId}`);
    expect(revoked.status).toBe(204);
    expect((await tenant.client.get("/v1/tickets")).status).toBe(401);
    expect((await newKey.get("/v1/tickets")).status).toBe(200);
    const after = await ctx.admin.get(`/v1/tenants/${tenant.id}/keys`);
    expect(after.body.items.find((k: { id: string }) => k.id === tenant.keyId).revokedAt).not.toBeNull();
  });

  it("does not revoke another tenant's key through this tenant's path", async () => {
    const a = await createTenant(ctx);
    const b = await createTenant(ctx);
    expect((await ctx.admin.delete(`/v1/tenants/${a.id}/keys/${b.keyId}`)).status).toBe(404);
    expect((await b.client.get("/v1/tickets")).status).toBe(200);
  });
});

describe("operators", () => {
  it("limits an operator key to its tenants", async () => {
    const a = await createTenant(ctx);
    const b = await createTenant(ctx);
    const operator = await createOperator(ctx, [a.id]);
    const ticketA = await openTicket(a.client);
    const ticketB = await openTicket(b.client);
    expect((await operator.client.get(`/v1/tickets/${ticketA.id}`)).status).toBe(200);
    expect((await operator.client.get(`/v1/tickets/${ticketB.id}`)).status).toBe(404);
    const created = await operator.client.post("/v1/tickets", { tenantId: b.id, title: "x", priority: "P1" });
    expect(created.status).toBe(404);
    const listed = await operator.client.get("/v1/tickets");
    expect(listed.body.items.every((t: { tenantId: string }) => t.tenantId === a.id)).toBe(true);
  });

  it("rejects unknown tenant ids and revokes operator keys", async () => {
    const bad = await ctx.admin.post("/v1/operators", { name: "x", tenantIds: ["ten_nope"] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("tenantIds[0]");
    const operator = await createOperator(ctx);
    const list = await ctx.admin.get("/v1/operators");
    expect(list.body.items.some((o: { id: string }) => o.id === operator.id)).toBe(true);
    const keyId = (await ctx.database.db.select().from(apiKeys)).find(
      (k) => k.operatorId === operator.id,
    )!.id;
    expect((await ctx.admin.delete(`/v1/operators/${operator.id}/keys/${keyId}`)).status).toBe(204);
    expect((await operator.client.get("/v1/tickets")).status).toBe(401);
  });
});
