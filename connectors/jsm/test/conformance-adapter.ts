import { createHmac } from "node:crypto";
import type { ConformanceAdapter, SimulatorHandle } from "../../../test/conformance/kit.js";
import { adfToCanonical } from "../adf.js";
import { jsmMappingContext } from "../mapping.js";
import { createJsmSimulator, type JsmSimulatorOptions } from "../simulator.js";

// The JSM simulator behind the shared conformance kit (test/conformance/kit.ts). Wire it with
// `describeConformance(jsmConformanceAdapter)` in test/conformance/jsm.test.ts.

const kitWebhookSecret = "conformance-webhook-secret-0123456789";
const priorityNames = jsmMappingContext({}).priority.outbound;

export const jsmConformanceAdapter: ConformanceAdapter = {
  type: "jsm",
  createSimulator(): SimulatorHandle {
    const options: JsmSimulatorOptions = {};
    const sim = createJsmSimulator(options);
    return {
      app: sim.app,
      settings: (baseUrl, webhookSecret) => ({
        baseUrl,
        auth: {
          type: "basic",
          username: sim.integrationAccount.emailAddress,
          password: sim.integrationAccount.apiToken,
        },
        serviceDeskId: "1",
        requestTypeId: "10",
        projectKey: "HELP",
        correlationFieldId: "customfield_10050",
        integrationAccountId: sim.integrationAccount.accountId,
        jqlTimeZone: "UTC",
        webhookSecret,
      }),
      setWebhookTarget: (url, secret) => {
        options.webhook = { url, secret };
      },
      setBaseUrl: (url) => sim.setSiteUrl(url),
      agentCreate: ({ title, priority, comment }) => {
        const issue = sim.simulateAgentCreate({ summary: title, priority: priorityNames[priority] });
        if (comment !== undefined) sim.simulateAgentComment(issue.id, { body: comment, public: true });
        return issue.id;
      },
      agentComment: (issueId, body) => {
        sim.simulateAgentComment(issueId, { body, public: true });
      },
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
        sim.faults.push({
          kind: "status",
          status,
          times,
          ...(status === 429 ? { retryAfterSeconds: 1 } : {}),
        });
      },
      rejectNextWrites: (times) => {
        let left = times;
        const original = sim.app.fetch.bind(sim.app);
        // A validator refusing the edit: Jira answers 400 with an ErrorCollection.
        sim.app.fetch = ((request: Request, ...rest: unknown[]) => {
          if (
            left > 0 &&
            (request.method === "PUT" || request.method === "POST") &&
            !request.url.includes("/search/jql")
          ) {
            left--;
            return new Response(
              JSON.stringify({ errorMessages: [], errors: { summary: "Rejected by a workflow validator." } }),
              {
                status: 400,
                headers: { "content-type": "application/json" },
              },
            );
          }
          return original(request, ...(rest as []));
        }) as typeof sim.app.fetch;
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
