import { baseOutboundUrls, baseSecretPaths, defineConnector } from "../sdk/index.js";
import { createJsmClient } from "./client.js";
import { JsmSettings } from "./config.js";
import { type JsmMappingContext, jsmMapping, jsmMappingContext } from "./mapping.js";
import { jiraPriorityTable } from "./priority.js";
import { jsmSetupSteps } from "./setup.js";
import { parseJsmWebhook, verifyJsmWebhook } from "./webhook.js";

export { adfToCanonical, canonicalToAdf, lossyAdfNodes } from "./adf.js";
export {
  type AttachmentUpload,
  checkFieldSetup,
  createJsmClient,
  type JsmClient,
  TransitionNotAvailableError,
  type UploadedAttachment,
} from "./client.js";
export { apiBaseUrl, type FieldMappingEntry, JsmSettings, mappableCanonicalFields } from "./config.js";
export {
  type JsmExternalAttachment,
  type JsmExternalTicket,
  type JsmMappingContext,
  jsmMappingContext,
  jsmStatusTable,
} from "./mapping.js";
// The simulator is not re-exported, so the production build (which follows the registry) carries none:
// tests, the demo and benchmarks import ./simulator.js directly.
export { AttachmentTooLargeError } from "./transport.js";
export {
  type CanonicalChange,
  type ChangelogItem,
  canonicalChanges,
  isOwnChange,
  type JsmInboundNotice,
  jsmWebhookEvents,
} from "./webhook.js";
export { canonicalToWiki, wikiToCanonical } from "./wiki-markup.js";

/** Jira Service Management / Jira Cloud: customer requests or issues, with signed admin webhooks. */
export const jsm = defineConnector<JsmSettings, JsmMappingContext>({
  kind: "servicedesk",
  type: "jsm",
  displayName: "Jira Service Management (Cloud)",
  capabilities: { servicedesk: true, carrier: false },
  settingsSchema: JsmSettings,
  secretPaths: baseSecretPaths,
  outboundUrls: baseOutboundUrls,
  priorityScheme: jiraPriorityTable,
  attachmentMaxBytes: (settings) => settings.maxAttachmentBytes,
  createClient: createJsmClient,
  mappingContext: jsmMappingContext,
  // Comments, history and webhooks name users by accountId.
  integrationIdentity: (settings) => settings.integrationAccountId,
  verifyWebhook: verifyJsmWebhook,
  parseWebhook: parseJsmWebhook,
  mapping: jsmMapping,
  setupSteps: jsmSetupSteps,
});
