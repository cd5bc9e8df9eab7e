import { GatewayError } from "../errors.js";

/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(value: string | number): string {
  return Buffer.from(JSON.stringify({ k: value })).toString("base64url");
}

export function decodeCursor<T extends string | number>(
  cursor: string | undefined,
  type: "string" | "number",
): T | null {
  if (cursor === undefined) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { k?: unknown };
    if (typeof parsed.k === type) return parsed.k as T;
  } catch {
    // fall through to the problem below
  }
  throw new GatewayError("VALIDATION_FAILED", "The cursor is not one this API issued.", {
    errors: [{ path: "cursor", message: "invalid cursor" }],
  });
}

/** Takes limit+1 rows and turns the extra one into a nextCursor. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => string | number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
