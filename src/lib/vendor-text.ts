import { LONE_SURROGATE, NUL } from "../../schemas/common.js";

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

export interface TextRepair {
  /** Where in the value (`comments[2].body`). */
  path: string;
  /** NUL characters removed. */
  nul: number;
  /** Unpaired UTF-16 surrogates replaced by U+FFFD. */
  surrogates: number;
}

/**
 * Makes vendor text storable in PostgreSQL without refusing the record (the vendor, not our client, wrote
 * it): NUL characters are removed and unpaired surrogates become U+FFFD. Pure; walks plain objects and
 * arrays, and reports each repaired path so the caller can ledger the fact.
 */
export function sanitizeVendorText<T>(value: T): { value: T; repairs: TextRepair[] } {
  const repairs: TextRepair[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === "string") {
      const nul = v.split(NUL).length - 1;
      const surrogates = v.match(LONE_SURROGATES)?.length ?? 0;
      if (nul === 0 && surrogates === 0) return v;
      repairs.push({ path, nul, surrogates });
      return v.replaceAll(NUL, "").replace(LONE_SURROGATES, "\uFFFD");
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${path}[${i}]`));
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(
        Object.entries(v).map(([k, item]) => [k, walk(item, path === "" ? k : `${path}.${k}`)]),
      );
    }
    return v;
  };
  return { value: walk(value, "") as T, repairs };
}
