import { describe, expect, it } from "vitest";
import { findOwnWrite, readBackWindowStart } from "../read-back.js";

interface Item {
  id: string;
  by: string | null;
  at: string | null;
  text: string;
  public?: boolean;
}

const since = new Date("2026-12-06T12:00:00Z");
const query = (items: Item[], overrides: Partial<Parameters<typeof findOwnWrite<Item>>[1]> = {}) =>
  findOwnWrite(items, {
    text: "hello world",
    // A vendor-specific normalisation: whitespace runs collapse.
    textOf: (item) => item.text.replace(/\s+/g, " ").trim(),
    identity: "integration",
    authorOf: (item) => item.by,
    since,
    clockSkewMs: 30_000,
    createdAtMs: (item) => Date.parse(item.at ?? ""),
    ...overrides,
  })?.id ?? null;

describe("findOwnWrite", () => {
  it("finds our write with the same text in the window, less the clock skew", () => {
    expect(readBackWindowStart(since, 30_000).toISOString()).toBe("2026-12-06T11:59:30.000Z");
    const items: Item[] = [
      { id: "before-window", by: "integration", at: "2026-12-06T11:59:29Z", text: "hello world" },
      { id: "someone-else", by: "agent", at: "2026-12-06T12:00:01Z", text: "hello world" },
      { id: "other-text", by: "integration", at: "2026-12-06T12:00:01Z", text: "hello there" },
      { id: "ours", by: "integration", at: "2026-12-06T11:59:31Z", text: " hello\n world " },
    ];
    expect(query(items)).toBe("ours");
    expect(query(items.slice(0, 3))).toBeNull();
  });

  it("chooses the earliest of several matches, whatever the vendor's order", () => {
    const items: Item[] = [
      { id: "later", by: "integration", at: "2026-12-06T12:00:05Z", text: "hello world" },
      { id: "earlier", by: "integration", at: "2026-12-06T12:00:01Z", text: "hello world" },
    ];
    expect(query(items)).toBe("earlier");
    expect(query([...items].reverse())).toBe("earlier");
  });

  it("counts any author without an identity, an unknown time as inside, and applies the vendor's conditions", () => {
    const items: Item[] = [
      { id: "internal", by: null, at: null, text: "hello world", public: false },
      { id: "public", by: null, at: null, text: "hello world", public: true },
    ];
    expect(query(items)).toBeNull();
    expect(query(items, { identity: null })).toBe("internal");
    expect(query(items, { identity: null, also: (item) => item.public === true })).toBe("public");
  });

  it("accepts any time without `since`, and trusts a read already filtered by time", () => {
    const old: Item = { id: "old", by: "integration", at: "2020-01-01T00:00:00Z", text: "hello world" };
    expect(query([old])).toBeNull();
    expect(query([old], { since: null })).toBe("old");
    const { createdAtMs: _, ...untimed } = {
      text: "hello world",
      textOf: (item: Item) => item.text,
      identity: "integration",
      authorOf: (item: Item) => item.by,
      since,
      createdAtMs: undefined,
    };
    expect(findOwnWrite([old], untimed)?.id).toBe("old");
  });
});
