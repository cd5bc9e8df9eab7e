import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { serveBenchSimulator } from "./control.js";

/** The ServiceNow simulator in its own process, with the bench control endpoints (see control.ts). */
const options: NonNullable<Parameters<typeof createServiceNowSimulator>[0]> = {};
const sim: ServiceNowSimulator = createServiceNowSimulator(options);
const impactUrgency = [
  ["1", "1"],
  ["2", "1"],
  ["2", "2"],
  ["3", "2"],
] as const;

serveBenchSimulator({
  fetch: (request) => sim.app.fetch(request),
  setBaseUrl: (url) => sim.setInstanceUrl(url),
  // A business rule that skips the integration user's own changes, as docs/connectors/servicenow.md sets it up.
  setWebhook: (url, secret) => {
    options.webhook = { url, secret };
  },
  agentCreate: (index, prefix) => {
    const [impact, urgency] = impactUrgency[index % impactUrgency.length]!;
    return sim.simulateAgentInsert({
      short_description: `${prefix} ${index}: VPN tunnel to the DR site keeps dropping`,
      description: "Reported by the client's service desk; tunnel drops every few minutes since 08:40.",
      impact,
      urgency,
    })["sys_id"]!;
  },
  // A customer-visible comment saved on the form (the journal field appends).
  agentComment: (externalId, body) => {
    sim.simulateAgentUpdate(externalId, { comments: body });
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
    const comments = new Map<string, number>();
    for (const entry of sim.state.journal) {
      if (entry["element"] !== "comments" || !(entry["value"] ?? "").includes(marker)) continue;
      const id = entry["element_id"] ?? "";
      comments.set(id, (comments.get(id) ?? 0) + 1);
    }
    return [...sim.state.incidents.values()]
      .filter((row) => (row["correlation_id"] ?? "") !== "")
      .map((row) => ({
        externalId: row["sys_id"]!,
        canonicalId: row["correlation_id"]!,
        markerComments: comments.get(row["sys_id"]!) ?? 0,
      }));
  },
});
