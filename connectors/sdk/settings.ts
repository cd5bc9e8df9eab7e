import { z } from "@hono/zod-openapi";
import { Priority, TicketStatus } from "../../schemas/ticket.js";

/** HTTP Basic credentials of the integration user. */
export const BasicAuthSettings = z.strictObject({
  type: z.literal("basic"),
  username: z.string().min(1),
  password: z.string().min(1),
});

/** A static bearer token (API token, personal access token). */
export const BearerAuthSettings = z.strictObject({
  type: z.literal("bearer"),
  token: z.string().min(1),
});

/**
 * OAuth 2.0 against the vendor's token endpoint: the client-credentials grant, or the
 * refresh-token grant when `refreshToken` is given.
 */
export const OAuth2AuthSettings = z.strictObject({
  type: z.literal("oauth2"),
  tokenUrl: z.url({ protocol: /^https?$/ }),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  scope: z.string().min(1).optional(),
  refreshToken: z.string().min(1).optional(),
});

/** How the gateway authenticates to the vendor. */
export const AuthSettings = z.discriminatedUnion("type", [
  BasicAuthSettings,
  BearerAuthSettings,
  OAuth2AuthSettings,
]);
export type AuthSettings = z.infer<typeof AuthSettings>;
export type OAuth2AuthSettings = z.infer<typeof OAuth2AuthSettings>;

/**
 * Per-connection overrides of a connector's status table. Keys and values are the
 * connector's vendor status values (see each connector's `mapping.statuses`).
 */
export const MappingOverrides = z.strictObject({
  status: z
    .strictObject({
      /** vendor status value -> canonical status; wins over the connector's table. */
      inbound: z.record(z.string().min(1), TicketStatus).optional(),
      /** canonical status -> vendor status value; wins over the connector's table. */
      outbound: z.partialRecord(TicketStatus, z.string().min(1)).optional(),
    })
    .optional(),
});
export type MappingOverrides = z.infer<typeof MappingOverrides>;

/**
 * Which canonical tickets this connection receives. Evaluated by the sync engine, not the
 * connector; an absent list means "no restriction".
 */
export const OutboundFilter = z.strictObject({
  priorities: z.array(Priority).min(1).optional(),
  categories: z.array(z.string().min(1)).min(1).optional(),
  affectedServices: z.array(z.string().min(1)).min(1).optional(),
});
export type OutboundFilter = z.infer<typeof OutboundFilter>;

/**
 * Settings every connection shares. Each connector extends this with `.extend({...})`;
 * the objects are strict so a typo in stored settings fails validation instead of being
 * silently ignored.
 */
export const baseConnectionSettings = z.strictObject({
  /** Vendor base URL, e.g. `https://acme.service-now.com` (no trailing path). */
  baseUrl: z.url({ protocol: /^https?$/ }),
  auth: AuthSettings,
  /** Shared secret the vendor presents on webhooks (bearer or HMAC key, per connector). */
  webhookSecret: z.string().min(16).optional(),
  mapping: MappingOverrides.optional(),
  filter: OutboundFilter.optional(),
  /** Vendor-native query that scopes inbound records (ServiceNow encoded query, JQL, ...). */
  inboundQuery: z.string().min(1).max(2_000).optional(),
});
export type BaseConnectionSettings = z.infer<typeof baseConnectionSettings>;

/**
 * Dot paths of settings that hold secrets: redacted in API answers (the engine encrypts the whole settings object
 * at rest). `auth.username` is not among them: most vendors take a user name or email there. A vendor that takes
 * its API key as the Basic user name (Freshservice, Harvest, ...) lists `[...baseSecretPaths, "auth.username"]`.
 */
export const baseSecretPaths = [
  "auth.password",
  "auth.token",
  "auth.clientSecret",
  "auth.refreshToken",
  "webhookSecret",
] as const;
export type SecretPath = (typeof baseSecretPaths)[number];

/**
 * The Basic user name, for connectors whose integration identity is the user they log in as (see
 * `Connector.integrationIdentity`); `null` for token and OAuth2 auth.
 */
export function basicAuthUsername(settings: BaseConnectionSettings): string | null {
  return settings.auth.type === "basic" ? settings.auth.username : null;
}

/** The values at the secret paths that are set (strings only), e.g. to scrub them from a vendor's error body. */
export function secretValues(settings: unknown, secretPaths: readonly string[]): string[] {
  const values: string[] = [];
  for (const path of secretPaths) {
    let node: unknown = settings;
    for (const key of path.split(".")) node = isRecord(node) ? node[key] : undefined;
    if (typeof node === "string" && node !== "") values.push(node);
  }
  return values;
}

/** Placeholder written in place of a secret by {@link redactSecrets}. */
export const redacted = "[redacted]";

/**
 * Returns a deep copy of `settings` with every present secret path replaced by
 * {@link redacted}, for API responses and logs.
 */
export function redactSecrets<T>(settings: T, secretPaths: readonly string[]): T {
  const copy: unknown = structuredClone(settings);
  for (const path of secretPaths) {
    const keys = path.split(".");
    let node: unknown = copy;
    for (const key of keys.slice(0, -1)) {
      node = isRecord(node) ? node[key] : undefined;
    }
    const leaf = keys.at(-1);
    if (leaf !== undefined && isRecord(node) && node[leaf] !== undefined) {
      node[leaf] = redacted;
    }
  }
  return copy as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
