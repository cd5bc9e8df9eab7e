import type { SetupContext, SetupStep } from "../sdk/index.js";
import type { JsmSettings } from "./config.js";

/** docs/connectors/jsm.md, "What the Jira admin sets up", for one connection. */
export function jsmSetupSteps(context: SetupContext, settings: JsmSettings): SetupStep[] {
  const jql = `project = ${settings.projectKey}${settings.inboundQuery ? ` AND (${settings.inboundQuery})` : ""}`;
  return [
    {
      title: "Integration account",
      detail: `An agent account (accountId ${settings.integrationAccountId}) with the Service Desk Team role in project ${settings.projectKey}, and an API token or an OAuth 2.0 (3LO) app.`,
      docAnchor: "1-an-integration-account",
    },
    {
      title: "Correlation field",
      detail: `A Short text custom field on the edit screen that carries the gateway's ticket id: ${settings.correlationFieldId}.`,
      docAnchor: "3-the-custom-field-that-carries-our-ticket-id",
    },
    {
      title: "Webhook",
      detail:
        "Settings > System > WebHooks > Create a WebHook with this URL; Generate secret and put it into the connection's webhookSecret; events Issue created, updated, deleted and Comment created, updated, deleted; Exclude body unchecked; this JQL.",
      code: `URL: ${context.webhookUrl}\nJQL: ${jql}`,
      docAnchor: "5-the-webhook",
    },
  ];
}
