import {
  baseOutboundUrls,
  baseSecretPaths,
  basicAuthUsername,
  defineCarrierConnector,
} from "../sdk/index.js";
import { createTmf621Client } from "./client.js";
import { Tmf621Settings } from "./config.js";
import { tmf621Mapping } from "./mapping.js";
import { tmf621PriorityTable } from "./priority.js";
import { tmf621SetupSteps } from "./setup.js";
import { parseTmf621Webhook, verifyTmf621Webhook } from "./webhook.js";

export { troubleTicketEventNames } from "./api-types.js";
export { createTmf621Client } from "./client.js";
export { RelatedPartyRoles, Tmf621Settings, type Tmf621Version, tmf621Versions } from "./config.js";
export { tmf621DefaultSeverityTable, tmf621Statuses } from "./mapping.js";
// The simulator is not re-exported: it validates against the specs with the contract validator (ajv, a dev
// dependency), so runtime code importing the registry must not pull it in. Import ./simulator.js directly.

/** TMF621 Trouble Ticket (v4.0.0 or v5.0.1): delegating trouble tickets to a carrier, with hub events. */
export const tmf621 = defineCarrierConnector<Tmf621Settings>({
  kind: "carrier",
  type: "tmf621",
  displayName: "TM Forum TMF621 Trouble Ticket (v4 / v5)",
  capabilities: { servicedesk: false, carrier: true },
  settingsSchema: Tmf621Settings,
  secretPaths: baseSecretPaths,
  outboundUrls: baseOutboundUrls,
  priorityScheme: tmf621PriorityTable,
  integrationIdentity: basicAuthUsername,
  relaysNotesToClient: (settings) => settings.relayNotesToClient,
  pollIntervalMs: (settings) =>
    settings.pollIntervalSeconds === undefined ? null : settings.pollIntervalSeconds * 1000,
  createCarrierClient: createTmf621Client,
  verifyWebhook: verifyTmf621Webhook,
  parseWebhook: parseTmf621Webhook,
  mapping: tmf621Mapping,
  setupSteps: tmf621SetupSteps,
});
