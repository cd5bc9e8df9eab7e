import { createHash } from "node:crypto";
import type { z } from "zod";
import type { LedgerChainHead } from "../../schemas/ledger.js";
import { canonicalJson } from "../lib/hash.js";
import { scopeOfChain } from "./entry-hash.js";
import type { LedgerKeyring } from "./keys.js";

// Pure: what a checkpoint commits to and how its signature is checked, shared by the gateway and the
// offline verifier.

export const CHECKPOINT_FORMAT = "ticket-sync-gateway/ledger-checkpoint/v1";

/** One chain's head: its newest entry's sequence and hash, and how many entries the chain holds up to it. */
export type ChainHead = z.infer<typeof LedgerChainHead>;

export interface CheckpointBody {
  /** The tenant id, or "provider" for the chains of entries without a tenant. */
  scope: string;
  tenantId: string | null;
  issuedAt: string;
  entries: number;
  root: string;
  heads: ChainHead[];
}

export interface SignedCheckpoint extends CheckpointBody {
  keyId: string;
  signature: string;
}

const sha256 = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest();

/** RFC 9162 section 2.1.1 Merkle Tree Hash: leaves prefixed 0x00, nodes 0x01, split at the largest power of 2. */
function merkleTreeHash(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), merkleTreeHash(leaves.slice(0, k)), merkleTreeHash(leaves.slice(k)));
}

export function sortHeads(heads: ChainHead[]): ChainHead[] {
  return [...heads].sort((a, b) => (a.chainKey < b.chainKey ? -1 : a.chainKey > b.chainKey ? 1 : 0));
}

/** The Merkle root over a scope's chain heads, in chain key order; each leaf is the head's canonical JSON. */
export function headsRoot(heads: ChainHead[]): string {
  const leaves = sortHeads(heads).map((h) =>
    Buffer.from(canonicalJson({ chainKey: h.chainKey, count: h.count, hash: h.hash, sequence: h.sequence })),
  );
  return merkleTreeHash(leaves).toString("hex");
}

/** The exact bytes signed: the heads enter through the root. */
export function checkpointMessage(body: Omit<CheckpointBody, "heads">): string {
  return canonicalJson({
    format: CHECKPOINT_FORMAT,
    scope: body.scope,
    tenantId: body.tenantId,
    issuedAt: body.issuedAt,
    entries: body.entries,
    root: body.root,
  });
}

export function buildCheckpointBody(scope: string, issuedAt: Date, heads: ChainHead[]): CheckpointBody {
  const sorted = sortHeads(heads);
  return {
    scope,
    tenantId: scope === "provider" ? null : scope,
    issuedAt: issuedAt.toISOString(),
    entries: sorted.reduce((sum, h) => sum + h.count, 0),
    root: headsRoot(sorted),
    heads: sorted,
  };
}

export type SignatureCheck = "valid" | "invalid" | "unknown_key";

/**
 * Whether a checkpoint is one the gateway signed and is self-consistent: the signature over its message,
 * the root over its heads, the entry count, and every head inside its scope. Problems are plain sentences.
 */
export function checkCheckpoint(
  checkpoint: SignedCheckpoint,
  keyring: LedgerKeyring,
): { signature: SignatureCheck; problems: string[] } {
  const problems: string[] = [];
  const signature = keyring.verify(checkpointMessage(checkpoint), checkpoint.keyId, checkpoint.signature);
  if (signature === "unknown_key") problems.push(`no published key has id ${checkpoint.keyId}`);
  if (signature === "invalid") problems.push("the signature does not match the checkpoint");
  if (headsRoot(checkpoint.heads) !== checkpoint.root) problems.push("the heads do not hash to the root");
  const total = checkpoint.heads.reduce((sum, h) => sum + h.count, 0);
  if (total !== checkpoint.entries)
    problems.push(`the heads count ${total} entries, not ${checkpoint.entries}`);
  const expectedTenant = checkpoint.scope === "provider" ? null : checkpoint.scope;
  if (checkpoint.tenantId !== expectedTenant) problems.push("the tenant id does not match the scope");
  const strays = checkpoint.heads.filter((h) => scopeOfChain(h.chainKey) !== checkpoint.scope);
  if (strays.length > 0)
    problems.push(`chains outside the scope: ${strays.map((h) => h.chainKey).join(", ")}`);
  return { signature, problems };
}
