import {
  type CarrierClient,
  createGuardedFetch,
  type Resolver,
  type ServicedeskClient,
} from "../../connectors/sdk/index.js";
import type { EngineDeps } from "../services/context.js";
import type { LoadedConnection } from "./connections.js";
import type { SyncSettings } from "./settings.js";
import { outboundPolicyOf } from "./url-guard.js";

const servicedeskClients = new Map<string, { version: string; client: ServicedeskClient }>();
const carrierClients = new Map<string, { version: number; client: CarrierClient }>();

/** One guarded fetch (and so one connection pool) per settings object, rebuilt when the test doubles change. */
const guardedFetches = new WeakMap<
  SyncSettings,
  { base: typeof fetch | undefined; resolve: Resolver | undefined; fetch: typeof fetch }
>();

/** Every vendor call goes through the SDK's guarded fetch, which refuses internal addresses at connect time. */
export function outboundFetchFor(engine: EngineDeps): typeof fetch {
  const cached = guardedFetches.get(engine.sync);
  if (cached && cached.base === engine.fetch && cached.resolve === engine.resolve) return cached.fetch;
  const guarded = createGuardedFetch({
    ...outboundPolicyOf(engine.sync),
    ...(engine.fetch ? { fetch: engine.fetch } : {}),
    ...(engine.resolve ? { resolve: engine.resolve } : {}),
  });
  guardedFetches.set(engine.sync, { base: engine.fetch, resolve: engine.resolve, fetch: guarded });
  return guarded;
}

function clientDeps(engine: EngineDeps) {
  return {
    fetch: outboundFetchFor(engine),
    maxResponseBytes: engine.sync.maxResponseBytes,
    timeoutMs: engine.sync.httpTimeoutMs,
    retry: { retries: engine.sync.httpRetries, minTimeoutMs: 200, maxTimeoutMs: 5_000 },
  };
}

/** The priority scheme each servicedesk connector translates with (a tenant may override it). */
const prioritySchemeOf: Record<string, string> = {
  servicenow: "servicenow",
  zendesk: "zendesk",
  jsm: "jira",
};

/** The connection's settings, with the tenant's override of its priority scheme where the connection has none. */
function withTenantPriorities(loaded: LoadedConnection): Record<string, unknown> {
  const scheme = prioritySchemeOf[loaded.row.type];
  const tenantOverride = scheme ? loaded.tenantPriorityOverrides?.[scheme] : undefined;
  if (!tenantOverride || loaded.settings.priorityOverride !== undefined) return loaded.settings;
  return { ...loaded.settings, priorityOverride: tenantOverride };
}

/** One client per connection and settings version, so OAuth tokens and rate-limit state are reused. */
export function servicedeskClientFor(engine: EngineDeps, loaded: LoadedConnection): ServicedeskClient {
  if (loaded.connector.kind !== "servicedesk")
    throw new Error(`${loaded.row.type} is not a servicedesk connector`);
  const settings = withTenantPriorities(loaded);
  const version = `${loaded.row.updatedAt.getTime()}:${JSON.stringify(settings["priorityOverride"] ?? null)}`;
  const cached = servicedeskClients.get(loaded.row.id);
  if (cached && cached.version === version) return cached.client;
  const client = loaded.connector.createClient(settings, {
    ...clientDeps(engine),
    mapping: loaded.connector.mappingContext(settings),
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
