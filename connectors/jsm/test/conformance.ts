import { createHmac } from "node:crypto";
import type { ConformanceAdapter, SimulatorHandle } from "../../sdk/testing/conformance.js";
import { rejectNextRequests, statusFault } from "../../sdk/testing/faults.js";
import { adfToCanonical } from "../adf.js";
import { jsmMappingContext } from "../mapping.js";
import { createJsmSimulator, type JsmSimulatorOptions } from "../simulator.js";

// The JSM simulator behind the gateway's conformance kit (test/conformance/kit.ts), found here by it.

const kitWebhookSecret = "conformance-webhook-secret-0123456789";
const priorityNames = jsmMappingContext({}).priority.outbound;

export const conformance: ConformanceAdapter = {
  type: "jsm",
  webhookAuth: "signature",
  createSimulator(): SimulatorHandle {
    const options: JsmSimulatorOptions = {};
    const sim = createJsmSimulator(options);
    return {
      app: sim.app,
      settings: (baseUrl, webhookSecret) => sim.connectionSettings(baseUrl, webhookSecret),
      setWebhookTarget: (url, secret) => {
        options.webhook = { url, secret };
      },
      setBaseUrl: (url) => sim.setSiteUrl(url),
      agentCreate: ({ title, priority, comment }) => {
        const issue = sim.simulateAgentCreate({ summary: title, priority: priorityNames[priority] });
        if (comment !== undefined) sim.simulateAgentComment(issue.id, { body: comment, public: true });
        return issue.id;
      },
      agentComment: (issueId, body, options) => {
        sim.simulateAgentComment(issueId, { body, public: !options?.internal });
      },
      agentSetStatus: (issueId, status) => {
        sim.simulateAgentTransition(issueId, status === "resolved" ? "Resolved" : "In Progress");
      },
      rejectionText: "Rejected by a workflow validator.",
      read: (issueId) => {
        const issue = sim.state.issues.get(issueId);
        if (issue === undefined) return undefined;
        return {
          title: issue.summary,
          comments: issue.comments.map((comment) => ({
            body: adfToCanonical(comment.body) ?? "",
            public: comment.public,
          })),
        };
      },
      findByCanonicalId: (canonicalId) =>
        [...sim.state.issues.values()].find((issue) => issue.custom["customfield_10050"] === canonicalId)?.id,
      failNext: (status, times) => {
        sim.faults.push(statusFault(status, times));
      },
      rejectNextWrites: (times) => {
        // A validator refusing the edit: Jira answers 400 with an ErrorCollection.
        rejectNextRequests(
          sim.app,
          times,
          (request) =>
            (request.method === "PUT" || request.method === "POST") && !request.url.includes("/search/jql"),
          {
            status: 400,
            body: {
              errorMessages: [],
              errors: { summary: "Rejected by a workflow validator." },
            },
          },
        );
      },
      webhook: (issueId) => {
        const issue = sim.state.issues.get(issueId);
        const body = JSON.stringify({
          timestamp: Date.now(),
          webhookEvent: "jira:issue_updated",
          issue_event_type_name: "issue_generic",
          user: { accountId: sim.integrationAccount.accountId },
          issue: { id: issueId, key: issue?.key },
        });
        return {
          headers: {
            "content-type": "application/json",
            "x-hub-signature": `sha256=${createHmac("sha256", kitWebhookSecret).update(body).digest("hex")}`,
          },
          body,
        };
      },
      settled: () => sim.settled(),
    };
  },
};
