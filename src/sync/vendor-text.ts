import type { ExternalTicket } from "../../connectors/sdk/index.js";
import type { Tx } from "../db/client.js";
import { appendLedger, type LedgerEntryInput } from "../ledger/append.js";
import { sanitizeVendorText } from "../lib/vendor-text.js";
import type { LoadedConnection } from "./connections.js";

/**
 * A re-read vendor record made storable (NUL removed, unpaired surrogates as U+FFFD), with a
 * `sync.text_repaired` ledger entry naming the repaired fields when anything changed.
 */
export function storableVendorRecord(
  tx: Tx,
  loaded: LoadedConnection,
  external: ExternalTicket,
): Promise<ExternalTicket> {
  return storableVendorValue(tx, loaded, external, external.externalId);
}

/**
 * Any vendor value (a webhook notice, a carrier ticket, an attachment list) made storable the same way,
 * ledgered as `sync.text_repaired` against the vendor record it belongs to.
 */
export async function storableVendorValue<T>(
  tx: Tx,
  loaded: LoadedConnection,
  original: T,
  externalId: string | null,
): Promise<T> {
  const { value, repairEntry } = repairedVendorValue(loaded, original, externalId);
  if (repairEntry) await appendLedger(tx, [repairEntry]);
  return value;
}

/** The storable value and its `sync.text_repaired` entry (null when nothing changed), for the caller to append. */
export function repairedVendorValue<T>(
  loaded: LoadedConnection,
  original: T,
  externalId: string | null,
): { value: T; repairEntry: LedgerEntryInput | null } {
  const { value, repairs } = sanitizeVendorText(original);
  if (repairs.length === 0) return { value: original, repairEntry: null };
  return {
    value,
    repairEntry: {
      tenantId: loaded.row.tenantId,
      connectionId: loaded.row.id,
      direction: "inbound",
      kind: "sync.text_repaired",
      actor: { type: "connection", id: loaded.row.id },
      side: loaded.connector.kind === "carrier" ? "carrier" : "client",
      externalId,
      detail: {
        connector: loaded.row.type,
        fields: repairs.map((r) => r.path).slice(0, 50),
        nulRemoved: repairs.reduce((n, r) => n + r.nul, 0),
        surrogatesReplaced: repairs.reduce((n, r) => n + r.surrogates, 0),
      },
    },
  };
}
