// Graceful shutdown with real processes: a request still being sent when SIGTERM arrives completes, new
// connections are refused, the worker stops, the database closes and the process exits 0; a request held
// past SHUTDOWN_TIMEOUT_MS is cut and the process exits 1 at the deadline, not later.

import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  killRunningProcesses,
  PROCESS_ADMIN_TOKEN,
  processDatabaseEnv,
  startProcess,
} from "../gateway-process.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  killRunningProcesses();
  for (const drop of drops) await drop();
});

async function startGateway(env: NodeJS.ProcessEnv) {
  const database = await processDatabaseEnv();
  drops.push(database.drop);
  const gateway = startProcess(["--import", "tsx", "src/server.ts"], { ...database.env, ...env }, root);
  const url = await gateway.listening;
  return { gateway, url };
}

/**
 * A POST /v1/tenants whose body is sent in two halves: it is in flight until `finish()`. `Expect:
 * 100-continue` makes the server confirm it has parsed the headers (the request is active, not an idle
 * connection) before the first half is sent; `inFlight` resolves then.
 */
function slowCreateTenant(url: string) {
  const body = Buffer.from(JSON.stringify({ name: "Slow Co", plan: "ombori-production" }));
  const { hostname, port } = new URL(url);
  const req = httpRequest({
    hostname,
    port,
    method: "POST",
    path: "/v1/tenants",
    headers: {
      authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
      "content-type": "application/json",
      "content-length": body.length,
      expect: "100-continue",
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  response.catch(() => {});
  const inFlight = new Promise<void>((resolve) =>
    req.once("continue", () => {
      req.write(body.subarray(0, 10), () => resolve());
    }),
  );
  req.flushHeaders();
  return { response, inFlight, finish: () => req.end(body.subarray(10)) };
}

function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A process starts in 5-10 s on an idle machine (PGlite's first migration dominates), far slower on a
// loaded one: the generous timeout is for start-up, the assertions on shutdown timing are tight.
const START_BUDGET_MS = 180_000;

describe.concurrent("SIGTERM", () => {
  it(
    "finishes the request in flight, refuses new connections, stops the worker and exits 0",
    async () => {
      const { gateway, url } = await startGateway({ SHUTDOWN_TIMEOUT_MS: "20000", WORKER_TICK_MS: "200" });
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { worker: { loops: unknown[] } | null };
      expect(ready.worker?.loops.length, JSON.stringify(ready)).toBeGreaterThan(0);

      const slow = slowCreateTenant(url);
      await slow.inFlight; // the server has parsed the headers and the first half of the body is sent
      await sleep(200);
      gateway.child.kill("SIGTERM");
      // The listener closes as soon as the process handles the signal (slower on a loaded machine).
      let refused = false;
      for (let waited = 0; !refused && waited < 15_000; waited += 200) {
        refused = await connectionRefused(url);
        if (!refused) await sleep(200);
      }
      expect(refused, "a new connection after SIGTERM is refused").toBe(true);
      expect(gateway.child.exitCode, `exited while a request was in flight:\n${gateway.output()}`).toBeNull();

      slow.finish();
      const response = await slow.response;
      expect(response.status, response.body).toBe(201);
      expect(JSON.parse(response.body)).toMatchObject({ name: "Slow Co" });
      expect(await gateway.exited, gateway.output()).toBe(0);
      expect(gateway.output()).toMatch(/"drained":true/);
    },
    START_BUDGET_MS,
  );

  it(
    "cuts a request held past SHUTDOWN_TIMEOUT_MS and exits 1 at the deadline",
    async () => {
      const { gateway, url } = await startGateway({ SHUTDOWN_TIMEOUT_MS: "1500", RUN_WORKER: "false" });
      const slow = slowCreateTenant(url);
      await slow.inFlight;
      await sleep(200);
      const signalled = Date.now();
      gateway.child.kill("SIGTERM");
      const code = await gateway.exited;
      const tookMs = Date.now() - signalled;
      await expect(slow.response).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(code, gateway.output()).toBe(1);
      expect(tookMs).toBeGreaterThanOrEqual(1400);
      expect(tookMs).toBeLessThan(15_000);
      expect(gateway.output()).toMatch(/shutdown deadline passed/);
    },
    START_BUDGET_MS,
  );
});
