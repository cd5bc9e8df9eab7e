import { mefSonata } from "./mef-sonata/index.js";
import type { CarrierConnector, Connector, ConnectorType } from "./sdk/index.js";
import { servicenow } from "./servicenow/index.js";
import { tmf621 } from "./tmf621/index.js";
import { zendesk } from "./zendesk/index.js";

// Partial until jsm lands; then this becomes `satisfies Record<ConnectorType, ...>` so a missing
// connector fails tsc.
export const connectors = { servicenow, zendesk, tmf621, "mef-sonata": mefSonata } satisfies Partial<
  // biome-ignore lint/suspicious/noExplicitAny: each entry has its own settings type; callers narrow by key
  Record<ConnectorType, Connector<any, any> | CarrierConnector<any>>
>;

export type ConnectorRegistry = typeof connectors;
