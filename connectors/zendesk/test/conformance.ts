import { createHmac } from "node:crypto";
import type { ConformanceAdapter, SimulatorHandle } from "../../sdk/testing/conformance.js";
import { rejectNextRequests, statusFault } from "../../sdk/testing/faults.js";
import { createZendeskSimulator, simulatorUsers } from "../simulator.js";

// The Zendesk simulator behind the gateway's conformance kit, found here by test/conformance.

const zendeskPriority = { P1: "urgent", P2: "high", P3: "normal", P4: "low" } as const;

export const conformance: ConformanceAdapter = {
  type: "zendesk",
  webhookAuth: "signature",
  createSimulator(): SimulatorHandle {
    let clockOffsetMs = 0;
    const options: Parameters<typeof createZendeskSimulator>[0] = {
      now: () => new Date(Date.now() + clockOffsetMs),
    };
    const sim = createZendeskSimulator(options);
    let secret = "";
    const commentsOf = (id: number) => sim.state.comments.filter((c) => c.ticket_id === id);
    return {
      app: sim.app,
      settings: (baseUrl, webhookSecret) => ({
        baseUrl,
        auth: {
          type: "basic",
          username: `${simulatorUsers.integration.email}/token`,
          password: sim.apiToken,
        },
        integrationUserId: simulatorUsers.integration.id,
        webhookSecret,
      }),
      setWebhookTarget: (url, webhookSecret) => {
        secret = webhookSecret;
        options.webhook = { url, secret: webhookSecret, kind: "trigger" };
      },
      setBaseUrl: (url) => sim.setAccountUrl(url),
      agentCreate: ({ title, priority, comment }) =>
        String(
          sim.simulateAgentCreate({
            subject: title,
            priority: zendeskPriority[priority],
            comment: { body: comment ?? title, public: true },
          }).id,
        ),
      agentComment: (id, body, options) => {
        sim.simulateAgentComment(Number(id), { body, public: !options?.internal });
      },
      agentSetStatus: (id, status) => {
        // Solving needs an assignee, as in Zendesk.
        sim.simulateAgentUpdate(
          Number(id),
          status === "resolved"
            ? { status: "solved", assignee_id: simulatorUsers.agent.id }
            : { status: "open" },
        );
      },
      // The incremental export never lists the latest minute.
      advanceVendorClock: (ms) => {
        clockOffsetMs += ms;
      },
      rejectionText: "Rejected by a business rule",
      read: (id) => {
        const ticket = sim.state.tickets.get(Number(id));
        if (!ticket) return undefined;
        return {
          title: ticket.subject,
          comments: commentsOf(ticket.id).map((c) => ({ body: c.body, public: c.public })),
        };
      },
      findByCanonicalId: (canonicalId) => {
        const matches = [...sim.state.tickets.values()].filter((t) => t.external_id === canonicalId);
        const open = matches.filter((t) => t.status !== "closed");
        const pick = (open.length > 0 ? open : matches).at(-1);
        return pick ? String(pick.id) : undefined;
      },
      failNext: (status, times) => {
        sim.faults.push(statusFault(status, times));
      },
      rejectNextWrites: (times) => {
        // A validation failure Zendesk answers with 422 RecordInvalid: permanent.
        rejectNextRequests(sim.app, times, (request) => request.method === "PUT", {
          status: 422,
          body: {
            error: "RecordInvalid",
            description: "Record validation errors",
            details: { base: [{ description: "Rejected by a business rule" }] },
          },
        });
      },
      webhook: (id) => {
        const ticket = sim.state.tickets.get(Number(id))!;
        const body = JSON.stringify({ ticket_id: String(ticket.id), updated_at: ticket.updated_at });
        const timestamp = new Date().toISOString();
        const signature = createHmac("sha256", secret)
          .update(timestamp + body)
          .digest("base64");
        return {
          headers: {
            "content-type": "application/json",
            "x-zendesk-webhook-signature": signature,
            "x-zendesk-webhook-signature-timestamp": timestamp,
          },
          body,
        };
      },
      settled: () => sim.settled(),
    };
  },
};
