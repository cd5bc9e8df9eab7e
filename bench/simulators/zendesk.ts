import { createZendeskSimulator, type ZendeskSimulator } from "../../connectors/zendesk/simulator.js";
import { serveBenchSimulator } from "./control.js";

/**
 * The Zendesk simulator in its own process, with the bench control endpoints (see control.ts).
 * SIM_REQUESTS_PER_MINUTE sets the account's API budget (default: high enough not to throttle the bench).
 */
const options: NonNullable<Parameters<typeof createZendeskSimulator>[0]> = {
  requestsPerMinute: Number(process.env.SIM_REQUESTS_PER_MINUTE ?? 1_000_000),
};
const sim: ZendeskSimulator = createZendeskSimulator(options);
const priorities = ["urgent", "high", "normal", "low"] as const;

serveBenchSimulator({
  fetch: (request) => sim.app.fetch(request),
  setBaseUrl: (url) => sim.setAccountUrl(url),
  // Our trigger (docs/connectors/zendesk.md): one JSON body per update, not for the integration user's changes.
  setWebhook: (url, secret) => {
    options.webhook = { url, secret, kind: "trigger" };
  },
  agentCreate: (index, prefix) =>
    String(
      sim.simulateAgentCreate({
        subject: `${prefix} ${index}: VPN tunnel to the DR site keeps dropping`,
        priority: priorities[index % priorities.length],
        comment: {
          body: "Reported by the client's service desk; tunnel drops every few minutes since 08:40.",
          public: true,
        },
      }).id,
    ),
  agentComment: (externalId, body) => {
    sim.simulateAgentComment(Number(externalId), { body, public: true });
  },
  settled: () => sim.settled(),
  requestCount: () => sim.requests.length,
  webhooks: () => ({
    delivered: sim.webhooks.delivered.length,
    failed:
      sim.webhooks.delivered.filter((d) => d.status === null || d.status >= 300).length +
      sim.webhooks.dropped.length,
  }),
  correlated: (marker) => {
    const comments = new Map<number, number>();
    for (const comment of sim.state.comments) {
      if (!comment.body.includes(marker)) continue;
      comments.set(comment.ticket_id, (comments.get(comment.ticket_id) ?? 0) + 1);
    }
    return [...sim.state.tickets.values()]
      .filter((ticket) => ticket.external_id !== null && ticket.external_id !== "")
      .map((ticket) => ({
        externalId: String(ticket.id),
        canonicalId: ticket.external_id!,
        markerComments: comments.get(ticket.id) ?? 0,
      }));
  },
});
