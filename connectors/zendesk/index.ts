import { baseOutboundUrls, baseSecretPaths, defineConnector } from "../sdk/index.js";
import { createZendeskClient } from "./client.js";
import { integrationUserOf, ZendeskSettings } from "./config.js";
import { type ZendeskMappingContext, zendeskMapping, zendeskMappingContext } from "./mapping.js";
import { zendeskPriorityTable } from "./priority.js";
import { zendeskSetupSteps } from "./setup.js";
import { parseZendeskWebhook, verifyZendeskWebhook } from "./webhook.js";

export {
  AttachmentTooLargeError,
  createZendeskClient,
  type DownloadedAttachment,
  type UploadAttachmentOptions,
  type UploadedAttachment,
  type ZendeskClient,
  type ZendeskClientOptions,
  type ZendeskOutboundComment,
} from "./client.js";
export { integrationUserOf, ZendeskSettings } from "./config.js";
export type {
  AttachmentMeta,
  ZendeskExternalComment,
  ZendeskExternalTicket,
  ZendeskMappingContext,
} from "./mapping.js";
export { zendeskMappingContext } from "./mapping.js";
// The simulator is not re-exported, so the production build (which follows the registry) carries none:
// tests, the demo and benchmarks import ./simulator.js directly.
export { isOwnChange, type ZendeskInboundNotice } from "./webhook.js";

/** Zendesk Support tickets through the Tickets API, with signed webhooks (trigger or event subscription). */
export const zendesk = defineConnector<ZendeskSettings, ZendeskMappingContext>({
  kind: "servicedesk",
  type: "zendesk",
  displayName: "Zendesk Support",
  capabilities: { servicedesk: true, carrier: false },
  settingsSchema: ZendeskSettings,
  // auth.token covers the API token as well as a bearer token.
  secretPaths: baseSecretPaths,
  outboundUrls: baseOutboundUrls,
  priorityScheme: zendeskPriorityTable,
  attachmentMaxBytes: (settings) => settings.attachmentMaxBytes,
  createClient: (settings, deps) => createZendeskClient(settings, deps),
  mappingContext: zendeskMappingContext,
  integrationIdentity: integrationUserOf,
  verifyWebhook: verifyZendeskWebhook,
  parseWebhook: parseZendeskWebhook,
  mapping: zendeskMapping,
  setupSteps: zendeskSetupSteps,
});
