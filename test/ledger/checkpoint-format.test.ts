import { createHash, webcrypto } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildCheckpointBody,
  type ChainHead,
  checkCheckpoint,
  checkpointMessage,
  headsRoot,
} from "../../src/ledger/checkpoint-format.js";
import { ChainWalker } from "../../src/ledger/consistency.js";
import { LedgerKeyring } from "../../src/ledger/keys.js";

const sha = (...parts: (Buffer | string)[]) =>
  createHash("sha256")
    .update(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))))
    .digest();
const head = (chainKey: string, sequence: number, count: number): ChainHead => ({
  chainKey,
  sequence,
  count,
  hash: sha(chainKey, String(sequence)).toString("hex"),
});
const leaf = (h: ChainHead) =>
  sha(
    Buffer.from([0]),
    JSON.stringify({ chainKey: h.chainKey, count: h.count, hash: h.hash, sequence: h.sequence }),
  );
const node = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r);

describe("the Merkle root over chain heads (RFC 9162 tree hash)", () => {
  it("hashes the empty tree, one leaf, and splits at the largest power of two below n", () => {
    expect(headsRoot([])).toBe(sha().toString("hex"));
    const [a, b, c] = [head("t:0", 1, 1), head("t:1", 2, 1), head("t:2", 3, 2)];
    expect(headsRoot([a])).toBe(leaf(a).toString("hex"));
    // Three leaves: MTH = node(node(a, b), c), in chain key order whatever the input order.
    expect(headsRoot([c, a, b])).toBe(node(node(leaf(a), leaf(b)), leaf(c)).toString("hex"));
  });
});

describe("checkpoint signatures", () => {
  it("verify with WebCrypto from the published JWK alone, as an outside auditor would", async () => {
    const keyring = LedgerKeyring.generate();
    const body = buildCheckpointBody("ten_1", new Date("2026-12-01T00:00:00Z"), [head("ten_1:3", 9, 4)]);
    const signed = { ...body, ...keyring.sign(checkpointMessage(body)) };
    const jwk = keyring.jwks.keys[0]!;
    const key = await webcrypto.subtle.importKey(
      "jwk",
      { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    const ok = await webcrypto.subtle.verify(
      { name: "Ed25519" },
      key,
      Buffer.from(signed.signature, "base64url"),
      Buffer.from(checkpointMessage(signed)),
    );
    expect(ok).toBe(true);
    expect(checkCheckpoint(signed, keyring)).toEqual({ signature: "valid", problems: [] });
    expect(checkCheckpoint({ ...signed, issuedAt: "2026-12-02T00:00:00.000Z" }, keyring).signature).toBe(
      "invalid",
    );
    expect(checkCheckpoint(signed, LedgerKeyring.generate()).signature).toBe("unknown_key");
  });

  it("flags heads outside the checkpoint's scope even when the root matches", () => {
    const keyring = LedgerKeyring.generate();
    const body = { ...buildCheckpointBody("ten_1", new Date(), [head("ten_2:1", 5, 1)]) };
    const signed = { ...body, ...keyring.sign(checkpointMessage(body)) };
    expect(checkCheckpoint(signed, keyring).problems.join()).toMatch(/outside the scope/);
  });
});

describe("ChainWalker", () => {
  const entries = [1, 2, 3].map((sequence, i, all) => ({
    sequence,
    hash: `h${sequence}`,
    prevHash: i === 0 ? null : `h${all[i - 1]}`,
  }));

  it.each([
    ["intact", entries, null],
    ["tail deleted", entries.slice(0, 2), "truncated"],
    ["empty", [], "chain_missing"],
    ["middle removed", [entries[0]!, entries[2]!], "link_broken"],
    [
      "rewritten, hashes recomputed",
      [entries[0]!, entries[1]!, { sequence: 3, hash: "x3", prevHash: "h2" }],
      "head_rewritten",
    ],
    [
      "one removed before the head, hashes recomputed",
      [entries[0]!, { sequence: 3, hash: "h3", prevHash: "h1" }],
      "position_changed",
    ],
    [
      "head removed, chain gone on",
      [entries[0]!, entries[1]!, { sequence: 4, hash: "h4", prevHash: "h2" }],
      "entry_missing",
    ],
    [
      "broken after the head",
      [...entries, { sequence: 4, hash: "h4", prevHash: "nope" }],
      "extension_broken",
    ],
  ] as const)("%s", (_name, walked, expected) => {
    const committed = { chainKey: "c", sequence: 3, count: 3, hash: "h3" };
    const walker = new ChainWalker("c", [committed]);
    for (const e of walked) walker.push(e, e.hash);
    expect(walker.finish([committed])[0]?.kind ?? null).toBe(expected);
  });
});
