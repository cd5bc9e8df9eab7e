import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen } from "../e2e/sync-harness.js";
import { createTenant, createTestApp, openTicket, TEST_ADMIN_TOKEN, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" };

async function problemOf(res: Response) {
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = (await res.json()) as Record<string, any>;
  expect(body).toMatchObject({ status: res.status });
  expect(body.type).toMatch(/^\/problems\//);
  expect(body.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

describe("problem+json for bad input", () => {
  it("answers 400 for malformed JSON", async () => {
    const res = await ctx.app.request("/v1/tenants", {
      method: "POST",
      headers: auth,
      body: '{"name": "Acme",',
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe("/problems/malformed-json");
  });

  it("answers 400 naming unknown fields, at any depth", async () => {
    const tenant = await createTenant(ctx);
    const res = await tenant.client.post("/v1/tickets", {
      title: "x",
      priority: "P1",
      requester: { name: "A", shoeSize: 44 },
      extra: true,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "extra",
      "requester.shoeSize",
    ]);
  });

  it("answers 413 for a body over 1 MiB", async () => {
    const body = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10), plan: "ombori-pilot" });
    const res = await ctx.app.request("/v1/tenants", { method: "POST", headers: auth, body });
    expect(res.status).toBe(413);
    await problemOf(res);
  });

  // Over a listening server (@hono/node-server), as clients send them: a declared length is checked before
  // the body is read, a chunked body as it is read; a body within the limit goes through either way.
  it("answers 413 over HTTP for a declared or a chunked body over 1 MiB, and takes smaller ones", async () => {
    const server = await listen(ctx.app);
    try {
      const big = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10), plan: "ombori-pilot" });
      const send = (body: string, chunked: boolean) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(`${server.url}/v1/tenants`, {
            method: "POST",
            headers: { ...auth, ...(chunked ? {} : { "content-length": Buffer.byteLength(body) }) },
          });
          req.on("response", (res) => {
            let text = "";
            res.on("data", (chunk) => {
              text += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          });
          // The server may answer 413 and close before reading all of a refused body.
          req.on("error", reject);
          if (chunked) {
            for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.slice(at, at + 64 * 1024));
            req.end();
          } else req.end(body);
        });
      for (const chunked of [false, true]) {
        const refused = await send(big, chunked);
        expect(refused.status, `chunked: ${chunked}`).toBe(413);
        expect(JSON.parse(refused.body).type).toBe("/problems/payload-too-large");
        const taken = await send(JSON.stringify({ name: `Sized ${chunked}`, plan: "ombori-pilot" }), chunked);
        expect(taken.status, taken.body).toBe(201);
      }
    } finally {
      await server.close();
    }
  });

  it("answers 404 problem for unknown routes and 401 before anything else under /v1", async () => {
    const res = await ctx.app.request("/v1/nothing-here", { headers: auth });
    expect(res.status).toBe(404);
    await problemOf(res);
    const anon = await ctx.app.request("/v1/tickets/tkt_x");
    expect(anon.status).toBe(401);
  });

  it("answers 400 when the body is not JSON at all", async () => {
    const res = await ctx.app.request("/v1/tenants", {
      method: "POST",
      headers: { authorization: auth.authorization, "content-type": "text/plain" },
      body: "name=Acme",
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await problemOf(res);
  });
});

describe("request ids", () => {
  it("puts a request id on every response, and keeps a caller's id", async () => {
    const res = await ctx.app.request("/healthz");
    expect(res.headers.get("x-request-id")).toMatch(/.{8,}/);
    const mine = await ctx.app.request("/healthz", { headers: { "x-request-id": "trace-abc-123" } });
    expect(mine.headers.get("x-request-id")).toBe("trace-abc-123");
  });
});

describe("health, readiness, OpenAPI and docs", () => {
  it("reports healthy and ready with migrations applied", async () => {
    expect(await (await ctx.app.request("/healthz")).json()).toEqual({ status: "ok" });
    const ready = await ctx.app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", database: "ok" });
  });

  it("serves an OpenAPI 3.1 document generated from the zod schemas", async () => {
    const doc = (await (await ctx.app.request("/openapi.json")).json()) as Record<string, any>;
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/tickets",
      "/v1/tickets/{id}",
      "/v1/tenants",
      "/v1/ledger/verify",
      "/v1/operators",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    // priority may be left out when the tenant's plan names a defaultPriority (Roxen: Normal).
    expect(doc.components.schemas.CreateTicket.required).toEqual(["title"]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/tickets/{id}/replacements", "/v1/tickets/{id}/replacements/shipment"]),
    );
    expect(doc.components.schemas.CreateTicket.additionalProperties).toBe(false);
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
  });

  it("serves interactive docs whose script comes from this server, not a CDN", async () => {
    const html = await (await ctx.app.request("/docs")).text();
    expect(html).toContain("/docs/assets/scalar.js");
    expect(html).not.toMatch(/cdn\.jsdelivr|unpkg\.com/);
    const script = await ctx.app.request("/docs/assets/scalar.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });
});

describe("ETags", () => {
  it("sets a strong ETag on POST, GET and PATCH of a ticket and rejects a malformed If-Match", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client);
    const res = await tenant.client.patch(
      `/v1/tickets/${ticket.id}`,
      { title: "y" },
      { "if-match": "garbage" },
    );
    expect(res.status).toBe(412);
    const star = await tenant.client.patch(`/v1/tickets/${ticket.id}`, { title: "z" }, { "if-match": "*" });
    expect(star.status).toBe(200);
    expect(star.headers.get("etag")).toBe('"2"');
  });
});
