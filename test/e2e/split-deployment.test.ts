import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adfToCanonical } from "../../connectors/jsm/adf.js";
import { createJsmSimulator, type JsmSimulatorOptions } from "../../connectors/jsm/simulator.js";
import { conformance as mefSonataAdapters } from "../../connectors/mef-sonata/test/conformance.js";
import type {
  CarrierConformanceAdapter,
  CarrierSimulatorHandle,
} from "../../connectors/sdk/testing/carrier-conformance.js";
import { createServiceNowSimulator } from "../../connectors/servicenow/simulator.js";
import { conformance as tmf621Adapters } from "../../connectors/tmf621/test/conformance.js";
import { createZendeskSimulator, simulatorUsers } from "../../connectors/zendesk/simulator.js";
import { queryRows } from "../../src/db/client.js";
import { periodicJobKinds } from "../../src/db/schema/index.js";
import { generateSigningKey } from "../../src/ledger/keys.js";
import { createTestDatabase, engine, TEST_ADMIN_TOKEN, type TestDatabase } from "../harness.js";
import { type Listening, listen } from "./sync-harness.js";

// Issue 9's production shape, as real processes on PostgreSQL: one API process with RUN_WORKER=false and two
// `npm run worker` processes sharing one database. Everything is driven over real HTTP: the test talks to the
// API process, the vendors' simulators (in this process, on loopback ports) send their webhooks and carrier
// events to it, and only the worker processes call the vendors.

type Json = Record<string, unknown>;

interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the gateway API
  body: any;
  text: string;
}

/** A servicedesk simulator as this test drives and inspects it. */
interface Desk {
  type: "servicenow" | "zendesk" | "jsm";
  app: { fetch(request: Request): Response | Promise<Response> };
  setBaseUrl(url: string): void;
  settings(baseUrl: string, webhookSecret: string): Json;
  setWebhookTarget(url: string, secret: string): void;
  /** External ids of the vendor records carrying this canonical ticket id. */
  records(ticketId: string): string[];
  comments(externalId: string): { body: string; public: boolean }[];
  title(externalId: string): string | undefined;
  /** A human at the vendor renames the record and adds a public comment. */
  agentEdit(externalId: string, title: string, comment: string): void;
  /** Statuses the gateway answered the simulator's webhooks with (null: not delivered). */
  webhookStatuses(): (number | null)[];
  settled(): Promise<void>;
}

function serviceNowDesk(): Desk {
  const options: Parameters<typeof createServiceNowSimulator>[0] = {};
  const sim = createServiceNowSimulator(options);
  return {
    type: "servicenow",
    app: sim.app,
    setBaseUrl: (url) => sim.setInstanceUrl(url),
    settings: (baseUrl, webhookSecret) => ({
      baseUrl,
      auth: { type: "basic", username: sim.integrationUser.username, password: sim.integrationUser.password },
      webhookSecret,
    }),
    setWebhookTarget: (url, secret) => {
      options.webhook = { url, secret };
    },
    records: (ticketId) =>
      [...sim.state.incidents.values()]
        .filter((r) => r["correlation_id"] === ticketId)
        .map((r) => r["sys_id"]!),
    comments: (sysId) =>
      sim.state.journal
        .filter((j) => j["element_id"] === sysId)
        .map((j) => ({ body: j["value"] ?? "", public: j["element"] === "comments" })),
    title: (sysId) => sim.state.incidents.get(sysId)?.["short_description"],
    agentEdit: (sysId, title, comment) => {
      sim.simulateAgentUpdate(sysId, { short_description: title, comments: comment });
    },
    webhookStatuses: () => sim.webhooks.delivered.map((d) => d.status),
    settled: () => sim.settled(),
  };
}

function zendeskDesk(): Desk {
  const options: Parameters<typeof createZendeskSimulator>[0] = {};
  const sim = createZendeskSimulator(options);
  return {
    type: "zendesk",
    app: sim.app,
    setBaseUrl: (url) => sim.setAccountUrl(url),
    settings: (baseUrl, webhookSecret) => ({
      baseUrl,
      auth: { type: "basic", username: `${simulatorUsers.integration.email}/token`, password: sim.apiToken },
      integrationUserId: simulatorUsers.integration.id,
      webhookSecret,
    }),
    setWebhookTarget: (url, secret) => {
      options.webhook = { url, secret, kind: "trigger" };
    },
    records: (ticketId) =>
      [...sim.state.tickets.values()].filter((t) => t.external_id === ticketId).map((t) => String(t.id)),
    comments: (id) =>
      sim.state.comments
        .filter((c) => c.ticket_id === Number(id))
        .map((c) => ({ body: c.body, public: c.public })),
    title: (id) => sim.state.tickets.get(Number(id))?.subject,
    agentEdit: (id, title, comment) => {
      sim.simulateAgentUpdate(Number(id), { subject: title });
      sim.simulateAgentComment(Number(id), { body: comment, public: true });
    },
    webhookStatuses: () => sim.webhooks.delivered.map((d) => d.status),
    settled: () => sim.settled(),
  };
}

function jsmDesk(): Desk {
  const options: JsmSimulatorOptions = {};
  const sim = createJsmSimulator(options);
  return {
    type: "jsm",
    app: sim.app,
    setBaseUrl: (url) => sim.setSiteUrl(url),
    settings: (baseUrl, webhookSecret) => sim.connectionSettings(baseUrl, webhookSecret),
    setWebhookTarget: (url, secret) => {
      options.webhook = { url, secret };
    },
    records: (ticketId) =>
      [...sim.state.issues.values()]
        .filter((issue) => issue.custom["customfield_10050"] === ticketId)
        .map((issue) => issue.id),
    comments: (id) =>
      (sim.state.issues.get(id)?.comments ?? []).map((c) => ({
        body: adfToCanonical(c.body) ?? "",
        public: c.public,
      })),
    title: (id) => sim.state.issues.get(id)?.summary,
    agentEdit: (id, title, comment) => {
      sim.simulateAgentUpdate(id, { summary: title });
      sim.simulateAgentComment(id, { body: comment, public: true });
    },
    webhookStatuses: () => sim.webhooks.delivered.map((d) => d.status),
    settled: () => sim.settled(),
  };
}

/** The last bytes a child wrote, for failure messages. */
class Tail {
  private text = "";
  push(chunk: Buffer | string) {
    this.text = (this.text + chunk.toString()).slice(-4000);
  }
  toString() {
    return this.text;
  }
}

const show = (value: unknown) => JSON.stringify(value, null, 1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A client of the API process over a fresh connection per request (`agent: false`): a reused keep-alive socket
 * that the server closes at the same moment fails the request ("other side closed") on a busy machine.
 */
function httpApi(baseUrl: string, token: string) {
  const send = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
      if (payload !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(payload);
      }
      const req = httpRequest(`${baseUrl}${path}`, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      });
      req.on("error", reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.end(payload);
    });
  return {
    get: (path: string) => send("GET", path),
    post: (path: string, body: unknown = {}) => send("POST", path, body),
  };
}
type HttpApi = ReturnType<typeof httpApi>;

/** Spawning three `node --import tsx` processes on a busy 2-core machine can take a while. */
const startupMs = 120_000;
/** The pid in a worker id (`host:pid:random`). */
const pidOf = (workerId: string) => Number(/:(\d+):[^:]+$/.exec(workerId)?.[1]);

const servicedeskSecret = "split-deployment-webhook-secret-000000";
const carrierSecret = "split-deployment-carrier-path-secret-0000";

describe.runIf(engine === "postgres")(
  "split deployment: one API process and two workers on PostgreSQL",
  () => {
    let database: TestDatabase;
    const servers: Listening[] = [];
    const children: { name: string; child: ChildProcess; output: Tail }[] = [];
    let apiUrl: string;
    let admin: HttpApi;

    // Made in beforeAll, so a skipped run (PGlite) builds nothing.
    let desks: Desk[] = [];
    const deskState = new Map<Desk["type"], { tenant: HttpApi; tenantId: string; connectionId: string }>();
    let carriers: { adapter: CarrierConformanceAdapter; sim: CarrierSimulatorHandle }[] = [];
    const carrierConnections = new Map<string, { id: string; webhookUrl: string }>();
    let carrierTenantId: string;
    /** Canonical tickets per servicedesk, set by the first test and used by the next ones. */
    const deskTickets = new Map<Desk["type"], { ticketId: string; externalId: string }>();

    function spawnGateway(name: string, entry: string, env: NodeJS.ProcessEnv) {
      const output = new Tail();
      const child = spawn(process.execPath, ["--import", "tsx", entry], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout!.on("data", (d) => output.push(d));
      child.stderr!.on("data", (d) => output.push(d));
      children.push({ name, child, output });
      return child;
    }

    const workerPids = () => children.filter((c) => c.name.startsWith("worker")).map((c) => c.child.pid!);

    const processReport = () =>
      children
        .map(
          ({ name, child, output }) =>
            `--- ${name} (pid ${child.pid}, exit ${child.exitCode ?? child.signalCode ?? "running"}):\n${output}`,
        )
        .join("\n");

    /** The queue's unfinished work, for failure messages. */
    async function queueReport() {
      const rows = await queryRows(
        database.db,
        sql`select id, kind, status, connection_id, order_key, attempts, locked_by, last_error, dead_reason
          from jobs where status not in ('done', 'skipped') and kind not in ('sla.timers', 'jobs.prune')
          order by id`,
      );
      return show(rows);
    }

    /** Polls `check` every 100 ms until it returns a value other than undefined/false, or fails with state. */
    async function waitFor<T>(
      what: string,
      check: () => Promise<T | undefined | false> | T | undefined | false,
      state: () => unknown = () => null,
      timeoutMs = 45_000,
    ): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value !== undefined && value !== false) return value;
        const dead = children.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
        if (dead || Date.now() > deadline) {
          throw new Error(
            `${dead ? `${dead.name} exited` : `timed out after ${timeoutMs} ms`} waiting for ${what}\n` +
              `state: ${show(await state())}\nopen jobs: ${await queueReport()}\n${processReport()}`,
          );
        }
        await sleep(100);
      }
    }

    /** True when no effect job (delivery or inbox) concerning `orderKey` is still open. */
    async function quiet(orderKey: string) {
      const [open] = await queryRows<{ count: number }>(
        database.db,
        sql`select count(*)::int as count from jobs
          where order_key = ${orderKey} and status not in ('done', 'skipped')
            and kind not in ('connection.poll', 'sla.timers', 'jobs.prune')`,
      );
      return open!.count === 0;
    }

    const settleAll = () =>
      Promise.all([...desks.map((d) => d.settled()), ...carriers.map((c) => c.sim.settled())]);

    beforeAll(
      async () => {
        database = await createTestDatabase();
        // Test-only bookkeeping in this file's own database: who claimed which job (a claim counts an attempt).
        await database.db.execute(
          sql.raw(
            `create table test_job_claims (job_id bigint not null, kind text not null, locked_by text not null);
             create function test_record_job_claim() returns trigger language plpgsql as $$
             begin
               if new.locked_by is not null and new.attempts > old.attempts then
                 insert into test_job_claims values (new.id, new.kind, new.locked_by);
               end if;
               return new;
             end $$;
             create trigger test_job_claims after update on jobs
               for each row execute function test_record_job_claim();`,
          ),
        );
        const port = await freePort();
        apiUrl = `http://127.0.0.1:${port}`;
        admin = httpApi(apiUrl, TEST_ADMIN_TOKEN);

        const env: NodeJS.ProcessEnv = {
          ...process.env,
          DATABASE_URL: database.testUrl!,
          GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
          SECRETS_KEY: randomBytes(32).toString("base64"),
          LEDGER_SIGNING_KEY: generateSigningKey(),
          PUBLIC_URL: apiUrl,
          HOST: "127.0.0.1",
          PORT: String(port),
          NODE_ENV: "test",
          LOG_LEVEL: "error",
          CONNECTOR_HOST_ALLOWLIST: "127.0.0.1",
          WORKER_TICK_MS: "100",
          SYNC_LEASE_MS: "10000",
          SYNC_HTTP_TIMEOUT_MS: "3000",
          SYNC_BACKOFF_BASE_MS: "50",
          SYNC_BACKOFF_CAP_MS: "500",
          SYNC_POLL_INTERVAL_MS: "500",
        };
        spawnGateway("api", "src/server.ts", { ...env, RUN_WORKER: "false" });
        spawnGateway("worker 1", "src/worker-main.ts", env);
        spawnGateway("worker 2", "src/worker-main.ts", env);
        // The vendors' simulators start while the processes do.
        desks = [serviceNowDesk(), zendeskDesk(), jsmDesk()];
        carriers = [...tmf621Adapters, ...mefSonataAdapters].map((adapter) => ({
          adapter,
          sim: adapter.createSimulator(),
        }));
        const listening = await Promise.all([
          ...desks.map((d) => listen(d.app)),
          ...carriers.map((c) => listen(c.sim.app)),
        ]);
        servers.push(...listening);
        for (const [i, desk] of desks.entries()) desk.setBaseUrl(listening[i]!.url);
        for (const [i, carrier] of carriers.entries())
          carrier.sim.setOrigin(listening[desks.length + i]!.url);
        await waitFor(
          "the API process's /readyz",
          async () => {
            try {
              return (await admin.get("/readyz")).status === 200;
            } catch {
              return false;
            }
          },
          () => null,
          startupMs,
        );
        // Both worker processes are up once each has claimed a job (the SLA timer job runs every tick).
        await waitFor(
          "both worker processes claiming jobs",
          async () => {
            const claimers = await queryRows<{ locked_by: string }>(
              database.db,
              sql`select distinct locked_by from test_job_claims`,
            );
            const pids = new Set(claimers.map((c) => pidOf(c.locked_by)));
            return workerPids().every((pid) => pids.has(pid));
          },
          () => null,
          startupMs,
        );

        // The servicedesk tenants: one tenant per vendor, each connecting its own servicedesk with its own key.
        for (const desk of desks) {
          const tenant = await admin.post("/v1/tenants", {
            name: `Tenant on ${desk.type}`,
            plan: "ombori-production",
          });
          expect(tenant.status, tenant.text).toBe(201);
          const tenantApi = httpApi(apiUrl, tenant.body.apiKey);
          const baseUrl = listening[desks.indexOf(desk)]!.url;
          const connection = await tenantApi.post("/v1/connections", {
            type: desk.type,
            name: `${desk.type} (split deployment)`,
            role: "servicedesk",
            settings: desk.settings(baseUrl, servicedeskSecret),
          });
          expect(connection.status, connection.text).toBe(201);
          desk.setWebhookTarget(connection.body.webhookUrl, servicedeskSecret);
          deskState.set(desk.type, {
            tenant: tenantApi,
            tenantId: tenant.body.id,
            connectionId: connection.body.id,
          });
        }

        // The provider's carriers, and a tenant whose tickets are delegated to them (it has no servicedesk).
        const carrierTenant = await admin.post("/v1/tenants", {
          name: "Tenant with carrier legs",
          plan: "ombori-production",
        });
        expect(carrierTenant.status, carrierTenant.text).toBe(201);
        carrierTenantId = carrierTenant.body.id;
        for (const [i, { adapter, sim }] of carriers.entries()) {
          const res = await admin.post("/v1/connections", {
            type: adapter.type,
            name: `${adapter.name} (split deployment)`,
            role: "carrier",
            settings: sim.settings(listening[desks.length + i]!.url, `${carrierSecret}-${i}`),
          });
          expect(res.status, res.text).toBe(201);
          carrierConnections.set(adapter.name, res.body);
        }
      },
      2 * startupMs + 30_000,
    );

    afterAll(async () => {
      for (const { child } of children) child.kill("SIGKILL");
      await Promise.all(
        children.map(({ child }) =>
          child.exitCode !== null || child.signalCode !== null
            ? Promise.resolve()
            : new Promise((resolve) => child.once("exit", resolve)),
        ),
      );
      await settleAll().catch(() => {});
      for (const server of servers) await server.close();
      await database?.close();
    });

    it("delivers each servicedesk tenant's ticket and public comment once, and never its internal note", async () => {
      await Promise.all(
        desks.map(async (desk) => {
          const { tenant } = deskState.get(desk.type)!;
          const ticket = await tenant.post("/v1/tickets", {
            title: `Router down (${desk.type})`,
            priority: "P2",
          });
          expect(ticket.status, ticket.text).toBe(201);
          const ticketId = ticket.body.id as string;
          const publicText = `Public reply on ${desk.type}`;
          const internalText = `Internal note on ${desk.type}`;
          for (const [body, visibility] of [
            [publicText, "public"],
            [internalText, "internal"],
          ] as const) {
            const res = await admin.post(`/v1/tickets/${ticketId}/comments`, { body, visibility });
            expect(res.status, res.text).toBe(201);
          }
          const externalId = await waitFor(
            `${desk.type}: the record and its public comment`,
            async () => {
              const [id] = desk.records(ticketId);
              return id !== undefined &&
                desk.comments(id).some((c) => c.body.includes(publicText)) &&
                (await quiet(ticketId))
                ? id
                : undefined;
            },
            () => desk.records(ticketId).map((id) => ({ id, comments: desk.comments(id) })),
          );
          expect(desk.records(ticketId), `${desk.type}: records carrying ${ticketId}`).toEqual([externalId]);
          const comments = desk.comments(externalId);
          const published = comments.filter((c) => c.body.includes(publicText));
          expect(published, `${desk.type}: ${show(comments)}`).toHaveLength(1);
          expect(published[0]!.public, `${desk.type}: ${show(comments)}`).toBe(true);
          expect(
            comments.filter((c) => c.body.includes(internalText)),
            `${desk.type}: internal notes stay with the provider`,
          ).toEqual([]);
          deskTickets.set(desk.type, { ticketId, externalId });
        }),
      );
    }, 90_000);

    it("brings a vendor-side edit and comment back into the canonical ticket, without echoing it", async () => {
      await Promise.all(
        desks.map(async (desk) => {
          const { tenant } = deskState.get(desk.type)!;
          const { ticketId, externalId } = deskTickets.get(desk.type)!;
          const title = `Router down (${desk.type}), edited at the vendor`;
          const comment = `Agent at ${desk.type}: any news?`;
          const statusesBefore = desk.webhookStatuses().length;
          desk.agentEdit(externalId, title, comment);
          await waitFor(
            `${desk.type}: the vendor's edit in the canonical ticket`,
            async () => {
              const current = await tenant.get(`/v1/tickets/${ticketId}`);
              const comments = await tenant.get(`/v1/tickets/${ticketId}/comments`);
              return (
                current.body.title === title &&
                comments.body.items.some((c: { body: string }) => c.body.includes(comment))
              );
            },
            async () => ({
              ticket: (await tenant.get(`/v1/tickets/${ticketId}`)).body,
              comments: (await tenant.get(`/v1/tickets/${ticketId}/comments`)).body,
              webhooks: desk.webhookStatuses(),
            }),
          );
          await desk.settled();
          const statuses = desk.webhookStatuses().slice(statusesBefore);
          // A delivery lost in transport (null) is the vendor's problem, caught by the poller; a refusal is ours.
          expect(
            statuses.filter((s) => s !== null && s >= 200 && s < 300).length,
            `${desk.type}: webhooks the API process accepted: ${show(statuses)}`,
          ).toBeGreaterThan(0);
          expect(
            statuses.filter((s) => s !== null && (s < 200 || s >= 300)),
            `${desk.type}: webhooks the API process refused: ${show(statuses)}`,
          ).toEqual([]);
          // The applied change is not written back to the vendor: its comment is there once, its title kept.
          await waitFor(`${desk.type}: the ticket's jobs finish`, () => quiet(ticketId));
          await sleep(300);
          await waitFor(`${desk.type}: the ticket's jobs finish`, () => quiet(ticketId));
          expect(desk.title(externalId)).toBe(title);
          expect(
            desk.comments(externalId).filter((c) => c.body.includes(comment)),
            `${desk.type}: ${show(desk.comments(externalId))}`,
          ).toHaveLength(1);
          const canonical = (await tenant.get(`/v1/tickets/${ticketId}/comments`)).body.items as {
            body: string;
          }[];
          expect(
            canonical.filter((c) => c.body.includes(comment)),
            show(canonical),
          ).toHaveLength(1);
          expect(desk.records(ticketId)).toEqual([externalId]);
        }),
      );
    }, 90_000);

    it("registers each carrier's hub listener from a worker process", async () => {
      for (const { adapter, sim } of carriers) {
        const connection = carrierConnections.get(adapter.name)!;
        await waitFor(
          `${adapter.name}: the hub listener for ${connection.webhookUrl}`,
          () => sim.listeners().some((l) => l.callback === connection.webhookUrl),
          () => sim.listeners(),
        );
        expect(
          sim.listeners().filter((l) => l.callback === connection.webhookUrl),
          `${adapter.name}: ${show(sim.listeners())}`,
        ).toHaveLength(1);
      }
    }, 90_000);

    it("opens a carrier ticket for a delegation and follows the carrier to resolved (TMF621 v4, v5, MEF)", async () => {
      await Promise.all(
        carriers.map(async ({ adapter, sim }) => {
          const connection = carrierConnections.get(adapter.name)!;
          const ticket = await admin.post("/v1/tickets", {
            tenantId: carrierTenantId,
            title: `Circuit down behind ${adapter.name}`,
            priority: "P2",
          });
          expect(ticket.status, ticket.text).toBe(201);
          const created = await admin.post(`/v1/tickets/${ticket.body.id}/delegations`, {
            connectionId: connection.id,
            reason: "Carrier-side fault suspected",
            service: { id: "CIR-4471", type: "circuit" },
          });
          expect(created.status, created.text).toBe(201);
          expect(created.body.state).toBe("requested");
          const delegationId = created.body.id as string;
          const delegation = async () => (await admin.get(`/v1/delegations/${delegationId}`)).body;
          const carrierId = await waitFor(
            `${adapter.name}: the carrier ticket of ${delegationId}`,
            async () => ((await delegation()).carrierTicketId as string | null) ?? undefined,
            async () => ({ delegation: await delegation(), atCarrier: sim.ticketsCarrying(delegationId) }),
          );
          expect(sim.ticketsCarrying(delegationId), `${adapter.name}: carrier tickets`).toEqual([carrierId]);

          const reaches = (state: string) =>
            waitFor(
              `${adapter.name}: delegation ${delegationId} ${state}`,
              async () => (await delegation()).state === state,
              async () => ({
                delegation: await delegation(),
                carrierStatus: sim.statusOf(carrierId),
                events: sim.deliveries().map((d) => ({ url: d.url, status: d.status })),
              }),
            );
          // The carrier's people work the ticket to resolved; each step is an event to the API process.
          sim.acknowledge(carrierId);
          sim.progress(carrierId);
          sim.resolve(carrierId, "Line card replaced at the exchange.");
          await reaches("resolved");
          const resolved = await delegation();
          expect(resolved.acknowledgedAt, show(resolved)).not.toBeNull();
          expect(resolved.resolvedAt, show(resolved)).not.toBeNull();

          await sim.settled();
          const ours = sim
            .deliveries()
            .filter((d) => d.url === connection.webhookUrl || d.url.startsWith(`${connection.webhookUrl}/`));
          expect(
            ours.filter((d) => d.status !== null && d.status < 300).length,
            `${adapter.name}: events the API process accepted: ${show(ours.map((d) => d.status))}`,
          ).toBeGreaterThan(0);
          expect(
            ours.filter((d) => d.status !== null && d.status >= 300),
            `${adapter.name}: events the API process refused`,
          ).toEqual([]);
          await waitFor(`${adapter.name}: the delegation's jobs finish`, () => quiet(delegationId));
          expect(sim.ticketsCarrying(delegationId), `${adapter.name}: opened once`).toEqual([carrierId]);
          expect(sim.requestViolations(), `${adapter.name}: requests off the spec`).toEqual([]);
          expect(sim.contractViolations(), `${adapter.name}: simulator off the spec`).toEqual([]);
        }),
      );
    }, 90_000);

    it("ends with nothing dead-lettered, a verified ledger and both workers still running", async () => {
      const dead = await admin.get("/v1/dead-letters?limit=100");
      expect(dead.status, dead.text).toBe(200);
      expect(dead.body.items, show(dead.body.items)).toEqual([]);
      const verified = await admin.get("/v1/ledger/verify");
      expect(verified.status, verified.text).toBe(200);
      expect(verified.body).toMatchObject({ ok: true, firstBrokenSequence: null });
      expect(verified.body.checked).toBeGreaterThan(0);
      for (const { name, child } of children) {
        expect(child.exitCode ?? child.signalCode, `${name} still running\n${processReport()}`).toBeNull();
      }
      // Every job was claimed by one of the two worker processes (never by the API process), and both worked.
      const claims = await queryRows<{ kind: string; locked_by: string }>(
        database.db,
        sql`select kind, locked_by from test_job_claims`,
      );
      const tally: Record<string, number> = {};
      for (const c of claims) {
        const key = `pid ${pidOf(c.locked_by)} ${c.kind}`;
        tally[key] = (tally[key] ?? 0) + 1;
      }
      const claimedBy = new Set(claims.map((c) => pidOf(c.locked_by)));
      expect(
        [...claimedBy].filter((pid) => !workerPids().includes(pid)),
        `claims by a process other than the workers ${show(workerPids())}: ${show(tally)}`,
      ).toEqual([]);
      // Both took effect jobs (deliveries, inbox, carrier work) from the one shared queue.
      const periodic: readonly string[] = periodicJobKinds;
      const effectClaimers = new Set(
        claims.filter((c) => !periodic.includes(c.kind)).map((c) => pidOf(c.locked_by)),
      );
      for (const pid of workerPids())
        expect(effectClaimers, `worker pid ${pid} ran effect jobs: ${show(tally)}`).toContain(pid);
      const kinds = new Set(claims.map((c) => c.kind));
      for (const kind of [
        "ticket.create",
        "comment.add",
        "inbox.apply",
        "listener.register",
        "delegation.open",
      ])
        expect(kinds, `claimed kinds ${show([...kinds])}`).toContain(kind);
    });
  },
);
