import { createServiceNowSimulator } from "../../connectors/servicenow/index.js";
import { toServiceNowDateTime } from "../../connectors/servicenow/mapping.js";
import { describeConformance, type SimulatorHandle } from "./kit.js";

const impactUrgency: Record<string, [string, string]> = {
  P1: ["1", "1"],
  P2: ["2", "1"],
  P3: ["3", "1"],
  P4: ["3", "2"],
};

describeConformance({
  type: "servicenow",
  createSimulator(): SimulatorHandle {
    const options: Parameters<typeof createServiceNowSimulator>[0] = {};
    const sim = createServiceNowSimulator(options);
    const journal = (sysId: string) => sim.state.journal.filter((j) => j["element_id"] === sysId);
    return {
      app: sim.app,
      settings: (baseUrl, webhookSecret) => ({
        baseUrl,
        auth: {
          type: "basic",
          username: sim.integrationUser.username,
          password: sim.integrationUser.password,
        },
        webhookSecret,
      }),
      setWebhookTarget: (url, secret) => {
        options.webhook = { url, secret };
      },
      setBaseUrl: (url) => sim.setInstanceUrl(url),
      agentCreate: ({ title, priority, comment }) => {
        const [impact, urgency] = impactUrgency[priority]!;
        return sim.simulateAgentInsert({
          short_description: title,
          impact,
          urgency,
          ...(comment ? { comments: comment } : {}),
        })["sys_id"]!;
      },
      agentComment: (sysId, body) => {
        sim.simulateAgentUpdate(sysId, { comments: body });
      },
      read: (sysId) => {
        const row = sim.state.incidents.get(sysId);
        if (!row) return undefined;
        return {
          title: row["short_description"] ?? "",
          comments: journal(sysId).map((j) => ({
            body: j["value"] ?? "",
            public: j["element"] === "comments",
          })),
        };
      },
      findByCanonicalId: (id) =>
        [...sim.state.incidents.values()].find((r) => r["correlation_id"] === id)?.["sys_id"],
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
        // A business rule aborting the update: ServiceNow answers 403 with an error body.
        sim.app.fetch = ((request: Request, ...rest: unknown[]) => {
          if (left > 0 && request.method === "PATCH") {
            left--;
            return new Response(
              JSON.stringify({
                error: { message: "Operation against file 'incident' was aborted by Business Rule" },
                status: "failure",
              }),
              {
                status: 403,
                headers: { "content-type": "application/json" },
              },
            );
          }
          return original(request, ...(rest as []));
        }) as typeof sim.app.fetch;
      },
      webhook: (sysId) => ({
        headers: {
          authorization: "Bearer conformance-webhook-secret-0123456789",
          "content-type": "application/json",
        },
        body: JSON.stringify({
          sys_id: sysId,
          sys_updated_on: toServiceNowDateTime(new Date()),
          operation: "update",
        }),
      }),
      settled: () => sim.settled(),
    };
  },
});
