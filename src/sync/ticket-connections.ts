import { and, eq, inArray, sql } from "drizzle-orm";
import { type Queryable, queryRows, type Tx } from "../db/client.js";
import { connections, tenants, tickets } from "../db/schema/index.js";
import { tableRows } from "../db/table-rows.js";
import type { ConnectionRow } from "./connections.js";

type TenantRow = typeof tenants.$inferSelect;

/** Which connections of the tenant (`tenantId`, a value or a column) write outbound. */
function outboundOf(tenantId: string | typeof tenants.id | typeof tickets.tenantId) {
  return and(
    eq(connections.tenantId, tenantId),
    inArray(connections.status, ["active", "paused"]),
    eq(connections.role, "servicedesk"),
    inArray(connections.direction, ["both", "outbound"]),
  );
}

// Read on every ticket write: selected raw, their select lists built once (src/db/table-rows.ts).
const tenantRows = tableRows(tenants);
const ticketRows = tableRows(tickets);
const connectionRows = tableRows(connections);

/** The connections a left join brought, one per row (none: a row with a null connection). */
function joinedConnections(rows: Record<string, unknown>[]): ConnectionRow[] {
  return rows.flatMap((row) => {
    const connection = connectionRows.rowOf(row);
    return connection ? [connection] : [];
  });
}

/** The tenant's servicedesk connections that write outbound, active or paused (a paused one's jobs wait). */
export function outboundServicedesks(tx: Tx, tenantId: string) {
  return tx.select().from(connections).where(outboundOf(tenantId));
}

/**
 * A tenant's row (undefined when there is none) with its {@link outboundServicedesks}, in one query: what a
 * ticket's creation reads (default priority, SLA clocks, outbound queueing), so a tenant without connections
 * costs no second query.
 */
export async function tenantWithOutbound(
  tx: Tx,
  tenantId: string,
): Promise<{ tenant: TenantRow | undefined; outbound: ConnectionRow[] }> {
  const rows = await queryRows<Record<string, unknown>>(
    tx,
    sql`select ${tenantRows.columns}, ${connectionRows.columns}
        from ${tenants} left join ${connections} on ${outboundOf(tenants.id)}
        where ${eq(tenants.id, tenantId)}`,
  );
  return { tenant: tenantRows.rowOf(rows[0]), outbound: joinedConnections(rows) };
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

/**
 * The ticket's row locked FOR UPDATE (undefined when there is none) with its tenant's
 * {@link outboundServicedesks}, in one query: what an update or a comment reads before queueing its outbound
 * jobs. Only the ticket's row is locked; the connections are those of the ticket's own tenant.
 */
export async function lockTicketWithOutbound(
  tx: Tx,
  ticketId: string,
): Promise<{ ticket: typeof tickets.$inferSelect | undefined; outbound: ConnectionRow[] }> {
  const rows = await queryRows<Record<string, unknown>>(
    tx,
    sql`select ${ticketRows.columns}, ${connectionRows.columns}
        from ${tickets} left join ${connections} on ${outboundOf(tickets.tenantId)}
        where ${eq(tickets.id, ticketId)}
        for update of ${tickets}`,
  );
  return { ticket: ticketRows.rowOf(rows[0]), outbound: joinedConnections(rows) };
}

/** A ticket's row (undefined when there is none), locked FOR UPDATE when `lock`: read raw, as above. */
export async function ticketById(
  db: Queryable,
  ticketId: string,
  lock = false,
): Promise<typeof tickets.$inferSelect | undefined> {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`select ${ticketRows.columns} from ${tickets} where ${eq(tickets.id, ticketId)}${lock ? sql` for update` : sql``}`,
  );
  return ticketRows.rowOf(row);
}
