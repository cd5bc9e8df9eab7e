import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

const bodies: unknown[] = [
  {},
  [],
  "text",
  null,
  42,
  { a: { b: { c: [1, 2, { d: null }] } } },
  { id: "x".repeat(5000) },
];

describe("bad input never answers 5xx", () => {
  it("answers every write route with a 4xx problem for junk bodies", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client);
    const doc = (await (await ctx.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const failures: string[] = [];
    for (const [template, methods] of Object.entries(doc.paths)) {
      const path = template
        .replace(
          "{id}",
          template.startsWith("/v1/tenants")
            ? tenant.id
            : template.startsWith("/v1/tickets")
              ? ticket.id
              : "nope",
        )
        .replace("{keyId}", "key_nope");
      for (const method of Object.keys(methods)) {
        if (!["post", "patch", "put"].includes(method)) continue;
        for (const body of bodies) {
          const res = await ctx.app.request(path, {
            method: method.toUpperCase(),
            headers: {
              authorization: "Bearer test-admin-token-0123456789abcdef",
              "content-type": "application/json",
            },
            body: JSON.stringify(body),
          });
          if (res.status >= 500)
            failures.push(
              `${method.toUpperCase()} ${path} ${JSON.stringify(body).slice(0, 40)} -> ${res.status} ${await res.text()}`,
            );
          else if (res.status >= 400)
            expect(res.headers.get("content-type")).toContain("application/problem+json");
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers junk query parameters on every read route with a 4xx, not a 5xx", async () => {
    const doc = (await (await ctx.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const failures: string[] = [];
    for (const [template, methods] of Object.entries(doc.paths)) {
      if (!("get" in methods)) continue;
      const path = template.replace(/\{[^}]+\}/g, "zz");
      for (const query of [
        "limit=-1",
        "cursor=%00%ff",
        "since=yesterday",
        "from=x&to=y",
        "updatedSince=2026-13-45T00:00:00Z",
        "groupBy=moon",
      ]) {
        const res = await ctx.app.request(`${path}?${query}`, {
          headers: { authorization: "Bearer test-admin-token-0123456789abcdef" },
        });
        if (res.status >= 500) failures.push(`GET ${path}?${query} -> ${res.status} ${await res.text()}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
