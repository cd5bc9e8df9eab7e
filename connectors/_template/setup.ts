import type { SetupContext, SetupStep } from "../sdk/index.js";
import type { TemplateSettings } from "./config.js";

/**
 * TODO: what the vendor's admin sets up, one step per heading of docs/connectors/<type>.md's setup section
 * (`docAnchor` is that heading's anchor; tested). Fill in names from the settings, never a secret value.
 */
export function templateSetupSteps(context: SetupContext, _settings: TemplateSettings): SetupStep[] {
  return [
    {
      title: "Webhook",
      detail: "TODO: where at the vendor the webhook is created, and how it is signed.",
      code: context.webhookUrl,
      docAnchor: "the-webhook",
    },
  ];
}
