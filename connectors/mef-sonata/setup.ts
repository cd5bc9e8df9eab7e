import type { SetupContext, SetupStep } from "../sdk/index.js";
import type { MefSonataSettings } from "./config.js";

/** docs/connectors/mef-sonata.md, what the seller exposes and how its notifications reach the gateway. */
export function mefSonataSetupSteps(context: SetupContext, settings: MefSonataSettings): SetupStep[] {
  return [
    {
      title: "Trouble Ticket API",
      detail: `The seller serves Sonata Trouble Ticket v4 at ${settings.baseUrl}: list, create, retrieve and patch troubleTicket, its cancel, close and reopen, and POST /hub, DELETE /hub/{id}.`,
      docAnchor: "what-the-seller-must-expose",
    },
    {
      title: "Onboarding agreement",
      detail:
        "Agree the product ids the provider may raise tickets against, the ticketType, the confirmation time after which a resolved ticket closes, and whether the connection represents several buyers (buyerId).",
      docAnchor: "what-the-seller-must-expose",
    },
    {
      title: "Hub listener",
      detail:
        "The gateway registers its listener itself (POST /hub) when the connection is created; the seller must reach this callback over HTTPS and post notifications below it. The last path segment is the connection's path secret.",
      code: `${context.webhookUrl}/mefApi/sonata/troubleTicketNotification/v4/listener/troubleTicketStatusChangeEvent`,
      docAnchor: "notifications",
    },
  ];
}
