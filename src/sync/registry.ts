import { connectors } from "../../connectors/index.js";
import type { CarrierConnector, Connector } from "../../connectors/sdk/index.js";

// biome-ignore lint/suspicious/noExplicitAny: the registry holds connectors of different settings types
export type AnyConnector = Connector<any, any> | CarrierConnector<any>;
// biome-ignore lint/suspicious/noExplicitAny: as above
export type ServicedeskConnector = Connector<any, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above
export type AnyCarrierConnector = CarrierConnector<any>;

export function connectorFor(type: string): AnyConnector | undefined {
  return (connectors as Record<string, AnyConnector>)[type];
}
