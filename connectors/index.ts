import type { Connector, ConnectorType } from "./sdk/index.js";
import { servicenow } from "./servicenow/index.js";

// Partial until jsm, zendesk, tmf621 and mef-sonata land; then this becomes
// `satisfies Record<ConnectorType, Connector<any>>` so a missing connector fails tsc.
// biome-ignore lint/suspicious/noExplicitAny: each entry has its own settings type; callers narrow by key
export const connectors = { servicenow } satisfies Partial<Record<ConnectorType, Connector<any>>>;

export type ConnectorRegistry = typeof connectors;
