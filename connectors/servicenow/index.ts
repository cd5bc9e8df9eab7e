import { baseOutboundUrls, baseSecretPaths, defineConnector } from "../sdk/index.js";
import { createServiceNowClient } from "./client.js";
import { integrationUserOf, ServiceNowSettings } from "./config.js";
import { type ServiceNowMappingContext, serviceNowMapping } from "./mapping.js";
import { serviceNowMappingContext, serviceNowPriorityTable } from "./priority.js";
import { serviceNowSetupSteps } from "./setup.js";
import { parseServiceNowWebhook, verifyServiceNowWebhook } from "./webhook.js";

export { createServiceNowClient } from "./client.js";
export { type ImpactUrgencyMatrix, ServiceNowSettings } from "./config.js";
export type { ImpactUrgency, ServiceNowMappingContext, ServiceNowPriorityTranslation } from "./mapping.js";
// The simulator is not re-exported, so the production build (which follows the registry) carries none:
// tests, the demo and benchmarks import ./simulator.js directly.

/** ServiceNow incidents through the Table API, with business-rule webhooks. */
export const servicenow = defineConnector<ServiceNowSettings, ServiceNowMappingContext>({
  kind: "servicedesk",
  type: "servicenow",
  displayName: "ServiceNow (Table API)",
  capabilities: { servicedesk: true, carrier: false },
  settingsSchema: ServiceNowSettings,
  secretPaths: baseSecretPaths,
  outboundUrls: baseOutboundUrls,
  priorityScheme: serviceNowPriorityTable,
  createClient: createServiceNowClient,
  mappingContext: serviceNowMappingContext,
  integrationIdentity: integrationUserOf,
  verifyWebhook: verifyServiceNowWebhook,
  parseWebhook: parseServiceNowWebhook,
  mapping: serviceNowMapping,
  setupSteps: serviceNowSetupSteps,
});
