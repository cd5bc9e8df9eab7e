import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connections } from "../../src/db/schema/index.js";
import { decryptSecret } from "../../src/lib/secrets.js";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

const serviceNowSettings = (overrides: Record<string, unknown> = {}) => ({
  baseUrl: "http://127.0.0.1:9",
  auth: { type: "basic", username: "svc.sync", password: "s3cret-password" },
  webhookSecret: "a-webhook-secret-of-some-length",
  ...overrides,
});

describe("POST /v1/connections", () => {
  it("lets a tenant connect its own servicedesk; secrets are encrypted at rest and never returned", async () => {
    const tenant = await createTenant(ctx);
    const res = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "Our ServiceNow",
      role: "servicedesk",
      settings: serviceNowSettings(),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      tenantId: tenant.id,
      role: "servicedesk",
      direction: "both",
      type: "servicenow",
    });
    expect(res.body.webhookUrl).toBe(`http://gateway.test/webhooks/${res.body.id}`);
    expect(res.text).not.toContain("s3cret-password");
    expect(res.text).not.toContain("a-webhook-secret-of-some-length");
    expect(res.body.settings.auth).toMatchObject({
      type: "basic",
      username: "svc.sync",
      password: "[redacted]",
    });
    const [row] = await ctx.database.db.select().from(connections).where(eq(connections.id, res.body.id));
    expect(row!.settingsEncrypted).not.toContain("s3cret-password");
    expect(JSON.parse(decryptSecret(ctx.deps.config.secretsKey, row!.settingsEncrypted)).auth.password).toBe(
      "s3cret-password",
    );
    const read = await tenant.client.get(`/v1/connections/${res.body.id}`);
    expect(read.text).not.toContain("s3cret-password");
  });

  it("generates a webhook secret when none is given and shows it once", async () => {
    const tenant = await createTenant(ctx);
    const res = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "Generated secret",
      role: "servicedesk",
      settings: serviceNowSettings({ webhookSecret: undefined }),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.webhookSecret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await tenant.client.get(`/v1/connections/${res.body.id}`)).text).not.toContain(
      res.body.webhookSecret,
    );
  });

  it.each([
    [
      {
        type: "servicenow",
        name: "x",
        role: "servicedesk",
        settings: { baseUrl: "not a url", auth: { type: "basic", username: "u", password: "p" } },
      },
      "settings.baseUrl",
    ],
    [
      { type: "servicenow", name: "x", role: "servicedesk", settings: serviceNowSettings({ colour: "red" }) },
      "settings.colour",
    ],
    [{ type: "servicenow", name: "x", role: "carrier", settings: serviceNowSettings() }, "role"],
    [{ type: "ftp", name: "x", role: "servicedesk", settings: {} }, "type"],
  ])("rejects %j naming %s", async (body, path) => {
    const tenant = await createTenant(ctx);
    const res = await tenant.client.post("/v1/connections", body);
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("keeps carrier connections for the provider and requires a tenant for provider-made servicedesks", async () => {
    const tenant = await createTenant(ctx);
    const carrier = {
      type: "tmf621",
      name: "Carrier",
      role: "carrier",
      settings: {
        baseUrl: "http://127.0.0.1:9/tmf-api/troubleTicket/v5",
        auth: { type: "bearer", token: "t0ken" },
        version: "v5",
      },
    };
    expect((await tenant.client.post("/v1/connections", carrier)).status).toBe(403);
    const made = await ctx.admin.post("/v1/connections", carrier);
    expect(made.status, made.text).toBe(201);
    expect(made.body.tenantId).toBeNull();
    expect(made.body.webhookUrl).toMatch(new RegExp(`/webhooks/${made.body.id}/.+`));
    expect((await tenant.client.get(`/v1/connections/${made.body.id}`)).status).toBe(404);
    const noTenant = await ctx.admin.post("/v1/connections", {
      type: "servicenow",
      name: "x",
      role: "servicedesk",
      settings: serviceNowSettings(),
    });
    expect(noTenant.status).toBe(400);
    expect(noTenant.body.errors[0].path).toBe("tenantId");
  });

  it("isolates tenants: another tenant's connection is 404 and not listed", async () => {
    const a = await createTenant(ctx);
    const b = await createTenant(ctx);
    const mine = await a.client.post("/v1/connections", {
      type: "servicenow",
      name: "A",
      role: "servicedesk",
      settings: serviceNowSettings(),
    });
    for (const call of [
      () => b.client.get(`/v1/connections/${mine.body.id}`),
      () => b.client.patch(`/v1/connections/${mine.body.id}`, { name: "hijack" }),
      () => b.client.delete(`/v1/connections/${mine.body.id}`),
      () => b.client.post(`/v1/connections/${mine.body.id}/backfill`),
    ]) {
      expect((await call()).status).toBe(404);
    }
    const list = await b.client.get("/v1/connections");
    expect(list.body.items.some((c: { id: string }) => c.id === mine.body.id)).toBe(false);
  });
});

describe("PATCH and DELETE /v1/connections/:id", () => {
  it("merges settings and keeps a secret that is left out", async () => {
    const tenant = await createTenant(ctx);
    const made = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "A",
      role: "servicedesk",
      settings: serviceNowSettings(),
    });
    const patched = await tenant.client.patch(`/v1/connections/${made.body.id}`, {
      name: "Renamed",
      settings: { auth: { username: "svc.other" }, publicCommentsAsWorkNotes: true },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.name).toBe("Renamed");
    expect(patched.body.settings).toMatchObject({
      publicCommentsAsWorkNotes: true,
      auth: { username: "svc.other", password: "[redacted]" },
    });
    const [row] = await ctx.database.db.select().from(connections).where(eq(connections.id, made.body.id));
    const stored = JSON.parse(decryptSecret(ctx.deps.config.secretsKey, row!.settingsEncrypted));
    expect(stored.auth.password).toBe("s3cret-password");
    expect(stored.webhookSecret).toBe("a-webhook-secret-of-some-length");
    const bad = await tenant.client.patch(`/v1/connections/${made.body.id}`, {
      settings: { baseUrl: "nope" },
    });
    expect(bad.status).toBe(400);
  });

  it("deletes: the connection disappears and its webhook URL stops answering", async () => {
    const tenant = await createTenant(ctx);
    const made = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "A",
      role: "servicedesk",
      settings: serviceNowSettings(),
    });
    expect((await tenant.client.delete(`/v1/connections/${made.body.id}`)).status).toBe(204);
    expect((await tenant.client.get(`/v1/connections/${made.body.id}`)).status).toBe(404);
    const hook = await ctx.app.request(`/webhooks/${made.body.id}`, {
      method: "POST",
      headers: { authorization: "Bearer a-webhook-secret-of-some-length" },
      body: JSON.stringify({ sys_id: "0".repeat(32) }),
    });
    expect(hook.status).toBe(404);
  });
});

describe("base URL guard in production", () => {
  it("refuses plain http, loopback and metadata addresses unless allow-listed", async () => {
    const prod = await createTestApp();
    prod.deps.config = {
      ...prod.deps.config,
      sync: { ...prod.deps.config.sync, production: true, hostAllowlist: ["sim.internal:8443"] },
    };
    try {
      const tenant = await createTenant(prod);
      const attempt = (baseUrl: string) =>
        tenant.client.post("/v1/connections", {
          type: "servicenow",
          name: "x",
          role: "servicedesk",
          settings: serviceNowSettings({ baseUrl }),
        });
      for (const url of [
        "http://example.com",
        "https://127.0.0.1",
        "https://169.254.169.254",
        "https://[::1]",
      ]) {
        const res = await attempt(url);
        expect(res.status, url).toBe(400);
        expect(res.body.errors[0].path).toBe("settings.baseUrl");
      }
      expect((await attempt("http://sim.internal:8443")).status).toBe(201);
    } finally {
      await prod.close();
    }
  });
});
