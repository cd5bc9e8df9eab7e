import type { z } from "zod";
import { LedgerCheckpoint, LedgerEntry } from "../../schemas/ledger.js";
import { type CheckpointVerification, type Divergence, judgeCheckpoints } from "./consistency.js";
import { computeEntryHash } from "./entry-hash.js";
import { LedgerKeyring } from "./keys.js";

// Checks an NDJSON export with nothing but the file and the published keys: no gateway, no database.

type Entry = z.infer<typeof LedgerEntry>;
type Checkpoint = z.infer<typeof LedgerCheckpoint>;

export interface ExportReport {
  ok: boolean;
  entries: number;
  chains: number;
  checkpoints: (CheckpointVerification & { id: string })[];
  /** Chains broken inside themselves (whether or not a checkpoint covers them). */
  brokenChains: Divergence[];
  /** Scopes with entries in the file but no checkpoint: only their internal hash links are checked. */
  uncoveredScopes: string[];
  /** Lines that are neither an entry nor a checkpoint, or malformed (negative: the kept checkpoints file). */
  badLines: { line: number; message: string }[];
}

function hashOf(entry: Entry): string {
  return computeEntryHash({
    sequence: entry.sequence,
    occurredAt: new Date(entry.occurredAt),
    chainKey: entry.chainKey,
    tenantId: entry.tenantId,
    ticketId: entry.ticketId,
    connectionId: entry.connectionId,
    direction: entry.direction,
    kind: entry.kind,
    actorType: entry.actor.type,
    actorId: entry.actor.id,
    side: entry.side,
    externalId: entry.externalId,
    payloadHash: entry.payloadHash,
    detail: entry.detail as Record<string, unknown>,
    prevHash: entry.prevHash,
  });
}

function parseLines(text: string) {
  const entries: Entry[] = [];
  const checkpoints: Checkpoint[] = [];
  const badLines: ExportReport["badLines"] = [];
  text.split("\n").forEach((raw, index) => {
    if (raw.trim() === "") return;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      badLines.push({ line, message: "not JSON" });
      return;
    }
    const isCheckpoint = (value as { type?: unknown }).type === "ledger.checkpoint";
    const parsed = isCheckpoint
      ? LedgerCheckpoint.safeParse((value as { checkpoint?: unknown }).checkpoint)
      : LedgerEntry.safeParse(value);
    if (!parsed.success) {
      badLines.push({
        line,
        message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
      });
    } else if (isCheckpoint) checkpoints.push(parsed.data as Checkpoint);
    else entries.push(parsed.data as Entry);
  });
  return { entries, checkpoints, badLines };
}

/**
 * Verifies an export: each embedded checkpoint is signed by a key in `jwks` and self-consistent, each chain in
 * the file links and hashes from its first entry, and holds every head the checkpoints commit to.
 * `kept`: checkpoints the caller saved earlier (they do not depend on the server that produced the export).
 * An export filtered by kind, ticket or time holds partial chains and cannot pass.
 */
export async function verifyExport(
  ndjson: string,
  jwks: { keys: { kty?: string; crv?: string; x?: string }[] },
  kept: unknown[] = [],
): Promise<ExportReport> {
  const keyring = LedgerKeyring.fromJwks(jwks);
  const { entries, checkpoints, badLines } = parseLines(ndjson);
  kept.forEach((value, i) => {
    const parsed = LedgerCheckpoint.safeParse(value);
    if (parsed.success) checkpoints.push(parsed.data as Checkpoint);
    else
      badLines.push({
        line: -(i + 1),
        message: `kept checkpoint ${i + 1}: ${parsed.error.issues[0]?.message}`,
      });
  });
  const chains = new Map<string, Entry[]>();
  for (const entry of entries) chains.set(entry.chainKey, [...(chains.get(entry.chainKey) ?? []), entry]);
  const { results, broken: brokenChains } = await judgeCheckpoints(
    checkpoints,
    keyring,
    (walker) => {
      for (const entry of (chains.get(walker.chainKey) ?? []).sort((a, b) => a.sequence - b.sequence)) {
        walker.push(entry, hashOf(entry));
        if (walker.done) return;
      }
    },
    [...chains.keys()],
  );
  const covered = new Set(checkpoints.map((c) => c.scope));
  const uncoveredScopes = [...new Set(entries.map((e) => e.tenantId ?? "provider"))].filter(
    (s) => !covered.has(s),
  );
  return {
    ok:
      badLines.length === 0 &&
      brokenChains.length === 0 &&
      results.every((r) => r.ok) &&
      checkpoints.length > 0,
    entries: entries.length,
    chains: chains.size,
    checkpoints: results.map((result, i) => ({ id: checkpoints[i]!.id, ...result })),
    brokenChains,
    uncoveredScopes,
    badLines,
  };
}
