import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, buildConnector } from "undici";
import { PermanentHttpError } from "./errors.js";

/**
 * Outbound HTTP safety (SSRF): every URL a connector or the engine calls (base URLs, OAuth2 token URLs,
 * attachment URLs a vendor hands us, hub callbacks) is tenant-supplied or vendor-supplied, so hostile.
 * The destination address is checked when the socket connects, after DNS, so a DNS answer that changes
 * after the connection was saved and every redirect hop are checked too.
 */

/** One DNS answer. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses (all of them). Tests inject one; there is no DNS on CI machines. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Which non-public destinations an operator opens. Everything else outside global unicast is refused. */
export interface OutboundPolicy {
  /** Allow 127.0.0.0/8 and ::1 (development and tests, whose simulators listen on loopback). Default false. */
  allowLoopback?: boolean;
  /**
   * Hosts reached whatever they resolve to: `host` or `host:port` (`[v6]:port` for IPv6 literals),
   * lower case. The operator's `CONNECTOR_HOST_ALLOWLIST`.
   */
  allowHosts?: readonly string[];
}

/** Addresses that are nominally unicast but serve cloud instance metadata; named so refusals say so. */
const metadataAddresses = new Set(["169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"]);

/**
 * The blocked range `address` falls in, or `null` for a global unicast address. Ranges are ipaddr.js's
 * (`loopback`, `linkLocal`, `private`, `carrierGradeNat`, `uniqueLocal`, `unspecified`, `multicast`,
 * `reserved`, `6to4`, `teredo`, `rfc6052`, ...) plus `metadata` for cloud metadata endpoints and
 * `ipv4Compatible` for the deprecated `::a.b.c.d` form. IPv4-mapped IPv6 (`::ffff:a9fe:a9fe`) is judged
 * as the IPv4 address it carries. Anything that does not parse is `invalid`, and refused.
 */
export function blockedRangeOf(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, ""));
  } catch {
    return "invalid";
  }
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
  }
  if (metadataAddresses.has(parsed.toString())) return "metadata";
  const range = parsed.range();
  // ::/96 (RFC 4291 §2.5.5.1, deprecated) is classed unicast by ipaddr.js though it embeds an IPv4 address.
  if (
    range === "unicast" &&
    parsed.kind() === "ipv6" &&
    (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)
  )
    return "ipv4Compatible";
  return range === "unicast" ? null : range;
}

/** The range `address` is refused for under `policy`, or `null` when it may be reached. */
export function refusedRangeOf(address: string, policy: OutboundPolicy = {}): string | null {
  const range = blockedRangeOf(address);
  if (range === "loopback" && policy.allowLoopback === true) return null;
  return range;
}

/** Whether `policy.allowHosts` names this host (with or without its port; the port defaults by scheme). */
export function isAllowListedHost(
  hostname: string,
  port: string | number | undefined,
  protocol: string,
  policy: OutboundPolicy = {},
): boolean {
  const allowHosts = policy.allowHosts ?? [];
  if (allowHosts.length === 0) return false;
  const bare = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const bracketed = isIP(bare) === 6 ? `[${bare}]` : bare;
  const effectivePort =
    port === undefined || port === "" ? (protocol === "https:" ? "443" : "80") : String(port);
  return [bare, bracketed, `${bracketed}:${effectivePort}`].some((candidate) =>
    allowHosts.includes(candidate),
  );
}

/** Details of {@link OutboundBlockedError}. */
export interface OutboundBlockedDetails {
  method: string;
  /** Host name (or IP literal) the request was for. */
  host: string;
  /** The refused address (the literal itself, or what the host resolved to). */
  address: string;
  /** The range it is in, see {@link blockedRangeOf}. */
  range: string;
  /** Scheme, host and port only: paths and queries may carry secrets. */
  origin: string;
  latencyMs: number;
}

/**
 * A request refused because its destination is a blocked address (loopback, link-local, private, metadata,
 * ...). Permanent (`retryable === false`): the engine dead-letters it instead of retrying. Its `url` is the
 * origin only, so a path or query secret never reaches a log or the ledger.
 */
export class OutboundBlockedError extends PermanentHttpError {
  readonly host: string;
  readonly address: string;
  readonly range: string;

  constructor(details: OutboundBlockedDetails) {
    super(
      `${details.method} ${details.origin} refused: ${describeRefusal(details.host, details.address, details.range)} (allow-list the host if intended)`,
      {
        method: details.method,
        url: details.origin,
        status: null,
        attempts: 1,
        latencyMs: details.latencyMs,
        responseBody: null,
      },
    );
    this.host = details.host;
    this.address = details.address;
    this.range = details.range;
  }
}

function describeRefusal(host: string, address: string, range: string): string {
  return host === address
    ? `${host} is in the blocked ${range} range`
    : `${host} resolves to ${address}, in the blocked ${range} range`;
}

/** Raised inside the socket layer, where method and timing are unknown; the guarded fetch turns it into an {@link OutboundBlockedError}. */
class RefusedAddress extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
    readonly origin: string,
  ) {
    super(describeRefusal(host, address, range));
    this.name = "RefusedAddress";
  }
}

function originOf(protocol: string, hostname: string, port: string | number | undefined): string {
  const host = isIP(hostname) === 6 ? `[${hostname}]` : hostname;
  return `${protocol}//${host}${port === undefined || port === "" ? "" : `:${port}`}`;
}

/** The operating system's resolver (`dns.lookup`, every answer, in its order). */
export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((answer) => ({
    address: answer.address,
    family: answer.family === 6 ? 6 : 4,
  }));

/** A `net.connect` lookup on `resolve` that drops refused answers, failing when none is left. */
function lookupVia(
  resolve: Resolver,
  check: ((address: string) => string | null) | null,
  origin: (hostname: string) => string,
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (answers) => {
        const family = options.family === 4 || options.family === 6 ? options.family : null;
        const candidates = family === null ? answers : answers.filter((answer) => answer.family === family);
        // A name answering both a public and an internal address (DNS rebinding) only ever reaches the public one.
        const allowed =
          check === null ? candidates : candidates.filter((answer) => check(answer.address) === null);
        const first = allowed[0];
        if (first === undefined) {
          const refused = candidates[0];
          const error =
            refused === undefined
              ? Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", hostname })
              : new RefusedAddress(
                  hostname,
                  refused.address,
                  check?.(refused.address) ?? "invalid",
                  origin(hostname),
                );
          callback(error, "", 4);
          return;
        }
        if (options.all === true) callback(null, allowed);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 4),
    );
  };
}

/** Options of {@link createGuardedDispatcher} and {@link createGuardedFetch}. */
export interface GuardOptions extends OutboundPolicy {
  /** Defaults to the operating system's resolver (`dns.lookup`, all answers). */
  resolve?: Resolver;
}

/**
 * An undici `Agent` whose connector refuses blocked destinations when the socket connects: IP literals
 * are checked before connecting (Node skips the lookup for them) and names through a custom lookup on
 * `resolve`. Pass it as fetch's `dispatcher`; each redirect hop connects through it and is checked again.
 */
export function createGuardedDispatcher(options: GuardOptions = {}): Agent {
  const resolve = options.resolve ?? systemResolver;
  const check = (address: string) => refusedRangeOf(address, options);
  const connectorFor = (lookupCheck: typeof check | null) =>
    buildConnector({
      lookup: lookupVia(resolve, lookupCheck, (hostname) => hostname),
    } as buildConnector.BuildOptions);
  const checked = connectorFor(check);
  const open = connectorFor(null);
  return new Agent({
    connect(connectOptions, callback) {
      const { hostname, port, protocol } = connectOptions;
      if (isAllowListedHost(hostname, port, protocol, options)) return open(connectOptions, callback);
      if (isIP(hostname) !== 0) {
        const range = check(hostname);
        if (range !== null)
          return callback(
            new RefusedAddress(hostname, hostname, range, originOf(protocol, hostname, port)),
            null,
          );
        return checked(connectOptions, callback);
      }
      return checked(connectOptions, (error, socket) => {
        if (error instanceof RefusedAddress) {
          return callback(
            new RefusedAddress(error.host, error.address, error.range, originOf(protocol, hostname, port)),
            null,
          );
        }
        return error === null ? callback(null, socket!) : callback(error, null);
      });
    },
  });
}

function refusedIn(error: unknown, depth = 0): RefusedAddress | null {
  if (error instanceof RefusedAddress) return error;
  if (depth > 5 || typeof error !== "object" || error === null) return null;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  // Happy-eyeballs connects wrap per-address failures in an AggregateError.
  for (const inner of [cause, ...(Array.isArray(errors) ? errors : [])]) {
    const found = refusedIn(inner, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/** Options of {@link createGuardedFetch}. */
export interface GuardedFetchOptions extends GuardOptions {
  /**
   * The fetch to call with the guarded `dispatcher`. Defaults to `globalThis.fetch`, looked up on each call
   * so msw (which patches it) still intercepts.
   */
  fetch?: typeof fetch;
}

/**
 * The one outbound fetch: the global (or given) fetch with a {@link createGuardedDispatcher} as its
 * `dispatcher`. An IP literal is also refused before any fetch is made (so a test double that ignores the
 * dispatcher still refuses it). A refusal rejects with {@link OutboundBlockedError}; other failures are
 * fetch's own. Call it like `fetch`.
 */
export function createGuardedFetch(options: GuardedFetchOptions = {}): typeof fetch {
  const dispatcher = createGuardedDispatcher(options);
  return async (input, init) => {
    const started = performance.now();
    const request = input instanceof Request ? input : null;
    const target = new URL(request?.url ?? String(input));
    const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    const blocked = (refused: RefusedAddress) =>
      new OutboundBlockedError({
        method,
        host: refused.host,
        address: refused.address,
        range: refused.range,
        origin: refused.origin,
        latencyMs: Math.round(performance.now() - started),
      });
    const hostname = target.hostname.replace(/^\[|\]$/g, "");
    if (isIP(hostname) !== 0 && !isAllowListedHost(hostname, target.port, target.protocol, options)) {
      const range = refusedRangeOf(hostname, options);
      if (range !== null)
        throw blocked(
          new RefusedAddress(hostname, hostname, range, originOf(target.protocol, hostname, target.port)),
        );
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    try {
      return await fetchImpl(input, { ...init, dispatcher } as RequestInit);
    } catch (error) {
      const refused = refusedIn(error);
      throw refused === null ? error : blocked(refused);
    }
  };
}

/** Default cap on an API response body: 16 MiB. Attachments are streamed under their own per-connection cap. */
export const defaultMaxResponseBytes = 16 * 1024 * 1024;

/** A response body larger than the cap; permanent, since the same request would return the same body. */
export class ResponseTooLargeError extends PermanentHttpError {}

/** Thrown by {@link readTextCapped}; the HTTP client turns it into a {@link ResponseTooLargeError}. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`response body exceeds ${maxBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads a response body as text, stopping (and cancelling the stream) as soon as it passes `maxBytes`
 * (decoded bytes, so a compressed bomb stops too). A declared `content-length` above the cap fails before
 * any byte is read.
 * @throws {BodyTooLargeError}
 */
export async function readTextCapped(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return "";
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let total = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(maxBytes);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
