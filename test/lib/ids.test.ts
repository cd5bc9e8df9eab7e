// Ids are ULIDs behind a prefix: unique, ordered as they are made (keyset pagination relies on it), and drawn
// from the whole base32 alphabet (the pooled random source behind them, src/lib/ids.ts).
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids.js";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe("newId", () => {
  it("makes unique, prefixed ULIDs in the order they were made", () => {
    const ids = Array.from({ length: 20_000 }, () => newId("ticket"));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id.slice("tkt_".length)).toMatch(ULID);
    expect(ids.every((id) => id.startsWith("tkt_"))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });

  it("draws the random part from the whole alphabet, across refills of the pool", async () => {
    const seen = new Set<string>();
    // A new millisecond draws a fresh random part (within one, the last one is incremented).
    for (let i = 0; i < 300; i++) {
      for (const c of newId("comment").slice(-16)) seen.add(c);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(seen.size).toBe(32);
  });
});
