import type { CarrierClient, ServicedeskClient } from "../../connectors/sdk/index.js";
import type { PriorityTableOverride } from "../../schemas/priority.js";
import { prioritySchemeOf } from "../domain/priority-schemes.js";
import type { EngineDeps } from "../services/context.js";
import type { LoadedConnection } from "./connections.js";
import type { ServicedeskConnector } from "./registry.js";

const servicedeskClients = new Map<string, { version: string; client: ServicedeskClient }>();
const carrierClients = new Map<string, { version: number; client: CarrierClient }>();

function clientDeps(engine: EngineDeps) {
  return {
    ...(engine.fetch ? { fetch: engine.fetch } : {}),
    timeoutMs: engine.sync.httpTimeoutMs,
    retry: { retries: engine.sync.httpRetries, minTimeoutMs: 200, maxTimeoutMs: 5_000 },
  };
}

/** The tenant's override of the connector's own priority scheme, if it has one. */
function tenantPriorityOverrideOf(loaded: LoadedConnection): PriorityTableOverride | undefined {
  const scheme = prioritySchemeOf(loaded.connector);
  return scheme ? (loaded.tenantPriorityOverrides?.[scheme] as PriorityTableOverride | undefined) : undefined;
}

/** The connector's translation context for this connection, with the tenant's priority override (the connection's own wins). */
export function mappingContextFor(loaded: LoadedConnection & { connector: ServicedeskConnector }): unknown {
  const tenantPriorityOverride = tenantPriorityOverrideOf(loaded);
  return loaded.connector.mappingContext(
    loaded.settings,
    tenantPriorityOverride ? { tenantPriorityOverride } : {},
  );
}

/** One client per connection and settings version, so OAuth tokens and rate-limit state are reused. */
export function servicedeskClientFor(engine: EngineDeps, loaded: LoadedConnection): ServicedeskClient {
  if (loaded.connector.kind !== "servicedesk")
    throw new Error(`${loaded.row.type} is not a servicedesk connector`);
  const version = `${loaded.row.updatedAt.getTime()}:${JSON.stringify(tenantPriorityOverrideOf(loaded) ?? null)}`;
  const cached = servicedeskClients.get(loaded.row.id);
  if (cached && cached.version === version) return cached.client;
  const client = loaded.connector.createClient(loaded.settings, {
    ...clientDeps(engine),
    mapping: mappingContextFor({ ...loaded, connector: loaded.connector }),
  });
  servicedeskClients.set(loaded.row.id, { version, client });
  return client;
}

export function carrierClientFor(engine: EngineDeps, loaded: LoadedConnection): CarrierClient {
  if (loaded.connector.kind !== "carrier") throw new Error(`${loaded.row.type} is not a carrier connector`);
  const version = loaded.row.updatedAt.getTime();
  const cached = carrierClients.get(loaded.row.id);
  if (cached && cached.version === version) return cached.client;
  const client = loaded.connector.createCarrierClient(loaded.settings, clientDeps(engine));
  carrierClients.set(loaded.row.id, { version, client });
  return client;
}
