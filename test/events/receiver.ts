import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { LedgerEntryInput } from "../../src/ledger/append.js";

/** The `sla.breached` entry the SLA timers write for a ticket's resolution clock, due at a fixed instant. */
export function breachEntry(ticket: { id: string; tenantId: string }): LedgerEntryInput {
  return {
    tenantId: ticket.tenantId,
    ticketId: ticket.id,
    direction: "internal",
    kind: "sla.breached",
    actor: { type: "system", id: "sla-timers" },
    side: "provider",
    detail: {
      clock: "resolution",
      cycle: 1,
      dueAt: "2026-11-23T13:00:00Z",
      detectedAt: "2026-11-23T13:00:01Z",
    },
  };
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A subscriber's endpoint on a real loopback port: records every request and answers the next status of
 * its path's script (the last status repeats; 200 without one).
 */
export async function startReceiver() {
  const received: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const script = scripts.get(path) ?? [];
      const status = script.length > 1 ? script.shift()! : (script[0] ?? 200);
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** The statuses the next requests to `path` get, in order. */
    answer(path: string, statuses: number[]) {
      scripts.set(path, [...statuses]);
    },
    /** Requests to one path (each subscription gets its own path). */
    at(path: string) {
      return received.filter((r) => r.path === path);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
