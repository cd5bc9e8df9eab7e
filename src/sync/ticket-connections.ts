import { and, eq, inArray, sql } from "drizzle-orm";
import { queryRows, type Tx } from "../db/client.js";
import { connections } from "../db/schema/index.js";

/** The tenant's servicedesk connections that write outbound, active or paused (a paused one's jobs wait). */
export function outboundServicedesks(tx: Tx, tenantId: string) {
  return tx
    .select()
    .from(connections)
    .where(
      and(
        eq(connections.tenantId, tenantId),
        inArray(connections.status, ["active", "paused"]),
        eq(connections.role, "servicedesk"),
        inArray(connections.direction, ["both", "outbound"]),
      ),
    );
}

/**
 * Which of `connectionIds` track the ticket: linked to a vendor record, or with the ticket's create queued
 * (pending, or dead and waiting for an operator). One round trip; the job side reads the (connection, order key)
 * index, so the cost does not grow with the jobs table.
 */
export async function connectionsTrackingTicket(
  tx: Tx,
  ticketId: string,
  connectionIds: readonly string[],
): Promise<Set<string>> {
  if (connectionIds.length === 0) return new Set();
  const ids = sql.join(
    connectionIds.map((id) => sql`${id}`),
    sql`, `,
  );
  const rows = await queryRows<{ connection_id: string }>(
    tx,
    sql`select connection_id from external_links where ticket_id = ${ticketId} and connection_id in (${ids})
        union
        select connection_id from jobs
        where connection_id in (${ids}) and order_key = ${ticketId} and kind = 'ticket.create'
          and status in ('pending', 'dead')`,
  );
  return new Set(rows.map((row) => row.connection_id));
}
