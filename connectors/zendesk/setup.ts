import type { SetupContext, SetupStep } from "../sdk/index.js";
import { integrationUserOf, type ZendeskSettings } from "./config.js";

/** docs/connectors/zendesk.md, "What the Zendesk admin sets up", for one connection. */
export function zendeskSetupSteps(context: SetupContext, settings: ZendeskSettings): SetupStep[] {
  return [
    {
      title: "Integration user",
      detail: `An agent with the Admin role (user id ${integrationUserOf(settings)}), paired with an API token or an OAuth client with the read write scopes.`,
      docAnchor: "1-an-integration-user",
    },
    {
      title: "Webhook",
      detail:
        "Admin Center > Apps and integrations > Webhooks > Create webhook: connection method Trigger or automation, POST, JSON, authentication None. Then Reveal secret under Signing secret and put it into the connection's webhookSecret.",
      code: context.webhookUrl,
      docAnchor: "3-the-webhook",
    },
    {
      title: "Trigger",
      detail: `Objects and rules > Triggers > Create trigger: ALL of "Current user is not" the integration user${settings.brandId ? ` and "Brand is" ${settings.brandId}` : ""}; ANY of "Ticket is Created", "Ticket is Updated"; action Notify by > Active webhook with this JSON body.`,
      code: JSON.stringify(
        {
          ticket_id: "{{ticket.id}}",
          updated_at: "{{ticket.updated_at_with_timestamp}}",
          external_id: "{{ticket.external_id}}",
          actor_id: "{{current_user.id}}",
        },
        null,
        2,
      ),
      docAnchor: "4-the-trigger-recommended",
    },
  ];
}
