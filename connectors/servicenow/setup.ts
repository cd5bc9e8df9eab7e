import type { SetupContext, SetupStep } from "../sdk/index.js";
import { integrationUserOf, type ServiceNowSettings } from "./config.js";

/** docs/connectors/servicenow.md, "What the ServiceNow admin sets up", for one connection. */
export function serviceNowSetupSteps(context: SetupContext, settings: ServiceNowSettings): SetupStep[] {
  const user = integrationUserOf(settings) ?? "svc.ticketsync";
  return [
    {
      title: "Integration user",
      detail: `A sys_user "${user}" with web service access only, time zone GMT, role itil (and snc_platform_rest_api_access where REST roles are enforced), and read access to sys_journal_field.`,
      docAnchor: "1-an-integration-user",
    },
    {
      title: "System properties",
      detail:
        "Two sys_properties readable by admin only: ticket_sync.webhook_url with this URL, and ticket_sync.webhook_secret with the connection's webhookSecret (shown once when the connection was created).",
      code: `ticket_sync.webhook_url = ${context.webhookUrl}`,
      docAnchor: "3-the-webhook-business-rule",
    },
    {
      title: "Business rule",
      detail:
        "On Incident [incident], after, Insert and Update, Advanced; the condition skips the gateway's own writes. The script posts {sys_id, number, sys_updated_on, sys_mod_count, operation} with Authorization: Bearer <ticket_sync.webhook_secret> (the doc has the whole script).",
      code: `Condition: gs.getUserName() != '${user}'`,
      docAnchor: "3-the-webhook-business-rule",
    },
  ];
}
