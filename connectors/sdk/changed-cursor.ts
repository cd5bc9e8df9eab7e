// The cursor of ServicedeskClient.listChangedSince, shared by the connectors: "<ISO instant>" or
// "<ISO instant>|<key>". The instant is inclusive (a change landing in the same second as the last one read is
// read again, and the engine de-duplicates); the key is a tie-break used only when a whole page fell inside
// one instant, so a crowded instant is walked by key instead of being read forever.

/** A parsed changed-since position. */
export interface ChangedCursor {
  /** ISO-8601 UTC, milliseconds dropped when the vendor has whole seconds. */
  since: string;
  sinceMs: number;
  /** Inside the instant `since`, the last key already read; null outside a crowded instant. */
  afterKey: string | null;
}

/** Where a walk starts when the engine gives no cursor and the vendor has nothing yet. */
export const changedCursorEpoch = "1970-01-01T00:00:00Z";

/**
 * Parses a cursor; null or "" is "from the beginning" (null). Any ISO-8601 instant is a valid starting cursor
 * (the engine starts a connection at its creation time). `isKey` validates the tie-break (a key spliced into
 * a vendor query must be one).
 */
export function parseChangedCursor(
  cursor: string | null,
  options: { isKey?: (key: string) => boolean; vendor?: string } = {},
): ChangedCursor | null {
  if (cursor === null || cursor === "") return null;
  const [instant = "", afterKey] = cursor.split("|");
  const sinceMs = Date.parse(instant);
  if (Number.isNaN(sinceMs) || (afterKey !== undefined && options.isKey?.(afterKey) === false)) {
    throw new RangeError(
      `not a ${options.vendor ?? ""}${options.vendor ? " " : ""}changed-since cursor: ${cursor}`,
    );
  }
  return {
    since: new Date(sinceMs).toISOString().replace(".000Z", "Z"),
    sinceMs,
    afterKey: afterKey ?? null,
  };
}

/**
 * The cursor after a page read in (instant, key) order: the last record's instant, plus its key when the page
 * was full and all in that one instant. An empty page keeps `previous` (or starts at the epoch).
 */
export function nextChangedCursor<T>(
  items: readonly T[],
  limit: number,
  read: (item: T) => { updatedAt: string; key: string },
  previous: string | null,
): string {
  const last = items.at(-1);
  if (last === undefined) return previous ?? changedCursorEpoch;
  const { updatedAt, key } = read(last);
  const crowded = items.length >= limit && items.every((item) => read(item).updatedAt === updatedAt);
  return crowded ? `${updatedAt}|${key}` : updatedAt;
}

/**
 * Whether a record read with an inclusive lower bound is still new to the cursor: after its instant, or in
 * it and after its tie-break key (`compareKeys` orders keys as the vendor's query does).
 */
export function isPastChangedCursor(
  position: ChangedCursor | null,
  updatedMs: number,
  key: string,
  compareKeys: (left: string, right: string) => number = (left, right) =>
    left < right ? -1 : left > right ? 1 : 0,
): boolean {
  if (position === null) return true;
  if (updatedMs !== position.sinceMs) return updatedMs > position.sinceMs;
  return position.afterKey === null || compareKeys(key, position.afterKey) > 0;
}
