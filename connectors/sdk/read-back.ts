// Comment, note and work-log appends are not idempotent at most vendors. A retry (`attempt > 1`) first reads
// back what is there and does not write again when the earlier attempt landed. What "the same text" means is
// the vendor's (markup, whitespace, a prefix it adds); the rest is this one rule, shared by every connector.

/** How far before the first attempt a write of ours may be stamped: the distance between the vendor's clock and ours. */
export const defaultReadBackClockSkewMs = 60_000;

/** The earliest instant a write of ours since `since` can carry in the vendor's clock. */
export function readBackWindowStart(since: Date, clockSkewMs = defaultReadBackClockSkewMs): Date {
  return new Date(since.getTime() - clockSkewMs);
}

export interface OwnWriteQuery<Item> {
  /** What we wrote, in the comparable form `textOf` gives (the connector normalises both the same way). */
  text: string;
  textOf(item: Item): string;
  /**
   * Our identity at the vendor, compared with `authorOf`; `null` when the connector cannot tell authors apart
   * (then any author counts, and the text and time must do).
   */
  identity: string | null;
  authorOf(item: Item): string | null | undefined;
  /** When the first attempt started; `null` accepts any time (a look-up for text we never write twice). */
  since: Date | null;
  /**
   * The item's creation instant (ms since the epoch; `null` or `NaN` when the vendor did not say, which counts
   * as inside the window). Leave it out when the items were read with the window as a filter already.
   */
  createdAtMs?(item: Item): number | null;
  clockSkewMs?: number;
  /** The vendor's further conditions, such as the same visibility. */
  also?(item: Item): boolean;
}

/**
 * Our own earlier write among `items`: written by the integration identity, inside the window from `since`
 * (less the clock skew), with the same text, and meeting `also`. Of several, the earliest-created (the first
 * in list order when equal or unknown): later retries then keep linking the same one.
 */
export function findOwnWrite<Item>(items: readonly Item[], query: OwnWriteQuery<Item>): Item | null {
  const windowStart =
    query.since === null ? null : readBackWindowStart(query.since, query.clockSkewMs).getTime();
  let found: { item: Item; at: number } | null = null;
  for (const item of items) {
    if (query.identity !== null && query.authorOf(item) !== query.identity) continue;
    const at = query.createdAtMs?.(item) ?? Number.NaN;
    if (windowStart !== null && !Number.isNaN(at) && at < windowStart) continue;
    if (query.textOf(item) !== query.text) continue;
    if (query.also !== undefined && !query.also(item)) continue;
    if (found === null || (!Number.isNaN(at) && !Number.isNaN(found.at) && at < found.at))
      found = { item, at };
  }
  return found?.item ?? null;
}
