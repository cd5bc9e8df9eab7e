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

/** The injected DNS of these tests (there is none on CI): public-looking names answering internal addresses. */
const resolve = async (hostname: string) => {
  const answers: Record<string, string[]> = {
    "acme.service-now.example": ["93.184.216.34"],
    "login.vendor.example": ["93.184.216.35"],
    "rebound.vendor.example": ["127.0.0.1"],
    "metadata.vendor.example": ["169.254.169.254"],
    "intranet.vendor.example": ["10.0.0.1"],
    "mixed.vendor.example": ["93.184.216.36", "fd00:ec2::254"],
  };
  const found = answers[hostname];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return found.map((address) => ({ address, family: address.includes(":") ? (6 as const) : (4 as const) }));
};

describe("connection URL guard in production", () => {
  let prod: TestContext;
  let tenant: Awaited<ReturnType<typeof createTenant>>;
  beforeAll(async () => {
    prod = await createTestApp({ resolve });
    prod.deps.config = {
      ...prod.deps.config,
      sync: { ...prod.deps.config.sync, production: true, hostAllowlist: ["sim.internal:8443"] },
    };
    tenant = await createTenant(prod);
  });
  afterAll(async () => prod?.close());

  const attempt = (settings: Record<string, unknown>) =>
    tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: "x",
      role: "servicedesk",
      settings: serviceNowSettings(settings),
    });
  const oauth2 = (tokenUrl: string) => ({
    baseUrl: "https://acme.service-now.example",
    auth: { type: "oauth2", tokenUrl, clientId: "id", clientSecret: "client-s3cret" },
  });

  describe.each([
    ["https://[::ffff:a9fe:a9fe]/", "metadata"],
    ["https://[::ffff:169.254.169.254]/", "metadata"],
    ["https://169.254.169.254/", "metadata"],
    ["https://2852039166/", "metadata"],
    ["https://100.100.100.200/", "metadata"],
    ["https://[fd00:ec2::254]/", "metadata"],
    ["https://169.254.10.10/", "linkLocal"],
    ["https://[fe80::1]/", "linkLocal"],
    ["https://10.0.0.5/", "private"],
    ["https://172.16.0.1/", "private"],
    ["https://192.168.1.10/", "private"],
    ["https://100.64.0.1/", "carrierGradeNat"],
    ["https://[fc00::1]/", "uniqueLocal"],
    ["https://[fd12:3456::1]/", "uniqueLocal"],
    ["https://127.0.0.1/", "loopback"],
    ["https://0x7f.1/", "loopback"],
    ["https://[::1]/", "loopback"],
    ["https://0.0.0.0/", "unspecified"],
    ["https://[::]/", "unspecified"],
    ["https://rebound.vendor.example/", "loopback"],
    ["https://metadata.vendor.example/", "metadata"],
    ["https://intranet.vendor.example/", "private"],
    ["https://mixed.vendor.example/", "metadata"],
  ])("%s (%s)", (url, range) => {
    it("is refused as baseUrl with a 400 naming the setting", async () => {
      const res = await attempt({ baseUrl: url });
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors[0].path, res.text).toBe("settings.baseUrl");
      expect(res.body.errors[0].message, res.text).toContain(range);
      expect(res.body.errors[0].message, res.text).toContain("CONNECTOR_HOST_ALLOWLIST");
    });

    it("is refused as the OAuth2 tokenUrl with a 400 naming the setting", async () => {
      const res = await attempt(oauth2(`${url}oauth_token.do`));
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors[0].path, res.text).toBe("settings.auth.tokenUrl");
      expect(res.text).not.toContain("client-s3cret");
    });
  });

  it("refuses plain http and names that do not resolve", async () => {
    for (const [baseUrl, message] of [
      ["http://acme.service-now.example", "https"],
      ["https://nowhere.vendor.example", "does not resolve"],
    ] as const) {
      const res = await attempt({ baseUrl });
      expect(res.status, baseUrl).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ path: "settings.baseUrl" });
      expect(res.body.errors[0].message).toContain(message);
    }
  });

  it("accepts public hosts and allow-listed ones", async () => {
    expect((await attempt({ baseUrl: "https://acme.service-now.example" })).status).toBe(201);
    expect((await attempt(oauth2("https://login.vendor.example/oauth_token.do"))).status).toBe(201);
    expect((await attempt({ baseUrl: "http://sim.internal:8443" })).status).toBe(201);
  });

  it("refuses an OAuth2 tokenUrl at a metadata address on update too", async () => {
    const made = await attempt(oauth2("https://login.vendor.example/oauth_token.do"));
    expect(made.status, made.text).toBe(201);
    const res = await tenant.client.patch(`/v1/connections/${made.body.id}`, {
      settings: { auth: { tokenUrl: "https://169.254.169.254/" } },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors[0].path).toBe("settings.auth.tokenUrl");
  });
});

describe("connection URL guard in development", () => {
  it("lets loopback simulators in and still refuses other internal literals", async () => {
    const tenant = await createTenant(ctx);
    const attempt = (baseUrl: string) =>
      tenant.client.post("/v1/connections", {
        type: "servicenow",
        name: "x",
        role: "servicedesk",
        settings: serviceNowSettings({ baseUrl }),
      });
    expect((await attempt("http://127.0.0.1:8080")).status).toBe(201);
    expect((await attempt("http://[::1]:8080")).status).toBe(201);
    for (const url of [
      "http://169.254.169.254",
      "http://[::ffff:a9fe:a9fe]",
      "http://10.1.2.3",
      "http://0.0.0.0",
    ]) {
      const res = await attempt(url);
      expect(res.status, url).toBe(400);
      expect(res.body.errors[0].path).toBe("settings.baseUrl");
    }
  });
});
