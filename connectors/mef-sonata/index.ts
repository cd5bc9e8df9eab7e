import {
  baseOutboundUrls,
  baseSecretPaths,
  basicAuthUsername,
  defineCarrierConnector,
} from "../sdk/index.js";
import { createMefSonataClient } from "./client.js";
import { MefSonataSettings } from "./config.js";
import { mefSonataMapping } from "./mapping.js";
import { mefSonataPriorityTable, mefSonataSeverityTable } from "./priority.js";
import { parseMefSonataWebhook, verifyMefSonataWebhook } from "./webhook.js";

export { createMefSonataClient } from "./client.js";
export {
  MefSonataSettings,
  type MefSonataSettingsInput,
  managementBasePath,
  notificationBasePath,
} from "./config.js";
export {
  DelegationInputError,
  mefStatusTable,
  troubleTicketTransitions,
} from "./mapping.js";

import { mefSonataSetupSteps } from "./setup.js";
// The simulator is not re-exported, so the production build (which follows the registry) carries none:
// tests, the demo and benchmarks import ./simulator.js directly.

/**
 * MEF LSO Sonata Trouble Ticket Management v4 (MEF 124): delegates trouble tickets to a carrier
 * (the seller) as its buyer, with hub notifications and re-polling of open tickets.
 */
export const mefSonata = defineCarrierConnector<MefSonataSettings>({
  kind: "carrier",
  type: "mef-sonata",
  displayName: "MEF LSO Sonata (Trouble Ticket v4)",
  capabilities: { servicedesk: false, carrier: true },
  settingsSchema: MefSonataSettings,
  secretPaths: baseSecretPaths,
  outboundUrls: baseOutboundUrls,
  priorityScheme: mefSonataPriorityTable,
  otherPrioritySchemes: [mefSonataSeverityTable],
  integrationIdentity: basicAuthUsername,
  relaysNotesToClient: (settings) => settings.relayNotesToClient,
  pollIntervalMs: (settings) =>
    settings.pollIntervalSeconds === undefined ? null : settings.pollIntervalSeconds * 1000,
  createCarrierClient: createMefSonataClient,
  verifyWebhook: verifyMefSonataWebhook,
  parseWebhook: parseMefSonataWebhook,
  mapping: mefSonataMapping,
  setupSteps: mefSonataSetupSteps,
});
