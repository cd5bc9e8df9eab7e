import { inArray } from "drizzle-orm";
import { Plan } from "../schemas/plan.js";
import { createApp } from "../src/app.js";
import { openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { ledgerEntries, tickets } from "../src/db/schema/index.js";
import { ensurePeriodicJobs } from "../src/jobs/queue.js";
import { JobRunner } from "../src/jobs/runner.js";
import { LedgerKeyring } from "../src/ledger/keys.js";
import { createLogger } from "../src/lib/logger.js";
import { jobContext } from "../src/runtime.js";
import { getPlan, loadPlanCatalog } from "../src/sla/catalog.js";
import { defaultSyncSettings } from "../src/sync/settings.js";
import { BENCH_ADMIN_TOKEN, createBenchDatabase, fmt, median } from "./lib.js";

export interface SlaDetectionResult {
  clocks: number;
  workers: number;
  tickMs: number;
  /** Detection delay in ms (due instant to the ledger entry's append), per entry kind. */
  delays: Record<"sla.warning" | "sla.at_risk" | "sla.breached", number[]>;
  /** How long opening the tickets took (they are opened while the first warnings fire). */
  openingMs: number;
}

const TARGET_MS = 60_000;
const WARNING_RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
const TENANTS = 10;

/**
 * Real-clock SLA detection on PostgreSQL: `clocks` P4 tickets with a 1-minute response on a 24/7 plan, opened
 * over a few seconds, with warnings every 10 % up to 70 %, at risk at 80 % and the breach at 100 %. `workers`
 * job runners (the production loop, `WORKER_TICK_MS` apart when idle) run the `sla.timers` job; the delay of
 * each entry is its append time minus the instant it was due.
 */
export async function benchSlaDetection(options: {
  clocks: number;
  workers: number;
  tickMs?: number;
}): Promise<SlaDetectionResult> {
  const tickMs = options.tickMs ?? defaultSyncSettings.tickMs;
  const presets = loadPlanCatalog();
  const catalog = {
    plans: [
      ...presets.plans,
      Plan.parse({
        ...getPlan(presets, "ombori-enterprise")!,
        id: "bench-detection",
        name: "Detection bench",
        targets: { P4: { responseMinutes: TARGET_MS / 60_000 } },
        warningRatios: WARNING_RATIOS,
      }),
    ],
  };
  const database = await createBenchDatabase();
  const handle = await openDatabase({ kind: "postgres", url: database.url, maxConnections: 8 });
  const logger = createLogger("silent");
  const deps = {
    database: handle,
    config: {
      adminToken: BENCH_ADMIN_TOKEN,
      publicUrl: "http://bench.invalid",
      nodeEnv: "test" as const,
      secretsKey: Buffer.alloc(32, 7),
      ledger: { keyring: LedgerKeyring.generate(), checkpointIntervalMs: 60_000 },
      sync: defaultSyncSettings,
    },
    logger,
    catalog,
    now: () => new Date(),
  };
  const runners: JobRunner[] = [];
  try {
    await runMigrations(handle);
    const app = createApp(deps);
    const call = async (token: string, path: string, body: unknown) => {
      const res = await app.request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; apiKey: string };
    };
    const tenants = [];
    for (let t = 0; t < TENANTS; t++) {
      tenants.push(
        await call(BENCH_ADMIN_TOKEN, "/v1/tenants", { name: `Bench ${t}`, plan: "bench-detection" }),
      );
    }
    await ensurePeriodicJobs(handle.db, new Date());
    for (let w = 0; w < options.workers; w++) {
      const runner = new JobRunner({
        ctx: jobContext({ ...deps, database: handle }, `bench-sla-${w}`),
        processConcurrency: 4,
        connectionConcurrency: 4,
        tickMs,
        leaseMs: defaultSyncSettings.leaseMs,
        kinds: ["sla.timers"],
      });
      runner.start();
      runners.push(runner);
    }
    // Spread the openings so due instants do not all coincide.
    const ids: string[] = [];
    const creating = performance.now();
    for (let i = 0; i < options.clocks; i++) {
      const tenant = tenants[i % TENANTS]!;
      ids.push((await call(tenant.apiKey, "/v1/tickets", { title: `bench ${i}`, priority: "P4" })).id);
      await new Promise((r) => setTimeout(r, 3_000 / options.clocks));
    }
    const openingMs = performance.now() - creating;
    const opened = new Map(
      (await handle.db.select().from(tickets).where(inArray(tickets.id, ids))).map((t) => [
        t.id,
        t.createdAt.getTime(),
      ]),
    );
    // The last breach plus a margin.
    await new Promise((r) => setTimeout(r, TARGET_MS + 3_000 + 5_000));
    const rows = await handle.db
      .select()
      .from(ledgerEntries)
      .where(inArray(ledgerEntries.kind, ["sla.warning", "sla.at_risk", "sla.breached"]));
    const delays: SlaDetectionResult["delays"] = { "sla.warning": [], "sla.at_risk": [], "sla.breached": [] };
    for (const row of rows) {
      const start = opened.get(row.ticketId ?? "");
      if (start === undefined) continue;
      const detail = row.detail as { ratio?: number };
      const ratio = row.kind === "sla.breached" ? 1 : (detail.ratio ?? 0);
      // Targets are whole seconds here, so the instants are exact: floor(ratio x target) after the opening.
      const instant = start + Math.floor(ratio * TARGET_MS);
      delays[row.kind as keyof SlaDetectionResult["delays"]].push(row.occurredAt.getTime() - instant);
    }
    return { clocks: options.clocks, workers: options.workers, tickMs, delays, openingMs };
  } finally {
    await Promise.all(runners.map((r) => r.stop(5_000)));
    await handle.close();
    await database.drop();
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

export function slaDetectionMarkdown(r: SlaDetectionResult): string {
  const rows = (Object.keys(r.delays) as (keyof SlaDetectionResult["delays"])[]).map((kind) => {
    const d = r.delays[kind];
    return `| \`${kind}\` | ${d.length} | ${fmt(median(d))} | ${fmt(percentile(d, 95))} | ${fmt(Math.max(...d))} |`;
  });
  const all = Object.values(r.delays).flat();
  return [
    "## SLA detection delay (PostgreSQL, real clock)",
    "",
    `${r.clocks} P4 tickets of ${TENANTS} tenants with a 1-minute response on a 24/7 plan, opened one after the other through the API (it took ${fmt(r.openingMs / 1000, 1)} s, so the first warnings fire while tickets are still being opened), with warnings every 10 % up to 70 %, at risk at 80 % and the breach at 100 %; ${r.workers} job runners in one process run the \`sla.timers\` job (idle tick ${r.tickMs} ms, the \`WORKER_TICK_MS\` default). Delay: the ledger entry's append time minus the instant it was due. The promise is 5 s.`,
    "",
    "| entry | count | median ms | p95 ms | max ms |",
    "|---|---:|---:|---:|---:|",
    ...rows,
    "",
    `All ${all.length} entries: max **${fmt(Math.max(...all))} ms**; promise ${Math.max(...all) <= 5_000 ? "kept" : "NOT kept"}.`,
  ].join("\n");
}
