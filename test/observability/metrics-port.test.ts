// METRICS_PORT in real processes: `npm start` (and, on PostgreSQL, `npm run worker`, which serves no API)
// answer GET /metrics on that port without auth, and close it on SIGTERM with a clean exit.

import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killRunningProcesses, processDatabaseEnv, startProcess } from "../gateway-process.js";
import { engine } from "../harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
afterAll(() => killRunningProcesses());

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function scrapeUntilUp(url: string, output: () => string): Promise<Response> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} never answered: ${error}\n${output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const entries = [
  { name: "npm start", args: ["--import", "tsx", "src/server.ts"], api: true },
  ...(engine === "postgres"
    ? [{ name: "npm run worker", args: ["--import", "tsx", "src/worker-main.ts"], api: false }]
    : []),
];

describe.each(entries)("METRICS_PORT in $name", ({ args, api }) => {
  it("serves /metrics without auth, and stops with the process", async () => {
    const database = await processDatabaseEnv();
    const port = await freePort();
    const gateway = startProcess(args, { ...database.env, METRICS_PORT: String(port) }, root);
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      const res = await scrapeUntilUp(url, gateway.output);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(text).toContain("# TYPE tsg_jobs_pending gauge");
      expect(text).toContain("tsg_jobs_pending{kind=");
      if (api) {
        const base = await gateway.listening;
        expect((await fetch(`${base}/metrics`)).status, "the API port still wants a token").toBe(401);
      }
      gateway.child.kill("SIGTERM");
      expect(await gateway.exited, gateway.output()).toBe(0);
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      gateway.child.kill("SIGKILL");
      await database.drop();
    }
  }, 120_000);
});
