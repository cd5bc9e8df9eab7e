import { createHash } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../src/ledger/keys.js";
import { engine, TEST_ADMIN_TOKEN } from "../harness.js";
import {
  findPostgresBin,
  type GatewayProcess,
  type PrivatePostgres,
  startGateway,
  startPrivatePostgres,
  waitUntil,
} from "./processes.js";

const DB_NAME = "gateway_outage";

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

// The real server entry against a private PostgreSQL the test kills and restarts (the shared server is
// never touched). PostgreSQL pass only: it needs the PostgreSQL binaries and real processes.
describe.runIf(engine === "postgres" && findPostgresBin() !== null)(
  "database outages (private PostgreSQL, real gateway process)",
  () => {
    let pg: PrivatePostgres;
    let gateway: GatewayProcess;
    let tenantKey: string;
    const secretBody = "comment body that must never reach a log 7f3a";
    const idempotencyKey = "idem-key-that-must-never-reach-a-log-91c2";

    async function send(method: string, path: string, token: string | null, body?: unknown, key?: string) {
      const headers: Record<string, string> = {};
      if (token) headers["authorization"] = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      if (key) headers["idempotency-key"] = key;
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: res.status, text: await res.text(), headers: res.headers } satisfies Answer;
    }

    /** Requests a client keeps sending during faults: reads, writes with and without a key. */
    async function traffic(round: number): Promise<Answer[]> {
      return Promise.all([
        send("GET", "/v1/tickets?limit=5", tenantKey),
        send("POST", "/v1/tickets", tenantKey, { title: `load ${round}`, priority: "P3" }),
        send(
          "POST",
          "/v1/tickets",
          tenantKey,
          { title: secretBody, priority: "P3" },
          `${idempotencyKey}-${round}`,
        ),
        send("GET", "/readyz", null),
      ]);
    }

    function expectNoCrashAndOnly(answers: Answer[], allowed: number[]) {
      expect(gateway.exitCode(), gateway.stderr.join("\n")).toBeUndefined();
      for (const a of answers) {
        expect(allowed, `${a.status} ${a.text}`).toContain(a.status);
        if (a.status === 503 && a.headers.get("content-type")?.includes("problem+json")) {
          expect(a.headers.get("retry-after")).toMatch(/^\d+$/);
        }
      }
    }

    beforeAll(async () => {
      pg = await startPrivatePostgres();
      const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${DB_NAME}`);
      await admin.end();
      const url = pg.url.replace(/\/postgres$/, `/${DB_NAME}`);
      gateway = await startGateway("src/server.ts", {
        DATABASE_URL: url,
        GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        SECRETS_KEY: Buffer.alloc(32, 7).toString("base64"),
        LEDGER_SIGNING_KEY: generateSigningKey(),
        NODE_ENV: "test",
        LOG_LEVEL: "info",
        WORKER_TICK_MS: "200",
      });
      const tenant = await send("POST", "/v1/tenants", TEST_ADMIN_TOKEN, {
        name: "Outage",
        plan: "ombori-production",
      });
      expect(tenant.status, tenant.text).toBe(201);
      tenantKey = JSON.parse(tenant.text).apiKey;
    }, 180_000);

    afterAll(async () => {
      await gateway?.stop();
      pg?.destroy();
    });

    async function terminateGatewaySessions() {
      const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        // Only this test's own database (its own private server, too).
        await admin`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = ${DB_NAME} and pid <> pg_backend_pid()`;
      } finally {
        await admin.end();
      }
    }

    it("survives repeated session kills under load, answering 503 (never 500) and recovering", async () => {
      const answers: Answer[] = [];
      for (let round = 0; round < 15; round++) {
        const load = traffic(round);
        await new Promise((r) => setTimeout(r, round % 3 === 0 ? 0 : 5 * round));
        await terminateGatewaySessions();
        answers.push(...(await load));
      }
      expectNoCrashAndOnly(answers, [200, 201, 503]);
      await waitUntil("ready again", async () => (await send("GET", "/readyz", null)).status === 200);
      const after = await send("POST", "/v1/tickets", tenantKey, { title: "after kills", priority: "P2" });
      expect(after.status, after.text).toBe(201);
    }, 180_000);

    it("answers 503 with Retry-After while PostgreSQL is down, /readyz turns 503 and back", async () => {
      pg.kill();
      const during = await traffic(100);
      expectNoCrashAndOnly(during, [503]);
      for (const a of during) expect(a.headers.get("retry-after")).toMatch(/^\d+$/);
      const problem = during.find((a) => a.headers.get("content-type")?.includes("problem+json"));
      expect(JSON.parse(problem!.text).type).toBe("/problems/unavailable");
      expect((await send("GET", "/readyz", null)).status).toBe(503);
      // A few seconds of outage: the worker loops keep failing and must not take the process down.
      await new Promise((r) => setTimeout(r, 2000));
      expect(gateway.exitCode()).toBeUndefined();

      pg.start();
      await waitUntil("ready after restart", async () => (await send("GET", "/readyz", null)).status === 200);
      const after = await send("POST", "/v1/tickets", tenantKey, { title: "after restart", priority: "P2" });
      expect(after.status, after.text).toBe(201);
      const list = await send("GET", "/v1/tickets?limit=1", tenantKey);
      expect(list.status).toBe(200);
    }, 180_000);

    it("logged database errors by SQLSTATE and statement, never parameters, key hashes or bodies", () => {
      const logs = gateway.stdout.join("\n");
      const keyHash = createHash("sha256").update(tenantKey).digest("hex");
      expect(logs).not.toContain(keyHash);
      expect(logs).not.toContain(tenantKey);
      expect(logs).not.toContain(idempotencyKey);
      expect(logs).not.toContain(secretBody);
      expect(logs).not.toMatch(/Failed query|params:/);
      const dbErrors = gateway.stdout
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { err?: Record<string, unknown> })
        .filter((l) => l.err?.["type"] === "DatabaseError");
      expect(dbErrors.length).toBeGreaterThan(0);
      expect(dbErrors.some((l) => typeof l.err?.["sqlState"] === "string")).toBe(true);
      expect(dbErrors.some((l) => typeof l.err?.["statement"] === "string")).toBe(true);
      expect(gateway.stderr.join("\n")).not.toMatch(/nextWrite|TypeError/);
    });
  },
);
