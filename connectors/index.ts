import { jsm } from "./jsm/index.js";
import { mefSonata } from "./mef-sonata/index.js";
import type { CarrierConnector, Connector, ConnectorType } from "./sdk/index.js";
import { servicenow } from "./servicenow/index.js";
import { tmf621 } from "./tmf621/index.js";
import { zendesk } from "./zendesk/index.js";

// biome-ignore lint/suspicious/noExplicitAny: each entry has its own settings type; callers narrow by key
type AnyConnector = Connector<any, any> | CarrierConnector<any>;

/** Exhaustive: a connector type without an entry here fails tsc. */
export const connectors = {
  servicenow,
  jsm,
  zendesk,
  tmf621,
  "mef-sonata": mefSonata,
} satisfies Record<ConnectorType, AnyConnector>;

export type ConnectorRegistry = typeof connectors;
