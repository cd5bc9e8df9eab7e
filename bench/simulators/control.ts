import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** What a bench simulator process exposes beside the vendor API, under `/__bench/`. */
export interface BenchSimulator {
  /** The simulator's own vendor API. */
  fetch(request: Request): Response | Promise<Response>;
  setBaseUrl(url: string): void;
  /** Points the vendor's webhooks (business rule, trigger, Jira webhook) at the gateway. */
  setWebhook(url: string, secret: string): void;
  /** A human at the vendor opens a record, which notifies the gateway by webhook; returns its id. */
  agentCreate(index: number, prefix: string): string;
  /** A human at the vendor adds a public comment to a record, which notifies the gateway by webhook. */
  agentComment(externalId: string, body: string): void;
  /** Resolves when every webhook delivery started so far has finished. */
  settled(): Promise<void>;
  /** API requests received so far. */
  requestCount(): number;
  /** Webhook deliveries finished so far, and those the gateway did not answer 2xx. */
  webhooks(): { delivered: number; failed: number };
  /**
   * Records carrying a canonical id (created by the gateway or linked to it), with how many of their
   * comments contain `marker`.
   */
  correlated(marker: string): { externalId: string; canonicalId: string; markerComments: number }[];
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** Words the steady-load bench puts in comments (`steady<run>n<event>x`): plain, so every markup keeps them. */
const landingMarker = /steady[0-9a-f]+n\d+x/g;

/**
 * Serves a simulator on a loopback port with the bench control endpoints, and prints `listening <port>`
 * for bench/lib.ts `startScript`:
 * - `POST /__bench/webhook {url, secret}`: where webhooks go, once the gateway's connection exists;
 * - `POST /__bench/agent-create {count, prefix}`: the simulated agent opens `count` records -> `{ids}`;
 * - `POST /__bench/settled`: waits for webhook deliveries in flight -> `{delivered, failed}`;
 * - `GET /__bench/stats?marker=...`: `{requests, webhooks, correlated}`;
 * - `POST /__bench/agent-comment {externalId, body}`: the simulated agent comments on a record -> `{at}`;
 * - `GET /__bench/landed`: `{[marker]: epoch ms}`, when each steady-load marker first reached the vendor API in
 *   a write (the moment the simulator answered it).
 */
export function serveBenchSimulator(sim: BenchSimulator): void {
  const landed = new Map<string, number>();
  const vendorFetch = async (request: Request): Promise<Response> => {
    if (request.method === "GET") return sim.fetch(request);
    // Read once and passed on as a new request (no tee of the incoming stream).
    const body = await request.text();
    const response = await sim.fetch(
      new Request(request.url, { method: request.method, headers: request.headers, body }),
    );
    if (response.ok) {
      const at = Date.now();
      for (const [marker] of body.matchAll(landingMarker)) if (!landed.has(marker)) landed.set(marker, at);
    }
    return response;
  };
  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/__bench/")) return vendorFetch(request);
    try {
      switch (`${request.method} ${url.pathname}`) {
        case "POST /__bench/webhook": {
          const body = (await request.json()) as { url: string; secret: string };
          sim.setWebhook(body.url, body.secret);
          return json({ ok: true });
        }
        case "POST /__bench/agent-create": {
          const body = (await request.json()) as { count: number; prefix: string };
          const ids: string[] = [];
          for (let i = 0; i < body.count; i++) ids.push(sim.agentCreate(i, body.prefix));
          return json({ ids });
        }
        case "POST /__bench/agent-comment": {
          const body = (await request.json()) as { externalId: string; body: string };
          // The agent's save, which sends the webhook: where the latency of an inbound change starts.
          const at = Date.now();
          sim.agentComment(body.externalId, body.body);
          return json({ at });
        }
        case "GET /__bench/landed":
          return json(Object.fromEntries(landed));
        case "POST /__bench/settled":
          await sim.settled();
          return json(sim.webhooks());
        case "GET /__bench/stats":
          return json({
            requests: sim.requestCount(),
            webhooks: sim.webhooks(),
            correlated: sim.correlated(url.searchParams.get("marker") ?? "\u0000"),
          });
        default:
          return json({ error: `no bench control ${request.method} ${url.pathname}` }, 404);
      }
    } catch (error) {
      return json({ error: error instanceof Error ? error.message : String(error) }, 500);
    }
  };
  const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
    sim.setBaseUrl(`http://127.0.0.1:${info.port}`);
    process.stdout.write(`listening ${info.port}\n`);
  }) as Server;
  // Clients on a loaded machine may reuse an idle connection late: the simulator keeps it open a minute.
  server.keepAliveTimeout = 60_000;
}
