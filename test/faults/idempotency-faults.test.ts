import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { createTestDatabase, engine, TEST_ADMIN_TOKEN, type TestDatabase } from "../harness.js";
import { type GatewayProcess, startGateway } from "./processes.js";

type Fault = `kill-session@${"claimed" | "handled" | "stored"}` | `kill-process@${"handled" | "committed"}`;
const faults: Fault[] = [
  "kill-session@claimed",
  "kill-session@handled",
  "kill-session@stored",
  "kill-process@handled",
  "kill-process@committed",
];

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

// Real processes and real session kills: PostgreSQL only.
describe.runIf(engine === "postgres")("Idempotency-Key under database faults (PostgreSQL)", () => {
  let database: TestDatabase;
  let gateway: GatewayProcess;
  let tenantKey: string;
  let ticketId: string;

  const fired: string[] = [];
  const start = () =>
    startGateway("test/faults/fault-gateway.ts", {
      DATABASE_URL: database.testUrl!,
      GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      FAULTS_FIRED: fired.join("\n"),
    });

  async function send(token: string, path: string, body: unknown, key: string): Promise<Answer | null> {
    try {
      const res = await fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "idempotency-key": key,
        },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    } catch {
      return null; // the process died before answering
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await start();
    const tenant = await fetch(`${gateway.url}/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Faulty", plan: "ombori-production" }),
    }).then((r) => r.json() as Promise<{ apiKey: string }>);
    tenantKey = tenant.apiKey;
    const ticket = await fetch(`${gateway.url}/v1/tickets`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenantKey}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Comment target", priority: "P3" }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    ticketId = ticket.id;
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    await database?.close();
  });

  const count = async (query: ReturnType<typeof sql>) =>
    (await queryRows<{ n: number }>(database.db, query))[0]!.n;

  /** The first try meets the fault; the retry (after a restart if the process died) must see one effect. */
  async function firstTryAndRetry(fault: Fault, token: string, path: string, body: unknown) {
    const key = `${fault}:${path}`;
    const first = await send(token, path, body, key);
    if (fault.startsWith("kill-process")) {
      expect(first, "the process was to die before answering").toBeNull();
      await gateway.exited;
      fired.push(`${fault.split("@")[1]} ${key}`);
      gateway = await start();
    } else {
      expect(first?.status, JSON.stringify(first?.body)).toBe(503);
      expect(first?.headers.get("content-type")).toContain("application/problem+json");
      expect(first?.headers.get("retry-after")).toMatch(/^\d+$/);
    }
    const retry = await send(token, path, body, key);
    const again = await send(token, path, body, key);
    return { first, retry, again, key };
  }

  describe.each(faults)("%s", (fault) => {
    const committed = fault === "kill-process@committed";

    it("creates the ticket once and answers the retry with the first outcome", async () => {
      const title = `ticket ${fault}`;
      const { retry, again } = await firstTryAndRetry(fault, tenantKey, "/v1/tickets", {
        title,
        priority: "P2",
      });
      expect(again?.body).toEqual(retry?.body);
      const n = await count(sql`select count(*)::int as n from tickets where title = ${title}`);
      expect(n).toBe(1);
      expect(retry?.status, JSON.stringify(retry?.body)).toBe(201);
      expect(retry?.headers.get("idempotent-replayed") ?? "false").toBe(committed ? "true" : "false");
      const [stored] = await queryRows<{ id: string }>(
        database.db,
        sql`select id from tickets where title = ${title}`,
      );
      expect(retry?.body.id).toBe(stored!.id);
    }, 120_000);

    it("adds the comment once", async () => {
      const text = `comment ${fault}`;
      const { retry, again } = await firstTryAndRetry(fault, tenantKey, `/v1/tickets/${ticketId}/comments`, {
        body: text,
        visibility: "public",
      });
      expect(again?.body).toEqual(retry?.body);
      expect(retry?.status, JSON.stringify(retry?.body)).toBe(201);
      expect(await count(sql`select count(*)::int as n from comments where body = ${text}`)).toBe(1);
      const entries = await count(
        sql`select count(*)::int as n from ledger_entries where kind = 'comment.added' and detail->>'commentId' = ${retry?.body.id}`,
      );
      expect(entries).toBe(1);
    }, 120_000);

    it("creates a tenant (a one-time secret) once; after a commit the retry is 409 not replayable", async () => {
      const name = `tenant ${fault}`;
      const { retry, again } = await firstTryAndRetry(fault, TEST_ADMIN_TOKEN, "/v1/tenants", {
        name,
        plan: "ombori-pilot",
      });
      expect(await count(sql`select count(*)::int as n from tenants where name = ${name}`)).toBe(1);
      if (committed) {
        expect(retry?.status).toBe(409);
        expect(retry?.body.type).toBe("/problems/idempotency-not-replayable");
      } else {
        expect(retry?.status, JSON.stringify(retry?.body)).toBe(201);
        expect(retry?.body.apiKey).toMatch(/\S{20,}/);
      }
      expect(again?.status).toBe(409);
    }, 120_000);
  });

  it("kept the gateway alive through every session kill", () => {
    expect(gateway.exitCode()).toBeUndefined();
    expect(gateway.stderr.join("\n")).not.toMatch(/nextWrite|uncaught/i);
  });
});
