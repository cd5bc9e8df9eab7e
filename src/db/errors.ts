import { sqlState } from "./client.js";

// Driver codes (postgres.js, Node sockets) and SQLSTATEs that mean "the database is not reachable now":
// class 08 connection exceptions, 57P01-57P03 shutdown / crash recovery / not yet accepting, 53300 too
// many connections. A request that meets one answers 503 with Retry-After instead of 500.
const UNAVAILABLE_DRIVER_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

function* causes(error: unknown): Generator<object> {
  const seen = new Set<unknown>();
  for (
    let e: unknown = error;
    e && typeof e === "object" && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    yield e;
    if (e instanceof AggregateError) for (const inner of e.errors) yield* causes(inner);
  }
}

export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state && (state.startsWith("08") || UNAVAILABLE_SQLSTATES.has(state))) return true;
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNAVAILABLE_DRIVER_CODES.has(code)) return true;
  }
  return false;
}

/** Whether the error came from the database driver (directly or wrapped by drizzle). */
export function isDatabaseError(error: unknown): boolean {
  for (const e of causes(error)) {
    const name = (e as { name?: unknown }).name;
    if (name === "PostgresError" || name === "DrizzleQueryError") return true;
    if ("query" in e && "params" in e) return true;
  }
  return sqlState(error) !== undefined || isDatabaseUnavailable(error);
}

/**
 * A name for the statement that failed, `verb table` (`insert idempotency_keys`), from the SQL text only:
 * the text holds `$n` placeholders, never values.
 */
export function statementName(sqlText: string): string {
  const text = sqlText.replace(/\s+/g, " ").trim();
  const verb = /^(\w+)/.exec(text)?.[1]?.toLowerCase() ?? "query";
  const target =
    verb === "select" || verb === "delete" || verb === "with"
      ? /\bfrom "?([\w.]+)"?/i.exec(text)?.[1]
      : verb === "insert"
        ? /\binto "?([\w.]+)"?/i.exec(text)?.[1]
        : verb === "update"
          ? /^update "?([\w.]+)"?/i.exec(text)?.[1]
          : undefined;
  return target ? `${verb} ${target}` : verb;
}

/**
 * What may be logged about a database error: SQLSTATE, the statement's name, the driver's code and the
 * constraint/table/column it names. Never the parameters, the server's message or its detail: both can
 * quote values (API-key hashes, Idempotency-Keys, comment bodies).
 */
export function describeDatabaseError(error: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { type: "DatabaseError" };
  const state = sqlState(error);
  if (state) out["sqlState"] = state;
  for (const e of causes(error)) {
    const record = e as Record<string, unknown>;
    if (typeof record["query"] === "string" && out["statement"] === undefined)
      out["statement"] = statementName(record["query"]);
    const code = record["code"];
    if (typeof code === "string" && code !== state && out["driverCode"] === undefined)
      out["driverCode"] = code;
    for (const [from, to] of [
      ["constraint_name", "constraint"],
      ["table_name", "table"],
      ["column_name", "column"],
      ["routine", "routine"],
    ] as const) {
      const value = record[from] ?? record[to === "constraint" ? "constraint" : to];
      if (typeof value === "string" && out[to] === undefined) out[to] = value;
    }
  }
  out["unavailable"] = isDatabaseUnavailable(error);
  return out;
}
