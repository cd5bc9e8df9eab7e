import { z } from "@hono/zod-openapi";
import { Instant, instant, text } from "./common.js";
import { Side } from "./ticket.js";

export const LedgerEntry = z
  .object({
    sequence: z.number().int(),
    occurredAt: Instant,
    chainKey: text().openapi({ description: "The hash chain the entry extends (tenant, shard)." }),
    tenantId: text().nullable(),
    ticketId: text().nullable(),
    connectionId: text().nullable(),
    direction: z.enum(["inbound", "outbound", "internal"]),
    kind: text().openapi({ example: "ticket.status_changed" }),
    actor: z.object({ type: text(), id: text().nullable() }),
    side: Side,
    externalId: text().nullable(),
    payloadHash: text().nullable(),
    detail: z.record(text(), z.unknown()),
    prevHash: text().nullable(),
    hash: text(),
  })
  .openapi("LedgerEntry");

export const LedgerQuery = z.object({
  tenantId: text().min(1).optional(),
  ticketId: text().min(1).optional(),
  kind: text().min(1).max(100).optional().openapi({ description: "Exact kind, or a prefix ending in `.*`." }),
  since: instant().optional(),
});

export const LedgerVerification = z
  .object({
    ok: z.boolean(),
    checked: z.number().int(),
    firstBrokenSequence: z.number().int().nullable(),
  })
  .openapi("LedgerVerification");

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 in lowercase hex");

export const LedgerChainHead = z
  .object({
    chainKey: z.string().min(1).max(200),
    sequence: z.number().int().min(1),
    count: z
      .number()
      .int()
      .min(1)
      .openapi({ description: "Entries in the chain up to and including the head." }),
    hash: Sha256Hex,
  })
  .openapi("LedgerChainHead");

export const LedgerCheckpoint = z
  .object({
    id: z.string().min(1).max(100),
    scope: z
      .string()
      .min(1)
      .max(100)
      .openapi({ description: "The tenant id, or `provider` for entries without one." }),
    tenantId: z.string().nullable(),
    issuedAt: Instant,
    entries: z
      .number()
      .int()
      .min(0)
      .openapi({ description: "Entries in all the scope's chains (sum of the counts)." }),
    root: Sha256Hex.openapi({ description: "RFC 9162 Merkle tree hash over the heads in chain key order." }),
    heads: z.array(LedgerChainHead).max(10_000),
    keyId: z
      .string()
      .min(1)
      .max(100)
      .openapi({ description: "The `kid` of the signing key in /v1/ledger/keys." }),
    signature: z
      .string()
      .min(1)
      .max(200)
      .openapi({ description: "Ed25519 over the checkpoint message, base64url." }),
  })
  .openapi("LedgerCheckpoint", {
    description:
      'A signed commitment to every chain head of one scope. Keep it: POST /v1/ledger/verify and the offline verifier prove later that the ledger still holds what it committed to. The signed message is the canonical JSON (keys sorted) of `{entries, format: "ticket-sync-gateway/ledger-checkpoint/v1", issuedAt, root, scope, tenantId}`.',
  });

export const LedgerCheckpointQuery = z.object({
  scope: z.string().min(1).max(100).optional().openapi({ description: "A tenant id, or `provider`." }),
});

export const LedgerKeys = z
  .object({
    keys: z.array(
      z.object({
        kty: z.literal("OKP"),
        crv: z.literal("Ed25519"),
        x: z.string(),
        kid: z.string(),
        alg: z.literal("EdDSA"),
        use: z.literal("sig"),
      }),
    ),
  })
  .openapi("LedgerKeys", {
    description: "JWKS (RFC 7517/8037): the current signing key first, then previous keys still published.",
  });

export const LedgerDivergenceKind = z.enum([
  "chain_missing",
  "truncated",
  "entry_missing",
  "entry_altered",
  "link_broken",
  "head_rewritten",
  "position_changed",
  "extension_broken",
]);

export const LedgerDivergence = z
  .object({
    chainKey: z.string(),
    kind: LedgerDivergenceKind,
    sequence: z.number().int().openapi({ description: "The first sequence known to differ." }),
    intactThrough: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The newest committed head of this chain that still matches, if any." }),
    detail: z.string(),
  })
  .openapi("LedgerDivergence");

export const LedgerCheckpointVerifyRequest = z
  .strictObject({ checkpoints: z.array(LedgerCheckpoint).min(1).max(100) })
  .openapi("LedgerCheckpointVerifyRequest");

export const LedgerCheckpointVerification = z
  .object({
    ok: z.boolean(),
    results: z.array(
      z.object({
        id: z.string(),
        scope: z.string(),
        issuedAt: Instant,
        ok: z.boolean(),
        signature: z.enum(["valid", "invalid", "unknown_key"]),
        problems: z.array(z.string()).openapi({ description: "Why the checkpoint itself is not usable." }),
        firstDivergence: LedgerDivergence.nullable(),
        divergences: z.array(LedgerDivergence),
      }),
    ),
  })
  .openapi("LedgerCheckpointVerification");
