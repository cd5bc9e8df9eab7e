import type { ConformanceAdapter, SimulatorHandle } from "../../sdk/testing/conformance.js";
import { rejectNextRequests, statusFault } from "../../sdk/testing/faults.js";
import { toServiceNowDateTime } from "../mapping.js";
import { createServiceNowSimulator } from "../simulator.js";

// The ServiceNow simulator behind the gateway's conformance kit, found here by test/conformance.

const impactUrgency: Record<string, [string, string]> = {
  P1: ["1", "1"],
  P2: ["2", "1"],
  P3: ["3", "1"],
  P4: ["3", "2"],
};

export const conformance: ConformanceAdapter = {
  type: "servicenow",
  webhookAuth: "secret",
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
      agentComment: (sysId, body, options) => {
        // Additional comments are customer-visible; work notes are internal.
        sim.simulateAgentUpdate(sysId, options?.internal ? { work_notes: body } : { comments: body });
      },
      agentSetStatus: (sysId, status) => {
        sim.simulateAgentUpdate(
          sysId,
          status === "resolved"
            ? { state: "6", close_code: "Solved (Permanently)", close_notes: "Fixed at the vendor" }
            : { state: "2" },
        );
      },
      rejectionText: "aborted by Business Rule",
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
        sim.faults.push(statusFault(status, times));
      },
      rejectNextWrites: (times) => {
        // A business rule aborting the update: ServiceNow answers 403 with an error body.
        rejectNextRequests(sim.app, times, (request) => request.method === "PATCH", {
          status: 403,
          body: {
            error: { message: "Operation against file 'incident' was aborted by Business Rule" },
            status: "failure",
          },
        });
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
};
