import type { CarrierClient, ServicedeskClient } from "../../connectors/sdk/index.js";
import type { EngineDeps } from "../services/context.js";
import type { LoadedConnection } from "./connections.js";

const servicedeskClients = new Map<string, { version: number; client: ServicedeskClient }>();
const carrierClients = new Map<string, { version: number; client: CarrierClient }>();

function clientDeps(engine: EngineDeps) {
  return {
    ...(engine.fetch ? { fetch: engine.fetch } : {}),
    timeoutMs: engine.sync.httpTimeoutMs,
    retry: { retries: engine.sync.httpRetries, minTimeoutMs: 200, maxTimeoutMs: 5_000 },
  };
}

/** One client per connection and settings version, so OAuth tokens and rate-limit state are reused. */
export function servicedeskClientFor(engine: EngineDeps, loaded: LoadedConnection): ServicedeskClient {
  if (loaded.connector.kind !== "servicedesk")
    throw new Error(`${loaded.row.type} is not a servicedesk connector`);
  const version = loaded.row.updatedAt.getTime();
  const cached = servicedeskClients.get(loaded.row.id);
  if (cached && cached.version === version) return cached.client;
  const client = loaded.connector.createClient(loaded.settings, {
    ...clientDeps(engine),
    mapping: loaded.connector.mappingContext(loaded.settings),
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
