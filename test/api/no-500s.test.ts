import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, createTestApp, openTicket, TEST_ADMIN_TOKEN, type TestContext } from "../harness.js";
import {
  hostileStrings,
  type OpenApiDoc,
  type Operation,
  responseValidator,
  schemaArbitrary,
} from "./fuzz-openapi.js";

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

describe("property-based fuzz of every documented operation and the webhook routes", () => {
  // At most 60 s per database: fast-check stops at the time limit (not a failure) or after numRuns.
  const BUDGET_MS = 45_000;

  it("never answers 5xx; every answer is problem+json or matches its schema, and its status is documented", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client);
    const keyId = tenant.keyId;
    const doc = (await (await ctx.app.request("/openapi.json")).json()) as OpenApiDoc;
    const validate = responseValidator(doc);
    const operations = Object.entries(doc.paths).flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ template, method, operation })),
    );
    const knownIds = [tenant.id, ticket.id, keyId, "tkt_01JD3Q0W6F7V8Y9Z0A1B2C3D4E", "ombori-production"];
    const pathValue = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...knownIds).map(encodePathSegment) },
      { weight: 2, arbitrary: fc.constantFrom(...hostileStrings).map(encodePathSegment) },
      // Raw, possibly malformed percent-encoding, sent as is.
      { weight: 1, arbitrary: fc.constantFrom("%ff", "%E2%98%83%00", "%", "%zz", "a%00b", "%C0%AF") },
    );
    const tokens = fc.constantFrom(
      TEST_ADMIN_TOKEN,
      TEST_ADMIN_TOKEN,
      TEST_ADMIN_TOKEN,
      tenant.apiKey,
      tenant.apiKey,
      "not-a-key",
      null,
    );

    const request = fc.oneof(
      {
        weight: 9,
        arbitrary: fc.constantFrom(...operations).chain(({ template, method, operation }) => {
          const params = operation.parameters ?? [];
          const pathParams = params.filter((p) => p.in === "path");
          const queryParams = params.filter((p) => p.in === "query");
          const bodySchema = operation.requestBody?.content?.["application/json"]?.schema;
          return fc.record({
            template: fc.constant(template),
            method: fc.constant(method.toUpperCase()),
            path: fc
              .tuple(...pathParams.map(() => pathValue))
              .map((values) =>
                pathParams.reduce((p, param, i) => p.replace(`{${param.name}}`, values[i]!), template),
              ),
            query: fc.tuple(
              ...queryParams.map((p) =>
                fc.option(
                  schemaArbitrary(doc, p.schema).map((v) => [
                    p.name,
                    typeof v === "string" ? v : JSON.stringify(v),
                  ]),
                  { nil: undefined },
                ),
              ),
            ),
            body: bodySchema
              ? fc.oneof(
                  { weight: 8, arbitrary: schemaArbitrary(doc, bodySchema).map((b) => JSON.stringify(b)) },
                  { weight: 1, arbitrary: fc.constantFrom("{", "nul\u0000", '{"a":"\\ud800"}', "[]") },
                )
              : fc.constant(undefined),
            token: tokens,
            idempotencyKey: fc.option(fc.constantFrom("k1", "k2", "x".repeat(300)), { nil: undefined }),
          });
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          template: fc.constant("/webhooks"),
          method: fc.constant("POST"),
          path: fc
            .array(fc.oneof(pathValue, fc.constantFrom("con_01JD3Q0W6F7V8Y9Z0A1B2C3D4E", "listener")), {
              minLength: 1,
              maxLength: 4,
            })
            .map((segments) => `/webhooks/${segments.join("/")}`),
          query: fc.constant([] as ([string, string] | undefined)[]),
          body: fc.option(fc.constantFrom("{}", '{"a":"nul\\u0000"}', "\u0000", "junk"), { nil: undefined }),
          token: fc.constant(null),
          idempotencyKey: fc.constant(undefined),
        }),
      },
    );

    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const seen = new Map<number, number>();
    const property = fc.asyncProperty(request, async (r) => {
      const search = new URLSearchParams(
        (r.query as ([string, string] | undefined)[]).filter((q): q is [string, string] => q !== undefined),
      );
      const headers: Record<string, string> = {};
      if (r.token) headers["authorization"] = `Bearer ${r.token}`;
      if (r.body !== undefined) headers["content-type"] = "application/json";
      if (r.idempotencyKey) headers["idempotency-key"] = r.idempotencyKey;
      const url = `${r.path}${search.size > 0 ? `?${search}` : ""}`;
      const res = await ctx.app.request(url, {
        method: r.method,
        headers,
        ...(r.body !== undefined ? { body: r.body } : {}),
      });
      const text = await res.text();
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      const what = `${r.method} ${url} ${JSON.stringify(r.body)?.slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`;
      expect(res.status, what).toBeLessThan(500);
      const contentType = res.headers.get("content-type") ?? "";
      if (res.status >= 400) expect(contentType, what).toContain("application/problem+json");
      const operation =
        r.template === "/webhooks"
          ? matchWebhook(doc, r.path)
          : doc.paths[r.template]?.[r.method.toLowerCase()];
      if (!operation) {
        expect(res.status, `${what} (no documented operation)`).toBe(404);
        return;
      }
      expect(Object.keys(operation.responses), `${what}: status not documented`).toContain(
        String(res.status),
      );
      const schema = operation.responses[String(res.status)]?.content?.["application/json"]?.schema;
      if (res.status < 400 && schema && contentType.includes("application/json")) {
        const error = validate(schema, JSON.parse(text));
        expect(error, `${what}: does not match its documented schema`).toBeNull();
      }
    });
    try {
      await fc.assert(property, {
        seed,
        numRuns: 2000,
        interruptAfterTimeLimit: BUDGET_MS,
        markInterruptAsFailure: false,
        endOnFailure: true,
      });
    } catch (error) {
      console.error(`fuzz failed with seed ${seed} (rerun with FUZZ_SEED=${seed})`);
      throw error;
    }
    if (process.env.FUZZ_STATS) console.info(`fuzz seed ${seed}:`, Object.fromEntries(seen));
    // Enough requests got past validation to reach the services and the database.
    expect(seen.get(200) ?? 0, JSON.stringify(Object.fromEntries(seen))).toBeGreaterThan(0);
  }, 120_000);
});

/** encodeURIComponent, except that a lone surrogate (which it refuses) becomes the invalid UTF-8 %ED%A0%80. */
function encodePathSegment(value: string): string {
  return value
    .split(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/)
    .map(encodeURIComponent)
    .join("%ED%A0%80");
}

function matchWebhook(doc: OpenApiDoc, path: string): Operation | undefined {
  const segments = path.split("/").length - 2;
  const template =
    ["/webhooks/{connectionId}", "/webhooks/{connectionId}/{secret}"][segments - 1] ??
    "/webhooks/{connectionId}/{secret}/{subPath}";
  return doc.paths[template]?.["post"];
}
