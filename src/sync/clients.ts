import {
  type CarrierClient,
  createGuardedFetch,
  OutboundBlockedError,
  type Resolver,
  type ServicedeskClient,
} from "../../connectors/sdk/index.js";
import type { PriorityTableOverride } from "../../schemas/priority.js";
import { prioritySchemeOf } from "../domain/priority-schemes.js";
import { methodLabel, vendorRequestDuration } from "../observability/metrics.js";
import { inSpan, SpanKind } from "../observability/tracing.js";
import type { EngineDeps, ServiceContext } from "../services/context.js";
import { type LoadedConnection, visibleConnection } from "./connections.js";
import type { ServicedeskConnector } from "./registry.js";
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

function outcomeOfStatus(status: number): string {
  return status === 429 ? "429" : `${Math.floor(status / 100)}xx`;
}

function outcomeOfFailure(error: unknown): string {
  if (error instanceof OutboundBlockedError) return "blocked";
  const name = error instanceof Error ? error.name : "";
  return name === "TimeoutError" || name === "AbortError" ? "timeout" : "network_error";
}

/**
 * Every vendor call of a connection's client: timed per connector type (never the URL) and, when tracing,
 * a client span with the host only (paths and queries can carry ids and secrets).
 */
function measuredFetch(guarded: typeof fetch, connector: string): typeof fetch {
  return (input, init) => {
    const request = input instanceof Request ? input : null;
    const method = methodLabel(init?.method ?? request?.method ?? "GET");
    const target = new URL(request?.url ?? String(input));
    return inSpan(
      method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "http.request.method": method,
          "server.address": target.hostname,
          "connector.type": connector,
        },
      },
      async (span) => {
        const started = performance.now();
        let outcome = "network_error";
        try {
          const response = await guarded(input, init);
          outcome = outcomeOfStatus(response.status);
          span?.setAttribute("http.response.status_code", response.status);
          return response;
        } catch (error) {
          outcome = outcomeOfFailure(error);
          throw error;
        } finally {
          vendorRequestDuration.observe({ connector, method, outcome }, (performance.now() - started) / 1000);
        }
      },
    );
  };
}

function clientDeps(engine: EngineDeps, connector: string) {
  return {
    fetch: measuredFetch(outboundFetchFor(engine), connector),
    maxResponseBytes: engine.sync.maxResponseBytes,
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
    ...clientDeps(engine, loaded.row.type),
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
  const client = loaded.connector.createCarrierClient(loaded.settings, clientDeps(engine, loaded.row.type));
  carrierClients.set(loaded.row.id, { version, client });
  return client;
}

/** Checks reachability and credentials of a connection the caller may see (the API's and the console's test). */
export async function testConnection(ctx: ServiceContext, id: string) {
  const loaded = await visibleConnection(ctx, id);
  return loaded.connector.kind === "carrier"
    ? carrierClientFor(ctx.engine, loaded).testConnection()
    : servicedeskClientFor(ctx.engine, loaded).testConnection();
}
