import { adfToCanonical } from "../../connectors/jsm/adf.js";
import { createJsmSimulator, type JsmSimulatorOptions } from "../../connectors/jsm/simulator.js";
import { serveBenchSimulator } from "./control.js";

/** The JSM simulator in its own process, with the bench control endpoints (see control.ts). */
const correlationFieldId = "customfield_10050";
const options: JsmSimulatorOptions = { correlationFieldId };
const sim = createJsmSimulator(options);
const priorities = ["Highest", "High", "Medium", "Low"] as const;

serveBenchSimulator({
  fetch: (request) => sim.app.fetch(request),
  setBaseUrl: (url) => sim.setSiteUrl(url),
  // A Jira webhook notifies every change, the integration account's own too (Jira has no such filter).
  setWebhook: (url, secret) => {
    options.webhook = { url, secret };
  },
  agentCreate: (index, prefix) =>
    sim.simulateAgentCreate({
      summary: `${prefix} ${index}: VPN tunnel to the DR site keeps dropping`,
      description: "Reported by the client's service desk; tunnel drops every few minutes since 08:40.",
      priority: priorities[index % priorities.length]!,
    }).id,
  agentComment: (externalId, body) => {
    sim.simulateAgentComment(externalId, { body, public: true });
  },
  settled: () => sim.settled(),
  requestCount: () => sim.exchanges.length,
  webhooks: () => ({
    delivered: sim.webhooks.delivered.length,
    failed:
      sim.webhooks.delivered.filter((d) => d.status === null || d.status >= 300).length +
      sim.webhooks.dropped.length,
  }),
  correlated: (marker) =>
    [...sim.state.issues.values()]
      .filter(
        (issue) =>
          typeof issue.custom[correlationFieldId] === "string" && issue.custom[correlationFieldId] !== "",
      )
      .map((issue) => ({
        externalId: issue.id,
        canonicalId: String(issue.custom[correlationFieldId]),
        markerComments: issue.comments.filter((comment) =>
          (adfToCanonical(comment.body) ?? "").includes(marker),
        ).length,
      })),
});
