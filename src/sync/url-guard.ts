import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { GatewayError } from "../errors.js";
import type { SyncSettings } from "./settings.js";

function isBlockedAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split(".").map(Number) as [number, number];
    return (
      a === 127 || // loopback
      a === 0 || // "this host"
      (a === 169 && b === 254) || // link-local, including 169.254.169.254 cloud metadata
      (a === 100 && b >= 64 && b <= 127 && v4 === "100.100.100.200") // Alibaba metadata
    );
  }
  const v6 = address.toLowerCase();
  return v6 === "::1" || v6 === "::" || v6.startsWith("fe80:") || v6 === "fd00:ec2::254";
}

/**
 * In production a connection's base URL must be https and must not resolve to loopback, link-local or
 * cloud-metadata addresses (SSRF), unless its host is allow-listed. In development http to loopback is
 * allowed, for simulators and tests.
 */
export async function assertReachableBaseUrl(
  baseUrl: string,
  settings: Pick<SyncSettings, "production" | "hostAllowlist">,
  path = "settings.baseUrl",
) {
  const url = new URL(baseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (settings.hostAllowlist.includes(host) || settings.hostAllowlist.includes(url.host.toLowerCase()))
    return;
  if (!settings.production) return;
  const fail = (message: string) => {
    throw new GatewayError("VALIDATION_FAILED", `The connection's base URL is not allowed: ${message}`, {
      errors: [{ path, message }],
    });
  };
  if (url.protocol !== "https:") fail("must use https in production");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return fail(`host ${host} does not resolve`);
  }
  const blocked = addresses.find(isBlockedAddress);
  if (blocked)
    fail(
      `host ${host} resolves to ${blocked} (loopback, link-local or metadata); allow-list it with CONNECTOR_HOST_ALLOWLIST if intended`,
    );
}
