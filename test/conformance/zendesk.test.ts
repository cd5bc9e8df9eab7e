import { createHmac } from "node:crypto";
import { createZendeskSimulator, simulatorUsers } from "../../connectors/zendesk/simulator.js";
import { describeConformance, type SimulatorHandle } from "./kit.js";

const zendeskPriority = { P1: "urgent", P2: "high", P3: "normal", P4: "low" } as const;

describeConformance({
  type: "zendesk",
  createSimulator(): SimulatorHandle {
    const options: Parameters<typeof createZendeskSimulator>[0] = {};
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
      agentComment: (id, body) => {
        sim.simulateAgentComment(Number(id), { body, public: true });
      },
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
        // A validation failure Zendesk answers with 422 RecordInvalid: permanent.
        sim.app.fetch = ((request: Request, ...rest: unknown[]) => {
          if (left > 0 && request.method === "PUT") {
            left--;
            return new Response(
              JSON.stringify({
                error: "RecordInvalid",
                description: "Record validation errors",
                details: { base: [{ description: "Rejected by a business rule" }] },
              }),
              { status: 422, headers: { "content-type": "application/json" } },
            );
          }
          return original(request, ...(rest as []));
        }) as typeof sim.app.fetch;
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
});
