import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "@hono/zod-openapi";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  blockedRangeOf,
  createGuardedDispatcher,
  createGuardedFetch,
  createHttpClient,
  createOAuth2TokenProvider,
  isAllowListedHost,
  OutboundBlockedError,
  type Resolver,
  ResponseTooLargeError,
  refusedRangeOf,
} from "../index.js";

describe("blockedRangeOf", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["169.254.169.254", "metadata"],
    ["169.254.10.1", "linkLocal"],
    ["fe80::1", "linkLocal"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "carrierGradeNat"],
    ["100.127.255.254", "carrierGradeNat"],
    ["100.100.100.200", "metadata"],
    ["fc00::1", "uniqueLocal"],
    ["fd12:3456::1", "uniqueLocal"],
    ["fd00:ec2::254", "metadata"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["192.0.2.10", "reserved"],
    ["2001:db8::1", "reserved"],
    // IPv4 inside IPv6: mapped, NAT64, 6to4, Teredo and the deprecated compatible form.
    ["::ffff:a9fe:a9fe", "metadata"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:10.1.2.3", "private"],
    ["64:ff9b::a9fe:a9fe", "rfc6052"],
    ["2002:a9fe:a9fe::", "6to4"],
    ["2001::1", "teredo"],
    ["::a9fe:a9fe", "ipv4Compatible"],
    ["not-an-address", "invalid"],
  ])("%s is in %s", (address, range) => {
    expect(blockedRangeOf(address)).toBe(range);
  });

  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.1", "2606:4700::1111"])(
    "%s is public",
    (address) => {
      expect(blockedRangeOf(address)).toBeNull();
    },
  );

  it.each([
    ["http://2852039166/", "metadata"],
    ["http://0xa9fea9fe/", "metadata"],
    ["http://0x7f.1/", "loopback"],
    ["http://0177.0.0.1/", "loopback"],
    ["http://127.1/", "loopback"],
    ["http://0/", "unspecified"],
    ["http://012.0.0.1/", "private"],
    ["https://[::ffff:a9fe:a9fe]/", "metadata"],
    ["https://[::ffff:169.254.169.254]/", "metadata"],
    ["https://[0:0:0:0:0:ffff:7f00:1]/", "loopback"],
  ])("%s, as the WHATWG URL parser normalises it, is in %s", (url, range) => {
    expect(blockedRangeOf(new URL(url).hostname)).toBe(range);
  });

  it("opens loopback, and only loopback, when the policy allows it", () => {
    expect(refusedRangeOf("127.0.0.1", { allowLoopback: true })).toBeNull();
    expect(refusedRangeOf("::1", { allowLoopback: true })).toBeNull();
    expect(refusedRangeOf("::ffff:127.0.0.1", { allowLoopback: true })).toBeNull();
    expect(refusedRangeOf("10.0.0.1", { allowLoopback: true })).toBe("private");
    expect(refusedRangeOf("169.254.169.254", { allowLoopback: true })).toBe("metadata");
    expect(refusedRangeOf("0.0.0.0", { allowLoopback: true })).toBe("unspecified");
    expect(refusedRangeOf("127.0.0.1")).toBe("loopback");
  });
});

describe("isAllowListedHost", () => {
  const policy = { allowHosts: ["sim.internal:8443", "vendor.lan", "[fd00::5]:443", "10.0.0.7"] };
  it.each([
    ["sim.internal", "8443", "https:", true],
    ["sim.internal", "", "https:", false],
    ["vendor.lan", "", "http:", true],
    ["VENDOR.LAN", "9000", "http:", true],
    ["fd00::5", "", "https:", true],
    ["[fd00::5]", "", "http:", false],
    ["10.0.0.7", "80", "http:", true],
    ["10.0.0.8", "80", "http:", false],
  ] as const)("%s port %s over %s: %s", (host, port, protocol, expected) => {
    expect(isAllowListedHost(host, port, protocol, policy)).toBe(expected);
  });
});

/** A real HTTP server on 127.0.0.1 that counts the TCP connections it accepts. */
async function loopbackServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; port: number; connections: () => number; server: Server }> {
  let connections = 0;
  const server = createServer(handler);
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}`, port, connections: () => connections, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An injected DNS: there is none on CI machines, and tests decide what a name resolves to. */
function resolverOf(answers: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string) => {
    asked.push(hostname);
    const found = answers[hostname];
    if (found === undefined) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return found.map((address) => ({ address, family: address.includes(":") ? (6 as const) : (4 as const) }));
  };
  return Object.assign(resolve, { asked });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a response");
}

const ok = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ id: "1" }));
};

describe("guarded fetch over real loopback sockets", () => {
  it("reaches a loopback server when loopback is allowed", async () => {
    const local = await loopbackServer(ok);
    const guarded = createGuardedFetch({ allowLoopback: true });
    const response = await guarded(`${local.url}/thing`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: "1" });
    expect(local.connections()).toBe(1);
  });

  it("refuses a loopback literal when loopback is blocked, before any byte is sent", async () => {
    const local = await loopbackServer(ok);
    const guarded = createGuardedFetch({});
    const error = await rejection(guarded(`${local.url}/thing?token=s3cret`, { method: "POST" }));
    expect(error).toBeInstanceOf(OutboundBlockedError);
    const blocked = error as OutboundBlockedError;
    expect(blocked).toMatchObject({ retryable: false, host: "127.0.0.1", range: "loopback", method: "POST" });
    expect(blocked.url).toBe(local.url);
    expect(blocked.message).toContain("127.0.0.1");
    expect(blocked.message).toContain("loopback");
    expect(`${blocked.message} ${blocked.url}`).not.toContain("s3cret");
    expect(local.connections()).toBe(0);
  });

  it("refuses a loopback literal in the dispatcher's connect step, when the fetch ignores the pre-check", async () => {
    // Straight to fetch with the dispatcher: proves the socket-level check, not only the URL pre-check.
    const local = await loopbackServer(ok);
    const error = await rejection(
      fetch(`${local.url}/`, { dispatcher: createGuardedDispatcher({}) } as RequestInit),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { cause?: { range?: string } }).cause?.range).toBe("loopback");
    expect(local.connections()).toBe(0);
  });

  it.each([
    ["metadata.vendor.test", "169.254.169.254", "metadata"],
    ["intranet.vendor.test", "10.0.0.1", "private"],
    ["api.vendor.example.com", "127.0.0.1", "loopback"],
    ["v6.vendor.test", "fd00:ec2::254", "metadata"],
  ])("refuses %s, which the resolver answers with %s", async (name, address, range) => {
    const local = await loopbackServer(ok);
    const resolve = resolverOf({ [name]: [address] });
    const guarded = createGuardedFetch({ resolve });
    const error = await rejection(guarded(`http://${name}:${local.port}/api?key=s3cret`));
    expect(error).toBeInstanceOf(OutboundBlockedError);
    expect(error).toMatchObject({ host: name, address, range, url: `http://${name}:${local.port}` });
    expect((error as Error).message).not.toContain("s3cret");
    expect(resolve.asked).toEqual([name]);
    expect(local.connections()).toBe(0);
  });

  it("connects to a name resolving to loopback when loopback is allowed, through the injected resolver", async () => {
    const local = await loopbackServer(ok);
    const resolve = resolverOf({ "sim.vendor.test": ["127.0.0.1"] });
    const guarded = createGuardedFetch({ resolve, allowLoopback: true });
    const response = await guarded(`http://sim.vendor.test:${local.port}/`);
    expect(response.status).toBe(200);
    expect(resolve.asked).toEqual(["sim.vendor.test"]);
  });

  it("uses only the public answers of a name that also answers an internal address", async () => {
    // No public host is reachable here, so the assertion is on what the socket was asked to reach.
    const resolve = resolverOf({ "mixed.vendor.test": ["169.254.169.254", "127.0.0.1"] });
    const local = await loopbackServer(ok);
    const guarded = createGuardedFetch({ resolve, allowLoopback: true });
    const response = await guarded(`http://mixed.vendor.test:${local.port}/`);
    expect(response.status).toBe(200);
    expect(local.connections()).toBe(1);
  });

  it("reaches an allow-listed host whatever it resolves to", async () => {
    const local = await loopbackServer(ok);
    const guarded = createGuardedFetch({ allowHosts: [`127.0.0.1:${local.port}`] });
    expect((await guarded(`${local.url}/`)).status).toBe(200);
    const other = createGuardedFetch({ allowHosts: [`127.0.0.1:${local.port + 1}`] });
    expect(await rejection(other(`${local.url}/`))).toBeInstanceOf(OutboundBlockedError);
  });

  it("re-checks every redirect hop: an allowed server redirecting to a blocked address is refused", async () => {
    const resolve = resolverOf({ "internal.vendor.test": ["10.0.0.1"] });
    const targets = [
      "http://169.254.169.254/latest/meta-data/?role=s3cret",
      "http://internal.vendor.test/admin",
    ];
    for (const location of targets) {
      const local = await loopbackServer((_req, res) => {
        res.writeHead(302, { location });
        res.end();
      });
      const guarded = createGuardedFetch({ allowLoopback: true, resolve });
      const error = await rejection(guarded(`${local.url}/start`));
      expect(error, location).toBeInstanceOf(OutboundBlockedError);
      expect((error as OutboundBlockedError).url).toBe(new URL(location).origin);
      expect((error as Error).message).not.toContain("s3cret");
    }
  });

  it("follows a redirect to an allowed address", async () => {
    const target = await loopbackServer(ok);
    const start = await loopbackServer((_req, res) => {
      res.writeHead(302, { location: `${target.url}/moved` });
      res.end();
    });
    const response = await createGuardedFetch({ allowLoopback: true })(`${start.url}/start`);
    expect(response.status).toBe(200);
    expect(target.connections()).toBe(1);
  });
});

describe("the HTTP client on the guarded fetch", () => {
  const retry = { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 };
  const Thing = z.object({ id: z.string() });
  const loopbackClient = (baseUrl: string, maxResponseBytes: number, timeoutMs = 2_000) =>
    createHttpClient({
      baseUrl,
      auth: { type: "bearer", token: "t" },
      fetch: createGuardedFetch({ allowLoopback: true }),
      timeoutMs,
      retry,
      maxResponseBytes,
    });

  it("fails a refused destination at once with OutboundBlockedError, without retrying", async () => {
    const resolve = resolverOf({ "vendor.example.com": ["127.0.0.1"] });
    const client = createHttpClient({
      baseUrl: "https://vendor.example.com",
      auth: { type: "bearer", token: "t0ken-secret" },
      fetch: createGuardedFetch({ resolve }),
      timeoutMs: 1_000,
      retry,
    });
    const error = await rejection(client.request({ method: "GET", path: "/api/things", schema: Thing }));
    expect(error).toBeInstanceOf(OutboundBlockedError);
    expect(error).toMatchObject({ retryable: false, range: "loopback", url: "https://vendor.example.com" });
    expect(resolve.asked).toEqual(["vendor.example.com"]);
  });

  it("refuses an OAuth2 token URL at a metadata address", async () => {
    const tokens = createOAuth2TokenProvider({
      settings: {
        type: "oauth2",
        tokenUrl: "https://169.254.169.254/oauth_token.do",
        clientId: "id",
        clientSecret: "client-s3cret",
      },
      fetch: createGuardedFetch({ allowLoopback: true }),
      timeoutMs: 1_000,
    });
    const error = await rejection(tokens.getAccessToken());
    expect(error).toBeInstanceOf(OutboundBlockedError);
    expect(error).toMatchObject({ range: "metadata", method: "POST" });
    expect(JSON.stringify(error)).not.toContain("client-s3cret");
  });

  it.each([
    ["declared", true],
    ["streamed without content-length", false],
  ])("fails a response body over the cap (%s) with ResponseTooLargeError", async (_name, declared) => {
    const body = "x".repeat(4096);
    const local = await loopbackServer((_req, res) => {
      res.writeHead(200, {
        "content-type": "application/json",
        ...(declared ? { "content-length": String(body.length) } : {}),
      });
      res.end(body);
    });
    const client = loopbackClient(local.url, 1024, 2_000);
    const error = await rejection(client.request({ method: "GET", path: "/big", schema: Thing }));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ retryable: false, attempts: 1 });
  });

  it("stops reading an endless body at the cap instead of buffering it", async () => {
    const local = await loopbackServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on("close", () => clearInterval(timer));
    });
    const client = loopbackClient(local.url, 1024 * 1024, 10_000);
    const error = await rejection(client.request({ method: "GET", path: "/endless", schema: Thing }));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
  });

  it("reads a body under the cap", async () => {
    const local = await loopbackServer(ok);
    const client = loopbackClient(local.url, 1024, 2_000);
    expect((await client.request({ method: "GET", path: "/thing", schema: Thing })).data).toEqual({
      id: "1",
    });
  });
});

describe("msw still intercepts the guarded fetch", () => {
  const mswServer = setupServer(
    http.get("https://api.vendor.example.com/ping", () => HttpResponse.json({ id: "from-msw" })),
  );
  beforeAll(() => mswServer.listen({ onUnhandledRequest: "error" }));
  afterAll(() => mswServer.close());

  it("answers a request made through the guarded fetch, without resolving the name", async () => {
    const resolve = resolverOf({});
    const guarded = createGuardedFetch({ resolve });
    const response = await guarded("https://api.vendor.example.com/ping");
    expect(await response.json()).toEqual({ id: "from-msw" });
    expect(resolve.asked).toEqual([]);
  });
});
