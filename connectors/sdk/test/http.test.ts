import { z } from "@hono/zod-openapi";
import { delay, HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AuthSettings,
  createHttpClient,
  type HttpClientOptions,
  InvalidResponseError,
  PermanentHttpError,
  parseLinkHeader,
  parseRetryAfter,
  TransientHttpError,
} from "../index.js";

const api = "https://api.vendor.test";
const tokenUrl = "https://auth.vendor.test/oauth_token.do";
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const basic: AuthSettings = { type: "basic", username: "svc", password: "p4ssw0rd-secret" };
const Thing = z.object({ id: z.string() });

function httpClient(overrides: Partial<HttpClientOptions> = {}) {
  return createHttpClient({
    baseUrl: `${api}/`,
    auth: basic,
    timeoutMs: 1_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 1_000 },
    ...overrides,
  });
}

/** Answers `responses` in order, then repeats the last; records each request. */
function sequence(method: "get" | "post", path: string, responses: (() => Response | Promise<Response>)[]) {
  const requests: Request[] = [];
  server.use(
    http[method](`${api}${path}`, async ({ request }) => {
      requests.push(request.clone());
      const respond = responses[Math.min(requests.length - 1, responses.length - 1)]!;
      return respond();
    }),
  );
  return requests;
}

const ok = () => HttpResponse.json({ id: "42" });

describe("request basics", () => {
  it("sends Basic auth, JSON and the query, and parses with the caller's schema", async () => {
    const requests = sequence("post", "/things", [ok]);
    const response = await httpClient().request({
      method: "POST",
      path: "/things",
      query: { a: "x^y=1", skipped: undefined, n: 2 },
      body: { name: "n" },
      schema: Thing,
    });
    expect(response).toMatchObject({ status: 200, data: { id: "42" }, attempts: 1 });
    const [request] = requests;
    expect(request?.headers.get("authorization")).toBe(
      `Basic ${Buffer.from("svc:p4ssw0rd-secret").toString("base64")}`,
    );
    expect(request?.headers.get("content-type")).toBe("application/json");
    expect(Object.fromEntries(new URL(request!.url).searchParams)).toEqual({ a: "x^y=1", n: "2" });
    expect(await request?.json()).toEqual({ name: "n" });
  });

  it("sends a bearer token", async () => {
    const requests = sequence("get", "/things", [ok]);
    await httpClient({ auth: { type: "bearer", token: "tok-123" } }).request({
      method: "GET",
      path: "/things",
      schema: Thing,
    });
    expect(requests[0]?.headers.get("authorization")).toBe("Bearer tok-123");
  });

  it("passes an empty body to the schema as undefined", async () => {
    sequence("post", "/things", [() => new HttpResponse(null, { status: 204 })]);
    const response = await httpClient().request({ method: "POST", path: "/things", schema: z.undefined() });
    expect(response.status).toBe(204);
  });

  it("rejects a body that does not match the schema, without retrying", async () => {
    const requests = sequence("get", "/things", [() => HttpResponse.json({ id: 42 })]);
    const error = await httpClient()
      .request({ method: "GET", path: "/things", schema: Thing })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(String(error)).toContain("id: ");
    expect(requests).toHaveLength(1);
  });
});

describe("retries", () => {
  it("retries 5xx on a GET until it succeeds", async () => {
    const requests = sequence("get", "/things", [() => new HttpResponse("busy", { status: 502 }), ok]);
    const response = await httpClient().request({ method: "GET", path: "/things", schema: Thing });
    expect(response.attempts).toBe(2);
    expect(requests).toHaveLength(2);
  });

  it("retries 408 and network errors", async () => {
    const requests = sequence("get", "/things", [
      () => new HttpResponse(null, { status: 408 }),
      () => HttpResponse.error(),
      ok,
    ]);
    const response = await httpClient().request({ method: "GET", path: "/things", schema: Thing });
    expect(response.attempts).toBe(3);
    expect(requests).toHaveLength(3);
  });

  it("times out each attempt and retries", async () => {
    const requests = sequence("get", "/things", [
      async () => {
        await delay(400);
        return ok();
      },
      ok,
    ]);
    const response = await httpClient({ timeoutMs: 100 }).request({
      method: "GET",
      path: "/things",
      schema: Thing,
    });
    expect(response.attempts).toBe(2);
    expect(requests).toHaveLength(2);
  });

  it("gives up with TransientHttpError carrying status, attempts, latency and a truncated body", async () => {
    const requests = sequence("get", "/things", [() => new HttpResponse("x".repeat(5_000), { status: 500 })]);
    const error = await httpClient()
      .request({ method: "GET", path: "/things", schema: Thing })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientHttpError);
    const transient = error as TransientHttpError;
    expect(transient).toMatchObject({
      status: 500,
      attempts: 3,
      retryable: true,
      method: "GET",
      url: `${api}/things`,
    });
    expect(transient.latencyMs).toBeGreaterThanOrEqual(5 + 10);
    expect(transient.responseBody?.length).toBeLessThan(2_100);
    expect(transient.responseBody?.endsWith("[truncated]")).toBe(true);
    expect(requests).toHaveLength(3);
  });

  it("throws a 4xx at once as PermanentHttpError, without credentials anywhere on it", async () => {
    const requests = sequence("get", "/things", [
      () => HttpResponse.json({ error: "bad field" }, { status: 422 }),
    ]);
    const error = await httpClient()
      .request({ method: "GET", path: "/things", schema: Thing })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({
      status: 422,
      attempts: 1,
      retryable: false,
      responseBody: '{"error":"bad field"}',
    });
    const everything = JSON.stringify(error, Object.getOwnPropertyNames(error));
    expect(everything).not.toContain("p4ssw0rd-secret");
    expect(everything).not.toContain(Buffer.from("svc:p4ssw0rd-secret").toString("base64"));
    expect(requests).toHaveLength(1);
  });

  it("does not replay a POST after a 500 (it may have been applied)", async () => {
    const requests = sequence("post", "/things", [() => new HttpResponse(null, { status: 500 }), ok]);
    const error = await httpClient()
      .request({ method: "POST", path: "/things", body: {}, schema: Thing })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 500, attempts: 1, maybeProcessed: true });
    expect(requests).toHaveLength(1);
  });

  it("replays a POST after 503 and 429, which mean it was not applied", async () => {
    const requests = sequence("post", "/things", [
      () => new HttpResponse(null, { status: 503 }),
      () => new HttpResponse(null, { status: 429 }),
      ok,
    ]);
    const response = await httpClient().request({ method: "POST", path: "/things", body: {}, schema: Thing });
    expect(response.attempts).toBe(3);
    expect(requests).toHaveLength(3);
  });

  it("replays a POST marked idempotent after a 500", async () => {
    sequence("post", "/things", [() => new HttpResponse(null, { status: 500 }), ok]);
    const response = await httpClient().request({
      method: "POST",
      path: "/things",
      body: {},
      schema: Thing,
      idempotent: true,
    });
    expect(response.attempts).toBe(2);
  });
});

describe("Retry-After", () => {
  it("waits at least an HTTP-date Retry-After", async () => {
    const retryAt = new Date("2030-01-01T00:00:01Z");
    const now = () => new Date(retryAt.getTime() - 600);
    const times: number[] = [];
    sequence("get", "/things", [
      () => {
        times.push(performance.now());
        return new HttpResponse(null, { status: 429, headers: { "Retry-After": retryAt.toUTCString() } });
      },
      () => {
        times.push(performance.now());
        return ok();
      },
    ]);
    await httpClient({ now }).request({ method: "GET", path: "/things", schema: Thing });
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(595);
  });

  it("caps a long Retry-After at maxTimeoutMs and reports it on exhaustion", async () => {
    const started = performance.now();
    const error = await (async () => {
      sequence("get", "/things", [
        () => new HttpResponse(null, { status: 429, headers: { "Retry-After": "30" } }),
      ]);
      return httpClient({ retry: { retries: 1, minTimeoutMs: 5, maxTimeoutMs: 150 } })
        .request({ method: "GET", path: "/things", schema: Thing })
        .catch((caught: unknown) => caught);
    })();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(2_000);
    expect(error).toMatchObject({ status: 429, attempts: 2, retryAfterMs: 30_000, maybeProcessed: false });
  });

  it.each([
    ["120", 120_000],
    [" 0 ", 0],
    ["Wed, 01 Jan 2030 00:00:10 GMT", 10_000],
    ["Tue, 31 Dec 2029 00:00:00 GMT", 0],
    ["soon", null],
    [null, null],
  ])("parses %j as %j ms", (value, expected) => {
    expect(parseRetryAfter(value, new Date("2030-01-01T00:00:00Z"))).toBe(expected);
  });
});

describe("OAuth2", () => {
  const oauth: AuthSettings = {
    type: "oauth2",
    tokenUrl,
    clientId: "client-1",
    clientSecret: "client-secret-1",
    scope: "useraccount",
  };

  function tokenEndpoint(tokens: { access_token: string; expires_in?: number; refresh_token?: string }[]) {
    const forms: URLSearchParams[] = [];
    server.use(
      http.post(tokenUrl, async ({ request }) => {
        forms.push(new URLSearchParams(await request.text()));
        return HttpResponse.json(tokens[Math.min(forms.length - 1, tokens.length - 1)]);
      }),
    );
    return forms;
  }

  it("uses the client-credentials grant and caches the token", async () => {
    const forms = tokenEndpoint([{ access_token: "at-1", expires_in: 1800 }]);
    const requests = sequence("get", "/things", [ok]);
    const client = httpClient({ auth: oauth });
    await client.request({ method: "GET", path: "/things", schema: Thing });
    await client.request({ method: "GET", path: "/things", schema: Thing });
    expect(forms.map((form) => Object.fromEntries(form))).toEqual([
      {
        grant_type: "client_credentials",
        client_id: "client-1",
        client_secret: "client-secret-1",
        scope: "useraccount",
      },
    ]);
    expect(requests.map((request) => request.headers.get("authorization"))).toEqual([
      "Bearer at-1",
      "Bearer at-1",
    ]);
  });

  it("uses the refresh-token grant and keeps a rotated refresh token", async () => {
    let clock = Date.parse("2030-01-01T00:00:00Z");
    const forms = tokenEndpoint([
      { access_token: "at-1", expires_in: 120, refresh_token: "rt-2" },
      { access_token: "at-2", expires_in: 120 },
    ]);
    sequence("get", "/things", [ok]);
    const client = httpClient({ auth: { ...oauth, refreshToken: "rt-1" }, now: () => new Date(clock) });
    await client.request({ method: "GET", path: "/things", schema: Thing });
    clock += 59_000;
    await client.request({ method: "GET", path: "/things", schema: Thing });
    expect(forms).toHaveLength(1);
    clock += 2_000;
    await client.request({ method: "GET", path: "/things", schema: Thing });
    expect(forms.map((form) => [form.get("grant_type"), form.get("refresh_token")])).toEqual([
      ["refresh_token", "rt-1"],
      ["refresh_token", "rt-2"],
    ]);
  });

  it("refreshes once on a 401 and retries with the new token", async () => {
    const forms = tokenEndpoint([{ access_token: "at-1" }, { access_token: "at-2" }]);
    const requests = sequence("get", "/things", [() => new HttpResponse(null, { status: 401 }), ok]);
    const response = await httpClient({ auth: oauth }).request({
      method: "GET",
      path: "/things",
      schema: Thing,
    });
    expect(response.data).toEqual({ id: "42" });
    expect(forms).toHaveLength(2);
    expect(requests.map((request) => request.headers.get("authorization"))).toEqual([
      "Bearer at-1",
      "Bearer at-2",
    ]);
  });

  it("gives up when the fresh token is refused too", async () => {
    const forms = tokenEndpoint([{ access_token: "at-1" }, { access_token: "at-2" }]);
    const requests = sequence("get", "/things", [() => new HttpResponse(null, { status: 401 })]);
    const error = await httpClient({ auth: oauth })
      .request({ method: "GET", path: "/things", schema: Thing })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 401, retryable: false });
    expect(forms).toHaveLength(2);
    expect(requests).toHaveLength(2);
  });

  it("treats refused client credentials as permanent and keeps the secret off the error", async () => {
    server.use(http.post(tokenUrl, () => HttpResponse.json({ error: "invalid_client" }, { status: 401 })));
    const error = await httpClient({ auth: oauth })
      .request({ method: "GET", path: "/things", schema: Thing })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 401, url: tokenUrl });
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain("client-secret-1");
  });
});

describe("parseLinkHeader", () => {
  it("reads ServiceNow's Link header, commas inside URLs included", () => {
    const header =
      '<https://i.service-now.com/api/now/table/incident?sysparm_fields=a,b&sysparm_offset=0>;rel="first",' +
      '<https://i.service-now.com/api/now/table/incident?sysparm_fields=a,b&sysparm_offset=2>;rel="next"';
    expect(parseLinkHeader(header)).toEqual({
      first: "https://i.service-now.com/api/now/table/incident?sysparm_fields=a,b&sysparm_offset=0",
      next: "https://i.service-now.com/api/now/table/incident?sysparm_fields=a,b&sysparm_offset=2",
    });
    expect(parseLinkHeader(null)).toEqual({});
  });
});
