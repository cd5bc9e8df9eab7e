import { baseOutboundUrls, baseSecretPaths, defineConnector } from "../sdk/index.js";
import { createTemplateClient } from "./client.js";
import { integrationUserOf, TemplateSettings } from "./config.js";
import {
  examplePriorityTable,
  type TemplateMappingContext,
  templateMapping,
  templateMappingContext,
} from "./mapping.js";
import { templateSetupSteps } from "./setup.js";
import { parseTemplateWebhook, verifyTemplateWebhook } from "./webhook.js";

// The template is never registered in connectors/index.ts. When you copy it (docs/connectors.md):
// 1. rename `template`/`Template` throughout the folder, and `type` below to the vendor's type id;
// 2. add one line to `connectors` in connectors/index.ts: that is the only file outside the folder you touch.
//    The API's type enum, the priority-scheme list and API, the tenant overrides and the conformance kit
//    (through ./test/conformance.ts) all follow from that line.

export { createTemplateClient } from "./client.js";
export { integrationUserOf, TemplateSettings } from "./config.js";
export type { TemplateMappingContext } from "./mapping.js";
export { templateMappingContext } from "./mapping.js";
// Never re-export the simulator: the production build follows the registry from here, and the image carries
// no simulators. Tests, the demo and benchmarks import ./simulator.js directly.

/** TODO: one line: the vendor, the API and how changes arrive (webhook kind, polling). */
export const template = defineConnector<TemplateSettings, TemplateMappingContext>({
  kind: "servicedesk",
  // TODO: your type id, equal to the connector's key in connectors/index.ts.
  type: "template",
  displayName: "TODO: Vendor name (API name)",
  capabilities: { servicedesk: true, carrier: false },
  settingsSchema: TemplateSettings,
  // TODO: `[...baseSecretPaths, "yourSecret"]` for any secret setting the connector adds; add "auth.username"
  // when the vendor takes its API key as the Basic user name.
  secretPaths: baseSecretPaths,
  // TODO: add every further URL your settings hold (an upload host, a separate auth server), with its path.
  outboundUrls: baseOutboundUrls,
  // The vendor's priority table (ids are global; use the type id). Listed by GET /v1/priority-schemes.
  priorityScheme: examplePriorityTable,
  // TODO: the setting capping attachments, if the connector syncs them; drop otherwise.
  attachmentMaxBytes: () => null,
  createClient: createTemplateClient,
  mappingContext: templateMappingContext,
  // The identity your client writes as, in the form comment authors carry: comments by it are never imported.
  integrationIdentity: integrationUserOf,
  verifyWebhook: verifyTemplateWebhook,
  parseWebhook: parseTemplateWebhook,
  mapping: templateMapping,
  // The vendor-side setup the console shows for a connection, from the connector's doc.
  setupSteps: templateSetupSteps,
});
