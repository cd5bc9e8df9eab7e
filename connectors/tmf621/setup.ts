import type { SetupContext, SetupStep } from "../sdk/index.js";
import type { Tmf621Settings } from "./config.js";

/** docs/connectors/tmf621.md, what the carrier exposes and how its events reach the gateway. */
export function tmf621SetupSteps(context: SetupContext, settings: Tmf621Settings): SetupStep[] {
  return [
    {
      title: "Trouble Ticket API",
      detail: `The carrier serves TMF621 ${settings.version} at ${settings.baseUrl}: POST, GET and PATCH /troubleTicket, POST /hub and DELETE /hub/{id}, with the credentials the connection holds (OAuth 2.0 client credentials, bearer or Basic).`,
      docAnchor: "what-the-carrier-must-expose",
    },
    {
      title: "Hub listener",
      detail:
        "The gateway registers its listener itself (POST /hub) when the connection is created; the carrier must reach this callback over HTTPS and post events to <callback>/listener/<eventName>. The last path segment is the connection's path secret.",
      code: `${context.webhookUrl}/listener/troubleTicketStatusChangeEvent`,
      docAnchor: "events",
    },
  ];
}
