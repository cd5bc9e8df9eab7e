import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import {
  createServiceNowSimulator,
  simulatorUsers as serviceNowUsers,
} from "../../connectors/servicenow/simulator.js";
import {
  createZendeskSimulator,
  simulatorUsers as zendeskUsers,
} from "../../connectors/zendesk/simulator.js";
import { type App, createApp } from "../app.js";
import {
  type Config,
  DEFAULT_CONSOLE_SESSION_TTL_MS,
  defaultMetricsSettings,
  tracingOff,
} from "../config.js";
import { LedgerKeyring } from "../ledger/keys.js";
import { openRuntime, type Runtime, startBackgroundWorker } from "../runtime.js";
import { defaultSyncSettings } from "../sync/settings.js";
import type { RunningWorker } from "../worker/index.js";

/** Fixed so the printed curl commands work as shown; the gateway listens on loopback only because of it. */
export const DEMO_ADMIN_TOKEN = "demo-admin-token-not-for-production";

export interface DemoOptions {
  /** Gateway port; default 8080, falling back to a free port when taken. 0 picks a free port. */
  port?: number;
  /** Keep everything serving after the narrative (the caller stops it); otherwise stop before returning. */
  keepRunning?: boolean;
  log?: (line: string) => void;
  /** The gateway's own (JSON) log level; the narrative is separate. Default warn, so only trouble shows. */
  logLevel?: Config["logLevel"];
}

export interface DemoSummary {
  ok: boolean;
  /** One line per step that did not complete. */
  failures: string[];
  tenants: Record<"acme" | "globex", { id: string; apiKey: string; connectionId: string } | null>;
  serviceNow: {
    incidentNumber: string | null;
    /** The canonical ticket the incident became. */
    ticketId: string | null;
    priority: string | null;
    responseDueAt: string | null;
    inProgress: boolean;
    commentInJournal: boolean;
    internalNoteKeptInternal: boolean;
  };
  zendesk: { ticketId: string | null; zendeskTicketId: number | null; replyImported: boolean };
  ledger: { ok: boolean; checked: number } | null;
}

export interface RunningDemo {
  gatewayUrl: string;
  stop(): Promise<void>;
  summary: DemoSummary;
}

/** How long each step waits for its effect; sync normally takes well under a second. */
const WAIT_MS = 10_000;
const plans = { acme: "ombori-production", globex: "roi-priority" } as const;

export async function runDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Filled in as things start, so a failed start stops exactly what did start.
  const started: {
    worker?: RunningWorker;
    settleWebhooks?: () => Promise<void>;
    servers: Listening[];
    gateway?: Listening;
    runtime?: Runtime;
    dataDir?: string;
  } = { servers: [] };
  let stopped: Promise<void> | null = null;
  // Idempotent. The worker stops first so no pass runs against closed servers; in-flight webhooks land
  // before the gateway closes; the database closes once nothing can reach it.
  const stop = () => {
    stopped ??= (async () => {
      const quietly = (promise: Promise<unknown> | undefined) => promise?.catch(() => {});
      await quietly(started.worker?.stop());
      await quietly(started.settleWebhooks?.());
      await quietly(started.gateway?.close());
      await quietly(started.runtime?.database.close());
      if (started.dataDir) await quietly(rm(started.dataDir, { recursive: true, force: true }));
      await Promise.all(started.servers.map((server) => quietly(server.close())));
    })();
    return stopped;
  };

  try {
    // The simulators read `options.webhook` at each change, so these objects are filled in once the
    // connections (and their webhook URLs) exist.
    const serviceNowOptions: Parameters<typeof createServiceNowSimulator>[0] = {};
    const zendeskOptions: Parameters<typeof createZendeskSimulator>[0] = {};
    const serviceNow = createServiceNowSimulator(serviceNowOptions);
    const zendesk = createZendeskSimulator(zendeskOptions);
    started.settleWebhooks = async () => {
      await Promise.all([serviceNow.settled(), zendesk.settled()]);
    };
    const serviceNowServer = await listen(serviceNow.app.fetch, 0);
    started.servers.push(serviceNowServer);
    serviceNow.setInstanceUrl(serviceNowServer.url);
    const zendeskServer = await listen(zendesk.app.fetch, 0);
    started.servers.push(zendeskServer);
    zendesk.setAccountUrl(zendeskServer.url);

    // The gateway listens before its app exists: the public URL (in every webhook URL) needs the real port.
    let app: App | null = null;
    const fetchGateway = (request: Request) =>
      app ? app.fetch(request) : new Response("starting", { status: 503 });
    const wanted = options.port ?? 8080;
    let gatewayServer: Listening;
    try {
      gatewayServer = await listen(fetchGateway, wanted);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || wanted === 0) throw error;
      gatewayServer = await listen(fetchGateway, 0);
      log(`Port ${wanted} is taken; the gateway uses port ${gatewayServer.port} instead.`);
    }
    started.gateway = gatewayServer;
    const gatewayUrl = gatewayServer.url;

    const dataDir = await mkdtemp(join(tmpdir(), "tsg-demo-"));
    started.dataDir = dataDir;
    const config: Config = {
      port: gatewayServer.port,
      host: "127.0.0.1",
      publicUrl: gatewayUrl,
      database: { kind: "pglite", dataDir },
      adminToken: DEMO_ADMIN_TOKEN,
      secretsKey: randomBytes(32),
      ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 10_000 },
      nodeEnv: "development",
      logLevel: options.logLevel ?? "warn",
      planCatalogFile: undefined,
      workerTickMs: 200,
      runWorker: true,
      shutdownTimeoutMs: 5_000,
      metrics: defaultMetricsSettings,
      tracing: tracingOff,
      consoleSessionTtlMs: DEFAULT_CONSOLE_SESSION_TTL_MS,
      // Seconds instead of minutes, so a missed webhook or a retry shows up while the newcomer watches.
      sync: {
        ...defaultSyncSettings,
        // Not 2 s: Zendesk's incremental export allows 10 requests a minute, and once that is spent the
        // client waits inside the poller, which holds up the whole worker (every tenant's sync) meanwhile.
        pollIntervalMs: 7_000,
        backoffBaseMs: 200,
        backoffCapMs: 2_000,
        leaseMs: 10_000,
        httpTimeoutMs: 5_000,
      },
      generatedSecretsFile: null,
    };
    // The same steps as src/server.ts: logger, plan catalog, migrated database, app, background worker.
    const runtime = await openRuntime(config);
    started.runtime = runtime;
    app = createApp({ ...runtime, config });
    started.worker = await startBackgroundWorker(runtime);

    log("ticket-sync-gateway demo");
    log(
      `  gateway     ${gatewayUrl}  (embedded PGlite in ${dataDir}, worker every ${config.workerTickMs} ms)`,
    );
    log(`  ServiceNow  ${serviceNowServer.url}  (simulated instance)`);
    log(`  Zendesk     ${zendeskServer.url}  (simulated account)`);
    log("");

    const api = gatewayClient(gatewayUrl);
    const admin = DEMO_ADMIN_TOKEN;
    const summary: DemoSummary = {
      ok: false,
      failures: [],
      tenants: { acme: null, globex: null },
      serviceNow: {
        incidentNumber: null,
        ticketId: null,
        priority: null,
        responseDueAt: null,
        inProgress: false,
        commentInJournal: false,
        internalNoteKeptInternal: false,
      },
      zendesk: { ticketId: null, zendeskTicketId: null, replyImported: false },
      ledger: null,
    };
    const fail = (line: string) => {
      summary.failures.push(line);
      log(`     ✗ ${line}`);
    };
    /** Runs one step; an exception fails the step, not the demo, so later steps still show what works. */
    const step = async (title: string, body: () => Promise<void>) => {
      log(title);
      try {
        await body();
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
      log("");
    };

    // ---- setup, through the gateway's own API as an operator would ----
    await step("Setup: two client organisations, each with its servicedesk", async () => {
      const acme = await api<Tenant>("POST", "/v1/tenants", admin, {
        name: "Acme Retail",
        plan: plans.acme,
      });
      const serviceNowConnection = await api<CreatedConnection>("POST", "/v1/connections", admin, {
        type: "servicenow",
        name: "Acme ServiceNow",
        role: "servicedesk",
        tenantId: acme.id,
        settings: {
          baseUrl: serviceNowServer.url,
          auth: { type: "basic", ...serviceNow.integrationUser },
        },
      });
      // No webhookSecret was given, so the gateway generated one and shows it once: configure it at the vendor.
      serviceNowOptions.webhook = {
        url: serviceNowConnection.webhookUrl,
        secret: required(serviceNowConnection.webhookSecret, "ServiceNow webhook secret"),
      };
      summary.tenants.acme = { id: acme.id, apiKey: acme.apiKey, connectionId: serviceNowConnection.id };
      log(`     Acme Retail       ${acme.id}  plan ${plans.acme}`);
      log(`       ↔ ServiceNow    ${serviceNowConnection.id}  webhooks → ${serviceNowConnection.webhookUrl}`);

      const globex = await api<Tenant>("POST", "/v1/tenants", admin, {
        name: "Globex Logistics",
        plan: plans.globex,
      });
      const zendeskConnection = await api<CreatedConnection>("POST", "/v1/connections", admin, {
        type: "zendesk",
        name: "Globex Zendesk",
        role: "servicedesk",
        tenantId: globex.id,
        settings: {
          baseUrl: zendeskServer.url,
          // Zendesk API tokens are Basic auth as "{email}/token".
          auth: {
            type: "basic",
            username: `${zendeskUsers.integration.email}/token`,
            password: zendesk.apiToken,
          },
          integrationUserId: zendeskUsers.integration.id,
        },
      });
      zendeskOptions.webhook = {
        url: zendeskConnection.webhookUrl,
        secret: required(zendeskConnection.webhookSecret, "Zendesk webhook secret"),
        kind: "trigger",
      };
      summary.tenants.globex = { id: globex.id, apiKey: globex.apiKey, connectionId: zendeskConnection.id };
      log(`     Globex Logistics  ${globex.id}  plan ${plans.globex}`);
      log(`       ↔ Zendesk       ${zendeskConnection.id}  webhooks → ${zendeskConnection.webhookUrl}`);
    });
    const acme = summary.tenants.acme;
    const globex = summary.tenants.globex;

    if (acme) {
      const title = "Checkout tills offline in store 12";
      let ticketId: string | null = null;
      let sysId = "";
      await step("1. A ServiceNow agent at Acme opens an incident", async () => {
        const incident = serviceNow.simulateAgentInsert({
          short_description: title,
          description: "All four tills in store 12 show 'no connection'.",
          impact: "1",
          urgency: "1",
          caller_id: serviceNowUsers.caller.sys_id,
          comments: "Started at 09:05, right after the router reboot.",
        });
        sysId = incident["sys_id"] ?? "";
        summary.serviceNow.incidentNumber = incident["number"] ?? null;
        log(`     ServiceNow  ${incident["number"]} "${title}" (impact 1, urgency 1: ServiceNow priority 1)`);
        const found = await waitFor(async () => {
          const list = await api<List<Ticket>>("GET", `/v1/tickets?tenantId=${acme.id}`, admin);
          return list.items.find((ticket) => ticket.title === title) ?? null;
        });
        if (!found.value) {
          return fail(
            `no canonical ticket for ${incident["number"]} after ${seconds(WAIT_MS)}; ${lastWebhook(serviceNow.webhooks.delivered)}`,
          );
        }
        const ticket = await api<TicketWithSla>("GET", `/v1/tickets/${found.value.id}`, admin);
        ticketId = ticket.id;
        Object.assign(summary.serviceNow, {
          ticketId: ticket.id,
          priority: ticket.priority,
          responseDueAt: ticket.sla?.response.dueAt ?? null,
        });
        log(
          `     gateway     ✓ ticket ${ticket.id}: ${ticket.priority}, status ${ticket.status} (${seconds(found.ms)})`,
        );
        const dueAt = ticket.sla?.response.dueAt;
        if (dueAt) {
          // The due time is business time on the plan's calendar, so say it in the plan's own zone too.
          const plan = await api<Plan>("GET", `/v1/plans/${plans.acme}`, admin);
          const local = new Intl.DateTimeFormat("en-GB", {
            timeZone: plan.calendar.timezone,
            weekday: "short",
            hour: "2-digit",
            minute: "2-digit",
          }).format(new Date(dueAt));
          const minutes = plan.targets[ticket.priority]?.responseMinutes;
          log(`                 SLA response due ${dueAt} = ${local} ${plan.calendar.timezone}`);
          log(
            `                 (${plan.name}: ${ticket.priority} response within ${minutes} business minutes)`,
          );
        } else fail("the ticket has no SLA response clock");
        const written = await waitFor(
          async () => serviceNow.state.incidents.get(sysId)?.["correlation_id"] || null,
        );
        if (written.value === ticket.id) {
          log(
            `     ServiceNow  ✓ ${incident["number"]} correlation_id = ${ticket.id} (the gateway wrote its id back)`,
          );
        } else fail(`the gateway's id was not written back to ${incident["number"]}`);
      });

      await step(
        "2. The provider acknowledges, adds an internal note and replies publicly (API)",
        async () => {
          if (!ticketId) return fail("skipped: step 1 did not produce a ticket");
          const note = "Carrier ref ACM-4471; do not share.";
          const reply = "We see the outage and an engineer is on the way to store 12.";
          await api("PATCH", `/v1/tickets/${ticketId}`, admin, { status: "acknowledged" });
          // The note goes first: jobs of one ticket are delivered in order, so once the reply has arrived,
          // a leaked note would have arrived too.
          await api("POST", `/v1/tickets/${ticketId}/comments`, admin, {
            body: note,
            visibility: "internal",
          });
          await api("POST", `/v1/tickets/${ticketId}/comments`, admin, { body: reply, visibility: "public" });
          log(`     gateway     PATCH status=acknowledged; comment (internal): "${note}"`);
          log(`                 comment (public): "${reply}"`);
          const journalOf = () => serviceNow.state.journal.filter((entry) => entry["element_id"] === sysId);
          const arrived = await waitFor(async () => {
            const inProgress = serviceNow.state.incidents.get(sysId)?.["state"] === "2";
            const entry = journalOf().find((candidate) => candidate["value"] === reply);
            return inProgress && entry ? entry : null;
          });
          const incident = serviceNow.state.incidents.get(sysId);
          summary.serviceNow.inProgress = incident?.["state"] === "2";
          summary.serviceNow.commentInJournal = arrived.value !== null;
          if (arrived.value) {
            log(`     ServiceNow  ✓ ${incident?.["number"]} state In Progress (${seconds(arrived.ms)})`);
            log(
              `                 journal: ${arrived.value["element"]} by ${arrived.value["sys_created_by"]}: "${reply}"`,
            );
          } else {
            fail(
              `ServiceNow did not get both changes within ${seconds(WAIT_MS)}: state ${incident?.["state"]}, ` +
                `reply in journal: ${journalOf().some((entry) => entry["value"] === reply)}`,
            );
          }
          const leaked = journalOf().some((entry) => entry["value"]?.includes("ACM-4471"));
          const tenantView = await api<List<Comment>>("GET", `/v1/tickets/${ticketId}/comments`, acme.apiKey);
          const tenantSees = tenantView.items.some((comment) => comment.body === note);
          summary.serviceNow.internalNoteKeptInternal = arrived.value !== null && !leaked && !tenantSees;
          if (summary.serviceNow.internalNoteKeptInternal) {
            log(
              `     ✓ the internal note stayed internal: not in ServiceNow's journal, and Acme's own API key sees ${tenantView.items.length} comments without it`,
            );
          } else if (leaked || tenantSees) {
            fail(`the internal note leaked (${leaked ? "ServiceNow journal" : "Acme's API view"})`);
          }
        },
      );
    }

    if (globex) {
      const title = "Handheld scanners cannot sync at the Rotterdam warehouse";
      let ticketId: string | null = null;
      let zendeskId: number | null = null;
      await step("3. The provider opens a ticket for Globex (API)", async () => {
        const ticket = await api<Ticket>("POST", "/v1/tickets", admin, {
          tenantId: globex.id,
          title,
          description: "Scanner fleet reports 'sync failed' since the 06:00 firmware push.",
          priority: "P2",
          requester: { name: "Dana Whitfield", email: "dana.whitfield@globex.example" },
        });
        ticketId = ticket.id;
        summary.zendesk.ticketId = ticket.id;
        log(`     gateway     ticket ${ticket.id} "${title}" ${ticket.priority}`);
        const arrived = await waitFor(
          async () => [...zendesk.state.tickets.values()].find((t) => t.external_id === ticket.id) ?? null,
        );
        if (!arrived.value) return fail(`no Zendesk ticket for ${ticket.id} after ${seconds(WAIT_MS)}`);
        zendeskId = arrived.value.id;
        summary.zendesk.zendeskTicketId = zendeskId;
        log(
          `     Zendesk     ✓ ticket #${zendeskId} "${arrived.value.subject}" priority ${arrived.value.priority}, ` +
            `status ${arrived.value.status}, external_id ${arrived.value.external_id} (${seconds(arrived.ms)})`,
        );
      });

      await step("4. The Zendesk agent at Globex replies", async () => {
        if (!ticketId || zendeskId === null) return fail("skipped: step 3 did not reach Zendesk");
        const reply = "Thanks. Rolling back the firmware on two scanners to confirm.";
        zendesk.simulateAgentComment(zendeskId, { body: reply, public: true });
        log(`     Zendesk     ${zendeskUsers.agent.name} on #${zendeskId}: "${reply}"`);
        const imported = await waitFor(async () => {
          const list = await api<List<Comment>>("GET", `/v1/tickets/${ticketId}/comments`, admin);
          return list.items.find((comment) => comment.body === reply) ?? null;
        });
        summary.zendesk.replyImported = imported.value !== null;
        if (imported.value) {
          log(
            `     gateway     ✓ comment ${imported.value.id} on ${ticketId}: ${imported.value.visibility}, ` +
              `from the ${imported.value.side} side (${seconds(imported.ms)})`,
          );
        } else {
          fail(
            `the Zendesk reply did not reach ${ticketId} within ${seconds(WAIT_MS)}; ${lastWebhook(zendesk.webhooks.delivered)}`,
          );
        }
      });
    }

    await step("5. The provider verifies the integration ledger (GET /v1/ledger/verify)", async () => {
      const result = await api<{ ok: boolean; checked: number; firstBrokenSequence: number | null }>(
        "GET",
        "/v1/ledger/verify",
        admin,
      );
      summary.ledger = { ok: result.ok, checked: result.checked };
      if (result.ok) log(`     ✓ ${result.checked} entries checked, every hash chain intact`);
      else fail(`the ledger chain is broken at entry ${result.firstBrokenSequence}`);
    });

    summary.ok = summary.failures.length === 0;
    log(summary.ok ? "All steps passed." : `${summary.failures.length} step(s) failed (marked ✗ above).`);
    log("");
    printWhereToLook(log, {
      gatewayUrl,
      serviceNowUrl: serviceNowServer.url,
      zendeskUrl: zendeskServer.url,
      summary,
    });
    if (!options.keepRunning) {
      await stop();
      log("");
      log("The demo has stopped; run `npm run demo` (without --exit) to keep it serving and try these.");
    }
    return { gatewayUrl, stop, summary };
  } catch (error) {
    await stop();
    throw error;
  }
}

function printWhereToLook(
  log: (line: string) => void,
  where: { gatewayUrl: string; serviceNowUrl: string; zendeskUrl: string; summary: DemoSummary },
) {
  const { gatewayUrl, summary } = where;
  const auth = (token: string) => `-H "Authorization: Bearer ${token}"`;
  log("Where to look");
  log(`  API docs     ${gatewayUrl}/docs`);
  log(`  Admin token  ${DEMO_ADMIN_TOKEN}`);
  log(
    `  ServiceNow   ${where.serviceNowUrl}/api/now/table/incident  (Basic svc.ticketsync / simulator-password)`,
  );
  log(
    `  Zendesk      ${where.zendeskUrl}/api/v2/tickets  (Basic sync@client.example/token / simulator-api-token)`,
  );
  log("");
  log("  # every ticket, as the provider:");
  log(`  curl -s ${gatewayUrl}/v1/tickets ${auth(DEMO_ADMIN_TOKEN)}`);
  const { acme, globex } = summary.tenants;
  if (acme && summary.serviceNow.ticketId) {
    log("  # Acme's comments as Acme itself sees them (its tenant key; no internal note):");
    log(`  curl -s ${gatewayUrl}/v1/tickets/${summary.serviceNow.ticketId}/comments ${auth(acme.apiKey)}`);
  }
  if (globex && summary.zendesk.ticketId) {
    log("  # the integration ledger of Globex's ticket (its tenant key):");
    log(`  curl -s ${gatewayUrl}/v1/tickets/${summary.zendesk.ticketId}/ledger ${auth(globex.apiKey)}`);
  }
  log("  # recompute every hash chain, and the incidents as ServiceNow holds them:");
  log(`  curl -s ${gatewayUrl}/v1/ledger/verify ${auth(DEMO_ADMIN_TOKEN)}`);
  log(`  curl -s -u svc.ticketsync:simulator-password '${where.serviceNowUrl}/api/now/table/incident'`);
}

// ---- small helpers ----

interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves on loopback; rejects (instead of crashing the process) when the port is taken. */
function listen(fetch: (request: Request) => Response | Promise<Response>, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: "127.0.0.1" }, (info: AddressInfo) => {
      server.off("error", reject);
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets (the simulators' webhook fetches) would hold close() open.
            (server as Server).closeAllConnections?.();
          }),
      });
    });
    server.once("error", reject);
  });
}

/** Polls `check` until it returns a value or the time is up: effects are awaited, never slept for. */
async function waitFor<T>(check: () => Promise<T | null>, timeoutMs = WAIT_MS) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) return { value: null, ms: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the simulator's last webhook to the gateway got: the first place to look when an inbound change is missing. */
function lastWebhook(delivered: { status: number | null; error?: string }[]): string {
  const last = delivered.at(-1);
  if (!last) return "the simulator sent no webhook";
  return last.status === null
    ? `the simulator's webhook failed (${last.error})`
    : `the simulator's webhook was answered ${last.status}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the gateway did not return the ${what}`);
  return value;
}

/** fetch against the gateway's own HTTP API; a non-2xx answer throws with the problem's text. */
function gatewayClient(baseUrl: string) {
  return async <T = unknown>(method: string, path: string, token: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

// The few response fields the narrative reads (the full shapes are in schemas/).
interface Tenant {
  id: string;
  apiKey: string;
}
interface CreatedConnection {
  id: string;
  webhookUrl: string;
  webhookSecret?: string;
}
interface Ticket {
  id: string;
  title: string;
  priority: string;
  status: string;
}
interface TicketWithSla extends Ticket {
  sla?: { response: { dueAt: string | null } };
}
interface Plan {
  name: string;
  calendar: { timezone: string };
  targets: Partial<Record<string, { responseMinutes?: number }>>;
}
interface Comment {
  id: string;
  body: string;
  visibility: string;
  side: string;
}
interface List<T> {
  items: T[];
}
