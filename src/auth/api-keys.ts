import { randomBytes, timingSafeEqual } from "node:crypto";
import { sha256Hex } from "../lib/hash.js";
import { newId } from "../lib/ids.js";

export interface GeneratedKey {
  id: string;
  secret: string;
  prefix: string;
  hash: string;
}

const keyPrefixes = { tenant: "tsg_t_", operator: "tsg_o_" } as const;

/** 192 random bits; only the SHA-256 is stored, the key itself is shown once. */
export function generateApiKey(kind: keyof typeof keyPrefixes): GeneratedKey {
  const secret = `${keyPrefixes[kind]}${randomBytes(24).toString("base64url")}`;
  return { id: newId("apiKey"), secret, prefix: secret.slice(0, 12), hash: hashApiKey(secret) };
}

export function hashApiKey(secret: string): string {
  return sha256Hex(secret);
}

/** Constant-time comparison of a presented token with a configured one (the admin token, the metrics token). */
export function tokenMatches(presented: string, configured: string): boolean {
  const a = Buffer.from(sha256Hex(presented), "hex");
  const b = Buffer.from(sha256Hex(configured), "hex");
  return timingSafeEqual(a, b);
}
