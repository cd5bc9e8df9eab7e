import { parseRetryAfter } from "../sdk/index.js";

// Zendesk reports its budgets on every response, so the client can wait before sending instead
// of spending a request on a 429:
// https://developer.zendesk.com/api-reference/introduction/rate-limits/
// - `X-Rate-Limit` / `X-Rate-Limit-Remaining`: the account's per-minute budget (no reset given);
// - `ratelimit-limit` / `ratelimit-remaining` / `ratelimit-reset`: the same, with seconds to reset;
// - `Zendesk-RateLimit-<name>: total=100; remaining=99; resets=41`: an endpoint's own budget;
// - incremental exports allow 10 requests a minute and say so only with a 429.

/** Zendesk's per-minute windows: a budget seen without a reset time is assumed to refill within this. */
const assumedWindowMs = 60_000;

interface Budget {
  remaining: number;
  resetAtMs: number;
  /** Request class it limits; `null` for account-wide budgets. */
  requestClass: string | null;
}

export interface RateLimiterOptions {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Requests a minute allowed to `/api/v2/incremental/*`. */
  incrementalPerMinute: number;
}

/** `GET /api/v2/tickets/123/comments.json` -> `GET /api/v2/tickets/{id}/comments`: what a budget applies to. */
export function requestClassOf(method: string, pathOrUrl: string): string {
  const path = pathOrUrl.startsWith("/") ? pathOrUrl.split("?")[0]! : new URL(pathOrUrl).pathname;
  return `${method.toUpperCase()} ${path.replace(/\.json$/, "").replace(/\/\d+(?=\/|$)/g, "/{id}")}`;
}

function isIncremental(requestClass: string): boolean {
  return requestClass.includes(" /api/v2/incremental/");
}

function integerHeader(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  if (value === null || !/^\s*-?\d+\s*$/.test(value)) return null;
  return Number(value);
}

/** Parses `total=100; remaining=99; resets=41`. */
function parseEndpointBudget(value: string): { remaining: number; resetsSeconds: number } | null {
  const fields = new Map(
    value.split(";").map((part) => {
      const [key = "", raw = ""] = part.split("=").map((piece) => piece.trim());
      return [key.toLowerCase(), raw] as const;
    }),
  );
  const remaining = Number(fields.get("remaining"));
  const resets = Number(fields.get("resets"));
  if (!Number.isFinite(remaining) || !Number.isFinite(resets)) return null;
  return { remaining, resetsSeconds: resets };
}

/**
 * Keeps one client's view of its Zendesk budgets and makes requests wait while one is spent.
 * Remaining counts are decremented locally as requests go out, so concurrent calls of the same
 * client do not all spend the last unit; every response then corrects them from its headers.
 */
export class ZendeskRateLimiter {
  private readonly budgets = new Map<string, Budget>();
  private readonly blockedUntilMs = new Map<string, number>();
  private readonly incrementalStartsMs: number[] = [];
  /** Milliseconds spent waiting, for logs and tests. */
  waitedMs = 0;

  constructor(private readonly options: RateLimiterOptions) {}

  /** Waits until `requestClass` may be sent, then reserves one unit of every budget it spends. */
  async acquire(requestClass: string): Promise<void> {
    for (let waitMs = this.waitMs(requestClass); waitMs > 0; waitMs = this.waitMs(requestClass)) {
      this.waitedMs += waitMs;
      await this.options.sleep(waitMs);
    }
    for (const budget of this.applicable(requestClass)) budget.remaining -= 1;
    if (isIncremental(requestClass)) this.incrementalStartsMs.push(this.options.now());
  }

  /** The smallest account-wide budget still in its window, or null when none is known. */
  accountBudget(): { remaining: number; resetAtMs: number } | null {
    const now = this.options.now();
    let lowest: { remaining: number; resetAtMs: number } | null = null;
    for (const budget of this.budgets.values()) {
      if (budget.requestClass !== null || budget.resetAtMs <= now) continue;
      if (lowest === null || budget.remaining < lowest.remaining) lowest = budget;
    }
    return lowest === null ? null : { remaining: Math.max(0, lowest.remaining), resetAtMs: lowest.resetAtMs };
  }

  /** Reads the budgets a response reports. */
  observe(requestClass: string, status: number, headers: Headers): void {
    const now = this.options.now();
    const resetSeconds = integerHeader(headers, "ratelimit-reset");
    const accountRemaining = integerHeader(headers, "x-rate-limit-remaining");
    if (accountRemaining !== null) {
      this.budgets.set("account", {
        remaining: accountRemaining,
        resetAtMs: now + (resetSeconds === null ? assumedWindowMs : resetSeconds * 1000),
        requestClass: null,
      });
    }
    const remaining = integerHeader(headers, "ratelimit-remaining");
    if (remaining !== null) {
      this.budgets.set("ratelimit", {
        remaining,
        resetAtMs: now + (resetSeconds === null ? assumedWindowMs : resetSeconds * 1000),
        requestClass: null,
      });
    }
    for (const [name, value] of headers) {
      if (!name.startsWith("zendesk-ratelimit-")) continue;
      const budget = parseEndpointBudget(value);
      if (budget === null) continue;
      this.budgets.set(`${name} ${requestClass}`, {
        remaining: budget.remaining,
        resetAtMs: now + budget.resetsSeconds * 1000,
        requestClass,
      });
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(headers.get("retry-after"), new Date(now)) ?? assumedWindowMs;
      this.blockedUntilMs.set(requestClass, now + retryAfterMs);
    }
  }

  private applicable(requestClass: string): Budget[] {
    return [...this.budgets.values()].filter(
      (budget) => budget.requestClass === null || budget.requestClass === requestClass,
    );
  }

  private waitMs(requestClass: string): number {
    const now = this.options.now();
    let untilMs = this.blockedUntilMs.get(requestClass) ?? 0;
    for (const [key, budget] of this.budgets) {
      if (budget.resetAtMs <= now) {
        // The window has refilled; until the next response says otherwise the budget is unknown.
        this.budgets.delete(key);
        continue;
      }
      if ((budget.requestClass === null || budget.requestClass === requestClass) && budget.remaining <= 0) {
        untilMs = Math.max(untilMs, budget.resetAtMs);
      }
    }
    if (isIncremental(requestClass)) {
      while ((this.incrementalStartsMs[0] ?? Number.POSITIVE_INFINITY) <= now - 60_000) {
        this.incrementalStartsMs.shift();
      }
      const oldest = this.incrementalStartsMs[0];
      if (oldest !== undefined && this.incrementalStartsMs.length >= this.options.incrementalPerMinute) {
        untilMs = Math.max(untilMs, oldest + 60_000);
      }
    }
    return Math.max(0, untilMs - now);
  }
}
