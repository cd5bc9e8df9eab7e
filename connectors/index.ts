import { jsm } from "./jsm/index.js";
import { mefSonata } from "./mef-sonata/index.js";
import type { CarrierConnector, Connector } from "./sdk/index.js";
import { servicenow } from "./servicenow/index.js";
import { tmf621 } from "./tmf621/index.js";
import { zendesk } from "./zendesk/index.js";

// biome-ignore lint/suspicious/noExplicitAny: each entry has its own settings type; callers narrow by key
type AnyConnector = Connector<any, any> | CarrierConnector<any>;

/**
 * The one list of connectors: a connector is its folder plus one line here. Every other list of connector
 * types (the SDK's `ConnectorType`, the API's `type` enum, the priority schemes, the conformance kit) is
 * derived from this object. Each key equals its connector's `type` (tested).
 */
export const connectors = {
  servicenow,
  jsm,
  zendesk,
  tmf621,
  "mef-sonata": mefSonata,
} satisfies Record<string, AnyConnector>;

export type ConnectorRegistry = typeof connectors;
/** Every connector type the gateway knows. */
export type ConnectorType = keyof ConnectorRegistry;
/** The registry's keys in registration order, as a non-empty tuple for `z.enum`. */
export const connectorTypes = Object.keys(connectors) as [ConnectorType, ...ConnectorType[]];
