import { describe, expect, it } from "vitest";
import {
  changedCursorEpoch,
  isPastChangedCursor,
  nextChangedCursor,
  parseChangedCursor,
} from "../changed-cursor.js";

const read = (item: { at: string; id: string }) => ({ updatedAt: item.at, key: item.id });

describe("the changed-since cursor", () => {
  it("parses an instant, an instant with a tie-break, and refuses what is neither", () => {
    expect(parseChangedCursor(null)).toBeNull();
    expect(parseChangedCursor("")).toBeNull();
    expect(parseChangedCursor("2026-03-02T09:30:00.000Z")).toEqual({
      since: "2026-03-02T09:30:00Z",
      sinceMs: Date.parse("2026-03-02T09:30:00Z"),
      afterKey: null,
    });
    expect(parseChangedCursor("2026-03-02T10:30:00+01:00|HELP-7")?.afterKey).toBe("HELP-7");
    expect(() => parseChangedCursor("yesterday")).toThrow(RangeError);
    expect(() =>
      parseChangedCursor("2026-03-02T09:30:00Z|x^y", { isKey: (key) => /^\w+$/.test(key), vendor: "Test" }),
    ).toThrow("not a Test changed-since cursor");
  });

  it("adds the tie-break only when a full page fell inside one instant", () => {
    const crowded = [
      { at: "2026-03-02T09:30:00Z", id: "a" },
      { at: "2026-03-02T09:30:00Z", id: "b" },
    ];
    expect(nextChangedCursor(crowded, 2, read, null)).toBe("2026-03-02T09:30:00Z|b");
    // Not full: the next read starts at the instant again (inclusive) and finds anything newer in it.
    expect(nextChangedCursor(crowded, 3, read, null)).toBe("2026-03-02T09:30:00Z");
    const spread = [{ at: "2026-03-02T09:29:59Z", id: "z" }, ...crowded];
    expect(nextChangedCursor(spread, 3, read, null)).toBe("2026-03-02T09:30:00Z");
    expect(nextChangedCursor([], 3, read, "2026-01-01T00:00:00Z")).toBe("2026-01-01T00:00:00Z");
    expect(nextChangedCursor([], 3, read, null)).toBe(changedCursorEpoch);
  });

  it("walks a crowded instant by key and keeps everything after it", () => {
    const position = parseChangedCursor("2026-03-02T09:30:00Z|b");
    const at = Date.parse("2026-03-02T09:30:00Z");
    expect(isPastChangedCursor(position, at, "a")).toBe(false);
    expect(isPastChangedCursor(position, at, "b")).toBe(false);
    expect(isPastChangedCursor(position, at, "c")).toBe(true);
    expect(isPastChangedCursor(position, at - 1000, "z")).toBe(false);
    expect(isPastChangedCursor(position, at + 1000, "a")).toBe(true);
    // Without a tie-break the instant itself is read again (the engine de-duplicates).
    expect(isPastChangedCursor(parseChangedCursor("2026-03-02T09:30:00Z"), at, "a")).toBe(true);
    // Keys ordered as the vendor orders them: HELP-10 after HELP-9.
    const numeric = (left: string, right: string) => Number(left.split("-")[1]) - Number(right.split("-")[1]);
    expect(
      isPastChangedCursor(parseChangedCursor("2026-03-02T09:30:00Z|HELP-9"), at, "HELP-10", numeric),
    ).toBe(true);
  });
});
