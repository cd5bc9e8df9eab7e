import { isIP } from "node:net";
import {
  isAllowListedHost,
  type OutboundPolicy,
  type Resolver,
  refusedRangeOf,
  systemResolver,
} from "../../connectors/sdk/index.js";
import { GatewayError } from "../errors.js";
import type { SyncSettings } from "./settings.js";

/**
 * What outbound calls may reach: in production only public addresses; in development and tests loopback
 * too, for simulators. `CONNECTOR_HOST_ALLOWLIST` opens named hosts in both.
 */
export function outboundPolicyOf(
  settings: Pick<SyncSettings, "production" | "hostAllowlist">,
): OutboundPolicy {
  return { allowLoopback: !settings.production, allowHosts: settings.hostAllowlist };
}

/**
 * Refuses a connection URL up front (SSRF) with the same range check the guarded fetch applies at connect
 * time: in production the URL must be https and its host must not resolve to a blocked address, unless
 * allow-listed. In development IP literals are checked and names are left to the connect-time check, so
 * saving a connection needs no DNS.
 */
export async function assertReachableBaseUrl(
  baseUrl: string,
  settings: Pick<SyncSettings, "production" | "hostAllowlist">,
  path = "settings.baseUrl",
  resolve: Resolver = systemResolver,
  owner = "connection",
) {
  const url = new URL(baseUrl);
  const policy = outboundPolicyOf(settings);
  if (isAllowListedHost(url.hostname, url.port, url.protocol, policy)) return;
  const fail = (message: string): never => {
    throw new GatewayError("VALIDATION_FAILED", `The ${owner}'s ${path} is not allowed: ${message}`, {
      errors: [{ path, message }],
    });
  };
  if (settings.production && url.protocol !== "https:") fail("must use https in production");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else if (!settings.production) return;
  else {
    try {
      addresses = (await resolve(host)).map((answer) => answer.address);
    } catch {
      return fail(`host ${host} does not resolve`);
    }
    if (addresses.length === 0) fail(`host ${host} does not resolve`);
  }
  for (const address of addresses) {
    const range = refusedRangeOf(address, policy);
    if (range !== null)
      fail(
        `host ${host} ${host === address ? "is" : `resolves to ${address},`} in the blocked ${range} range; allow-list it with CONNECTOR_HOST_ALLOWLIST if intended`,
      );
  }
}
