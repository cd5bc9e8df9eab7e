import type { ExternalTicket } from "../../connectors/sdk/index.js";
import type { Tx } from "../db/client.js";
import { appendLedger } from "../ledger/append.js";
import { sanitizeVendorText } from "../lib/vendor-text.js";
import type { LoadedConnection } from "./connections.js";

/**
 * A re-read vendor record made storable (NUL removed, unpaired surrogates as U+FFFD), with a
 * `sync.text_repaired` ledger entry naming the repaired fields when anything changed.
 */
export async function storableVendorRecord(
  tx: Tx,
  loaded: LoadedConnection,
  external: ExternalTicket,
): Promise<ExternalTicket> {
  const { value, repairs } = sanitizeVendorText(external);
  if (repairs.length === 0) return external;
  await appendLedger(tx, [
    {
      tenantId: loaded.row.tenantId,
      connectionId: loaded.row.id,
      direction: "inbound",
      kind: "sync.text_repaired",
      actor: { type: "connection", id: loaded.row.id },
      side: loaded.connector.kind === "carrier" ? "carrier" : "client",
      externalId: external.externalId,
      detail: {
        connector: loaded.row.type,
        fields: repairs.map((r) => r.path).slice(0, 50),
        nulRemoved: repairs.reduce((n, r) => n + r.nul, 0),
        surrogatesReplaced: repairs.reduce((n, r) => n + r.surrogates, 0),
      },
    },
  ]);
  return value;
}
