import { baseSecretPaths, type ConnectorType, defineConnector } from "../sdk/index.js";
import { createTemplateClient } from "./client.js";
import { TemplateSettings } from "./config.js";
import { type TemplateMappingContext, templateMapping, templateMappingContext } from "./mapping.js";
import { parseTemplateWebhook, verifyTemplateWebhook } from "./webhook.js";

// The template is never registered in connectors/index.ts and never runs. When you copy it:
// 1. add the type to `connectorTypes` (connectors/sdk/connector.ts) and `connectorTypeIds`
//    (schemas/connection.ts), then replace the cast below with the plain literal;
// 2. add one line to `connectors` in connectors/index.ts;
// 3. follow docs/connectors.md for everything else.

export { createTemplateClient } from "./client.js";
export { integrationUserOf, TemplateSettings } from "./config.js";
export type { TemplateMappingContext } from "./mapping.js";
export { templateMappingContext } from "./mapping.js";
// Never re-export the simulator: the production build follows the registry from here, and the image carries
// no simulators. Tests, the demo and benchmarks import ./simulator.js directly.

/** TODO: one line: the vendor, the API and how changes arrive (webhook kind, polling). */
export const template = defineConnector<TemplateSettings, TemplateMappingContext>({
  kind: "servicedesk",
  // TODO: your ConnectorType literal; the cast only exists because "template" is not one.
  type: "template" as string as ConnectorType,
  displayName: "TODO: Vendor name (API name)",
  capabilities: { servicedesk: true, carrier: false },
  settingsSchema: TemplateSettings,
  // TODO: `[...baseSecretPaths, "yourSecret"]` for any secret setting the connector adds.
  secretPaths: baseSecretPaths,
  createClient: createTemplateClient,
  mappingContext: templateMappingContext,
  // TODO: the identity your client writes as, in the form comment authors carry.
  integrationIdentity: () => null,
  verifyWebhook: verifyTemplateWebhook,
  parseWebhook: parseTemplateWebhook,
  mapping: templateMapping,
});
