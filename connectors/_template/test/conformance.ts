import type { ConformanceAdapter, SimulatorHandle } from "../../sdk/testing/conformance.js";
import { rejectNextRequests, statusFault } from "../../sdk/testing/faults.js";
import { createTemplateSimulator } from "../simulator.js";

// The simulator behind the gateway's conformance kit (test/conformance/kit.ts), which finds this file for
// every servicedesk connector in the registry. TODO: keep the shape, fill in the vendor's own moves.

const priorities = { P1: "critical", P2: "high", P3: "medium", P4: "low" } as const;

export const conformance: ConformanceAdapter = {
  type: "template",
  // TODO: "signature" when the vendor signs its webhook bodies.
  webhookAuth: "secret",
  createSimulator(): SimulatorHandle {
    const sim = createTemplateSimulator();
    return {
      app: sim.app,
      settings: (baseUrl, webhookSecret) => ({
        baseUrl,
        auth: { type: "basic", ...sim.integrationUser },
        webhookSecret,
      }),
      // The simulator reads its target when it sends: the kit sets it once the connection exists.
      setWebhookTarget: (url, secret) => sim.setWebhook({ url, secret }),
      agentCreate: ({ title, priority, comment }) => {
        const record = sim.simulateAgentCreate({ title, priority: priorities[priority] });
        if (comment !== undefined) sim.simulateAgentComment(record.id, { body: comment, public: true });
        return record.id;
      },
      agentComment: (id, body, options) => {
        sim.simulateAgentComment(id, { body, public: !options?.internal });
      },
      agentSetStatus: (id, status) => {
        sim.simulateAgentUpdate(id, { status: status === "resolved" ? "solved" : "open" });
      },
      read: (id) => {
        const record = sim.state.records.get(id);
        if (record === undefined) return undefined;
        return {
          title: record.title,
          comments: sim.state.comments
            .filter((comment) => comment.record_id === id)
            .map((comment) => ({ body: comment.body, public: comment.public })),
        };
      },
      findByCanonicalId: (canonicalId) =>
        [...sim.state.records.values()].find((record) => record.correlation_id === canonicalId)?.id,
      failNext: (status, times) => {
        sim.faults.push(statusFault(status, times));
      },
      rejectionText: "Rejected by a validation rule",
      rejectNextWrites: (times) => {
        rejectNextRequests(sim.app, times, (request) => request.method === "PATCH", {
          status: 422,
          body: { error: { code: "invalid", message: "Rejected by a validation rule" } },
        });
      },
      webhook: (id) => {
        const record = sim.state.records.get(id);
        return {
          headers: {
            "content-type": "application/json",
            authorization: "Bearer conformance-webhook-secret-0123456789",
          },
          body: JSON.stringify({ record_id: id, event: "updated", updated_at: record?.updated_at }),
        };
      },
      settled: () => sim.settled(),
    };
  },
};
