import type { ServicedeskClient } from "../../connectors/sdk/index.js";
import type { Tx } from "../db/client.js";
import type { tickets } from "../db/schema/index.js";
import type { EngineDeps } from "../services/context.js";
import { loadConnectionRow } from "./connections.js";
import { connectionsTrackingTicket, outboundServicedesks } from "./ticket-connections.js";

/**
 * The servicedesk connections of the ticket's tenant, other than the one it came from, a file or a work log
 * should be copied to: active, writing outbound, tracking the ticket (linked, or its create pending) and able
 * to take it (`canTake` asks the connector's client).
 */
export async function servicedeskCopyTargets(
  tx: Tx,
  engine: EngineDeps,
  ticket: typeof tickets.$inferSelect,
  sourceConnectionId: string | null,
  canTake: (client: ServicedeskClient) => boolean,
): Promise<string[]> {
  const candidates = await outboundServicedesks(tx, ticket.tenantId);
  const others = candidates.filter((connection) => connection.id !== sourceConnectionId);
  if (others.length === 0) return [];
  const tracked = await connectionsTrackingTicket(
    tx,
    ticket.id,
    others.map((connection) => connection.id),
  );
  const targets: string[] = [];
  for (const connection of others) {
    if (!tracked.has(connection.id)) continue;
    const target = loadConnectionRow(engine, connection);
    if (target.connector.kind !== "servicedesk") continue;
    // Building a client does no I/O; it tells what the connector can take.
    const client = target.connector.createClient(target.settings, {
      mapping: target.connector.mappingContext(target.settings),
    });
    if (canTake(client)) targets.push(connection.id);
  }
  return targets;
}
