import type { CarrierConnector, Connector, ConnectorType } from "./sdk/index.js";
import { servicenow } from "./servicenow/index.js";

// Partial until jsm, zendesk, tmf621 and mef-sonata land; then this becomes
// `satisfies Record<ConnectorType, ...>` so a missing connector fails tsc.
export const connectors = { servicenow } satisfies Partial<
  // biome-ignore lint/suspicious/noExplicitAny: each entry has its own settings type; callers narrow by key
  Record<ConnectorType, Connector<any, any> | CarrierConnector<any>>
>;

export type ConnectorRegistry = typeof connectors;
