import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import postgres from "postgres";
import { Agent } from "undici";
import { periodicJobKinds } from "../src/db/schema/index.js";
import { connectionSettings, type E2eConnector } from "./e2e-sync.js";
import {
  BENCH_ADMIN_TOKEN,
  createBenchDatabase,
  fmt,
  machineDescription,
  percentile,
  type RunningGateway,
  startCompiledWorker,
  startGateway,
  startScript,
} from "./lib.js";

export const steadyLoadHeading = "## End-to-end latency at a steady load";

export interface SteadyRun {
  /** Offered events per second (half API comments out, half vendor comments in). */
  rate: number;
  seconds: number;
  events: number;
  /** Deliveries that landed at their target simulator, of those expected. */
  landed: number;
  expected: number;
  p50Ms: number;
  p99Ms: number;
  outP50Ms: number;
  outP99Ms: number;
  inP50Ms: number;
  inP99Ms: number;
  /** Pending effect jobs, sampled once a second while the load ran. */
  backlog: number[];
  /** Events whose own request failed (not accepted in time under overload): such a run is not steady. */
  refused: number;
  /** Whether the backlog stayed bounded: at the end of the load under one second's worth of jobs. */
  steady: boolean;
  /** Seconds from the load's end until every expected delivery had landed. */
  drainSeconds: number;
}

export interface SteadyResult {
  workers: number;
  tickets: number;
  settings: Record<string, string>;
  runs: SteadyRun[];
}

const connectors: readonly E2eConnector[] = ["servicenow", "zendesk", "jsm"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Idle connections closed after 1 s, well before a server's keep-alive timeout (5 s in Node), so a late reuse
 * on a loaded machine never meets a socket the server is closing.
 */
const dispatcher = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 });

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    dispatcher,
    headers: {
      authorization: `Bearer ${BENCH_ADMIN_TOKEN}`,
      "content-type": "application/json",
      ...(init.headers as Record<string, string> | undefined),
    },
  });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

const post = <T>(url: string, body: unknown) => json<T>(url, { method: "POST", body: JSON.stringify(body) });

/**
 * End-to-end latency at a steady offered load, the gateway as production runs it: the compiled API process
 * (`RUN_WORKER=false`) and `workers` compiled worker processes on PostgreSQL, one tenant with a ServiceNow, a
 * Zendesk and a JSM servicedesk connection (each simulator in its own process) sharing `tickets` tickets.
 * Events alternate: a public comment through the API (it must land at all three vendors) and a public comment
 * by an agent at one of the vendors, in turn (notified by webhook, it must land at the other two). Latency runs
 * from the API's 201, or from the agent's save at the vendor (which sends the webhook), to the vendor API
 * answering the write that carries the comment. Each rate is offered open-loop for its duration.
 */
/** A rate holds when its p99 is under 1 s and its backlog steady. */
export const rateHeld = (run: SteadyRun) => run.p99Ms < 1000 && run.steady;

export async function benchSteadyLoad(options: {
  /** Rates and how long each is offered, in order. */
  plan: { rate: number; seconds: number }[];
  /**
   * Higher rates tried after a plan that held, each `seconds` long, until one fails. A step that fails ends the
   * run (an overloaded gateway only times out, and its backlog would weigh on any later rate).
   */
  search: { up: number[]; seconds: number };
  tickets: number;
  workers: number;
  env?: NodeJS.ProcessEnv;
}): Promise<SteadyResult> {
  const build = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { stdio: "inherit" });
  if (build.status !== 0) throw new Error("npm run build failed");
  const database = await createBenchDatabase();
  const pg = postgres(database.url, { max: 2, onnotice: () => {} });
  const stops: (() => Promise<void>)[] = [];
  try {
    const sims = new Map<E2eConnector, RunningGateway>();
    for (const type of connectors) {
      const sim = await startScript(`bench/simulators/${type}.ts`);
      stops.push(sim.stop);
      sims.set(type, sim);
    }
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      RUN_WORKER: "false",
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...options.env,
    };
    // The API migrates the database before it listens; workers start after it.
    const api = await startGateway({ databaseUrl: database.url, port, env, compiled: true });
    stops.push(api.stop);
    for (let w = 0; w < options.workers; w++) {
      const worker = await startCompiledWorker({ databaseUrl: database.url, env });
      stops.push(worker.stop);
    }
    for (;;) {
      const [row] = await pg`select count(*)::int as n from pg_stat_activity
        where application_name = 'ticket-sync-gateway jobs listener'`;
      if (row!.n >= options.workers) break;
      await sleep(100);
    }

    const tenant = await post<{ id: string }>(`${api.url}/v1/tenants`, {
      name: "bench-steady",
      plan: "ombori-enterprise",
    });
    const connectionIds = new Map<E2eConnector, string>();
    for (const type of connectors) {
      const sim = sims.get(type)!;
      const secret = `bench-${type}-webhook-${randomBytes(16).toString("hex")}`;
      const connection = await post<{ id: string; webhookUrl: string }>(`${api.url}/v1/connections`, {
        type,
        name: `steady ${type}`,
        role: "servicedesk",
        tenantId: tenant.id,
        settings: connectionSettings(type, sim.url, secret),
      });
      await post(`${sim.url}/__bench/webhook`, { url: connection.webhookUrl, secret });
      connectionIds.set(type, connection.id);
    }
    const ticketIds: string[] = [];
    for (let i = 0; i < options.tickets; i++) {
      const ticket = await post<{ id: string }>(`${api.url}/v1/tickets`, {
        tenantId: tenant.id,
        title: `Steady ${i}: MPLS circuit down at site ${i}`,
        priority: "P3",
      });
      ticketIds.push(ticket.id);
    }
    const idle = async () => {
      const [row] = await pg`select count(*)::int as n from jobs
        where status = 'pending' and kind <> all(${periodicJobKinds as unknown as string[]})`;
      return row!.n as number;
    };
    const settle = async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const sim of sims.values()) await post(`${sim.url}/__bench/settled`, {});
        if ((await idle()) === 0) return true;
        if (Date.now() > deadline) return false;
        await sleep(200);
      }
    };
    if (!(await settle(120_000))) throw new Error("the tickets' creates did not settle");
    // The vendor record of each ticket at each connector, for the agents' comments.
    const links = await pg<{ connection_id: string; ticket_id: string; external_id: string }[]>`
      select connection_id, ticket_id, external_id from external_links
      where ticket_id in ${pg(ticketIds)} and external_id is not null`;
    if (links.length !== 3 * options.tickets)
      throw new Error(`${links.length} links for ${options.tickets} tickets at 3 connectors`);
    const recordOf = new Map(links.map((l) => [`${l.connection_id}:${l.ticket_id}`, l.external_id]));

    const runTag = randomBytes(4).toString("hex");
    const runs: SteadyRun[] = [];
    let runIndex = 0;
    const offer = async (rate: number, seconds: number): Promise<SteadyRun> => {
      const tag = `${runTag}${(runIndex++).toString(16)}`;
      const marker = (i: number) => `steady${tag}n${i}x`;
      const total = Math.round(rate * seconds);
      /** Per event: its start (epoch ms) and the vendors it must land at; null while its request is out. */
      const started: ({ at: number; targets: E2eConnector[]; inbound: boolean } | null)[] = [];
      const backlog: number[] = [];
      const sampler = setInterval(() => {
        void idle().then((n) => backlog.push(n));
      }, 1000);
      const errors: unknown[] = [];
      const t0 = performance.now();
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        const ticketId = ticketIds[i % ticketIds.length]!;
        const body = `Update ${marker(i)}: the carrier has dispatched an engineer.`;
        started.push(null);
        const event =
          i % 2 === 0
            ? post(`${api.url}/v1/tickets/${ticketId}/comments`, { body, visibility: "public" }).then(() => {
                started[i] = { at: Date.now(), targets: [...connectors], inbound: false };
              })
            : (async () => {
                const source = connectors[Math.floor(i / 2) % connectors.length]!;
                const externalId = recordOf.get(`${connectionIds.get(source)}:${ticketId}`)!;
                const sim = sims.get(source)!;
                const { at } = await post<{ at: number }>(`${sim.url}/__bench/agent-comment`, {
                  externalId,
                  body,
                });
                started[i] = { at, targets: connectors.filter((c) => c !== source), inbound: true };
              })();
        inFlight.push(event.catch((error) => void errors.push(new Error(`event ${i}`, { cause: error }))));
      }
      await Promise.all(inFlight);
      const offeredSeconds = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      if (errors.length > 0) {
        // Overloaded, the API or a simulator stops accepting connections in time: the run fails, the bench goes on.
        const first = errors[0] as Error & { cause?: unknown };
        process.stderr.write(
          `  at ${rate}/s ${errors.length} events were not accepted: ${String(first)} ${String(first.cause)} (${String((first.cause as Error).cause)})\n`,
        );
      }
      const endBacklog = await idle();
      const expected = started.reduce((sum, s) => sum + (s?.targets.length ?? 0), 0);
      const drainStarted = performance.now();
      let landed = new Map<E2eConnector, Record<string, number>>();
      const countLanded = () =>
        started.reduce(
          (sum, s, i) =>
            sum + (s?.targets.filter((c) => landed.get(c)?.[marker(i)] !== undefined).length ?? 0),
          0,
        );
      for (;;) {
        landed = new Map(
          await Promise.all(
            connectors.map(
              async (c) =>
                [c, await json<Record<string, number>>(`${sims.get(c)!.url}/__bench/landed`)] as const,
            ),
          ),
        );
        if (countLanded() === expected || performance.now() - drainStarted > 60_000) break;
        await sleep(250);
      }
      const drainSeconds = (performance.now() - drainStarted) / 1000;
      if (countLanded() !== expected) {
        const jobs = await pg`select kind, status, count(*)::int as n from jobs
          where kind <> all(${periodicJobKinds as unknown as string[]}) group by kind, status order by kind, status`;
        const leased = await pg`select kind, connection_id, attempts, first_attempt_at, last_error from jobs
          where status = 'pending' and locked_until > now() order by id limit 10`;
        process.stderr.write(
          `  at ${rate}/s only ${countLanded()} of ${expected} deliveries landed within 60 s; jobs: ${JSON.stringify(jobs)}; leased: ${JSON.stringify(leased)}\n`,
        );
      }
      const all: number[] = [];
      const out: number[] = [];
      const inb: number[] = [];
      started.forEach((s, i) => {
        for (const target of s?.targets ?? []) {
          const at = landed.get(target)?.[marker(i)];
          // One that never landed counts as the whole wait: it is in the tail, not left out.
          const latency = (at ?? Date.now()) - s!.at;
          all.push(latency);
          (s!.inbound ? inb : out).push(latency);
        }
      });
      // Echoes (JSM notifies our own writes) and the last deliveries settle before the next rate.
      if (!(await settle(60_000))) process.stderr.write(`  the backlog did not settle after ${rate}/s\n`);
      return {
        rate,
        seconds: offeredSeconds,
        events: total,
        landed: countLanded(),
        expected,
        p50Ms: percentile(all, 0.5),
        p99Ms: percentile(all, 0.99),
        outP50Ms: percentile(out, 0.5),
        outP99Ms: percentile(out, 0.99),
        inP50Ms: percentile(inb, 0.5),
        inP99Ms: percentile(inb, 0.99),
        backlog,
        refused: errors.length,
        steady: endBacklog <= rate && countLanded() === expected && errors.length === 0,
        drainSeconds,
      };
    };
    for (const step of options.plan) {
      process.stderr.write(`  steady load ${step.rate}/s for ${step.seconds} s...\n`);
      runs.push(await offer(step.rate, step.seconds));
      if (!rateHeld(runs[runs.length - 1]!)) break;
    }
    for (const rate of options.search.up) {
      if (!rateHeld(runs[runs.length - 1]!)) break;
      process.stderr.write(`  steady load ${rate}/s for ${options.search.seconds} s...\n`);
      runs.push(await offer(rate, options.search.seconds));
    }
    return {
      workers: options.workers,
      tickets: options.tickets,
      settings: {
        SYNC_PROCESS_CONCURRENCY: env.SYNC_PROCESS_CONCURRENCY ?? "32 (default)",
        SYNC_CONNECTION_CONCURRENCY: env.SYNC_CONNECTION_CONCURRENCY ?? "4 (default)",
        WORKER_TICK_MS: env.WORKER_TICK_MS ?? "1000 (default)",
      },
      runs,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await pg.end();
    await database.drop();
  }
}

export function steadyLoadMarkdown(result: SteadyResult): string {
  const ok = result.runs.filter(rateHeld);
  const highest = ok.length > 0 ? Math.max(...ok.map((r) => r.rate)) : null;
  const at100 = result.runs.find((r) => r.rate === 100);
  const settings = Object.entries(result.settings)
    .map(([k, v]) => `\`${k}\` ${v}`)
    .join(", ");
  return [
    steadyLoadHeading,
    "",
    `PostgreSQL; the compiled build (\`node dist/src/server.js\` with \`RUN_WORKER=false\`, and ${result.workers} \`node dist/src/worker-main.js\` process${result.workers === 1 ? "" : "es"}; ${settings}), the ServiceNow, Zendesk and JSM simulators each in its own process, the load generator in the bench process, all on the same cores. One tenant with a servicedesk connection to each simulator shares ${result.tickets} tickets (created and linked at all three before the load). Events alternate: a public comment through \`POST /v1/tickets/{id}/comments\`, which must land at all three vendors, and a public comment saved by an agent at one of the vendors in turn, which notifies the gateway by webhook and must land at the other two. An event's latency runs from the API's 201 (or from the agent's save, which sends the webhook, so it includes the webhook's delivery and acceptance) to the vendor API answering the write that carries the comment at each target. The load is open-loop (events sent on schedule, not waiting for earlier ones). Backlog is the pending effect jobs, sampled each second; a run is steady when the backlog at its end is under one second's worth of events. A delivery that had not landed 60 s after the load ended counts with its wait until then, and the run is not steady; so is a run in which an event's own request was not accepted (the API or a simulator not answering a connection within 10 s under overload).`,
    "",
    "| events/s | s | deliveries | p50 ms | p99 ms | API out p50/p99 | webhook in p50/p99 | backlog (min / max / end of load) | drain s | steady |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...result.runs.map(
      (r) =>
        `| ${r.rate} | ${fmt(r.seconds)} | ${r.landed}${r.refused > 0 ? ` (${r.refused} events not accepted)` : ""} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.outP50Ms)} / ${fmt(r.outP99Ms)} | ${fmt(r.inP50Ms)} / ${fmt(r.inP99Ms)} | ${Math.min(...r.backlog)} / ${Math.max(...r.backlog)} / ${r.backlog[r.backlog.length - 1] ?? 0} | ${fmt(r.drainSeconds, 1)} | ${r.steady ? "yes" : "no"} |`,
    ),
    "",
    `Target at 100 events/s: p50 < 100 ms and p99 < 1 s with no backlog growth: ${at100 ? (at100.p50Ms < 100 && at100.p99Ms < 1000 && at100.steady ? "**met**" : "**NOT met**") : "not run"}. Highest rate offered here with p99 under 1 s and a steady backlog: **${highest ?? "none"} events/s** (rates run in the order listed: the plan, then higher rates until one fails; after a failure, lower rates, each on a fresh deployment since an overloaded run's backlog would carry over, until one holds).`,
    "",
    `Measured ${new Date().toISOString()} on ${machineDescription()}.`,
  ].join("\n");
}
