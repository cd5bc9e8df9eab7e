import { createHmac } from "node:crypto";
import { toServiceNowDateTime } from "../../connectors/servicenow/mapping.js";
import { createServiceNowSimulator } from "../../connectors/servicenow/simulator.js";
import { createZendeskSimulator, simulatorUsers } from "../../connectors/zendesk/simulator.js";
import type { ConformanceAdapter, SimulatorHandle } from "./kit.js";

const impactUrgency: Record<string, [string, string]> = {
  P1: ["1", "1"],
  P2: ["2", "1"],
  P3: ["3", "1"],
  P4: ["3", "2"],
};

const zendeskPriority = { P1: "urgent", P2: "high", P3: "normal", P4: "low" } as const;

export const serviceNowAdapter: ConformanceAdapter = {
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
};

export const zendeskAdapter: ConformanceAdapter = {
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
};
