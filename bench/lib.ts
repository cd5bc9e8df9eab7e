import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { generateSigningKey } from "../src/ledger/keys.js";

export const BENCH_ADMIN_TOKEN = `bench-admin-${randomBytes(12).toString("hex")}`;
const BENCH_SECRETS_KEY = randomBytes(32).toString("base64");
const BENCH_LEDGER_SIGNING_KEY = generateSigningKey();

export function machineDescription(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  // The load average tells a reader whether other work shared the cores while the figures were taken.
  const load = loadavg()
    .map((value) => value.toFixed(1))
    .join(" / ");
  return `${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}, load average ${load} (1/5/15 min) when written`;
}

export function postgresBaseUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://root@127.0.0.1:5432/test";
}

/** A throwaway database on the bench PostgreSQL; dropped by the returned function. */
export async function createBenchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = postgresBaseUrl();
  const name = `tsg_bench_${Date.now().toString(36)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = postgres(base, { max: 1, onnotice: () => {} });
      await c.unsafe(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

export interface RunningGateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Runs a bench helper script in its own process and waits for its `listening <port>` line. */
export async function startScript(script: string, env: NodeJS.ProcessEnv = {}): Promise<RunningGateway> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on("exit", (code) => reject(new Error(`${script} exited ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

let built = false;

/** `npm run build` once per bench process: the compiled gateway is what production runs (`start:prod`). */
export function buildOnce(): void {
  if (built) return;
  const result = spawnSync("npm", ["run", "build"], { stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`npm run build failed with status ${result.status}`);
  built = true;
}

function gatewayEnv(options: { databaseUrl?: string; port: number; env?: NodeJS.ProcessEnv }) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(options.port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    GATEWAY_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    SECRETS_KEY: BENCH_SECRETS_KEY,
    LEDGER_SIGNING_KEY: BENCH_LEDGER_SIGNING_KEY,
    DATA_DIR: mkdtempSync(join(tmpdir(), "tsg-bench-")),
  };
  Object.assign(env, options.env ?? {});
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  else delete env.DATABASE_URL;
  return env;
}

/** `BENCH_NODE_FLAGS` (say `--cpu-prof --cpu-prof-dir=/tmp/prof`) for the gateway processes a bench starts. */
function profileFlags(): string[] {
  return (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
}

function stopChild(child: ChildProcess) {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
}

/**
 * Starts the compiled worker (`npm run build` first: dist/src/worker-main.js) in its own process; resolves once
 * it listens for job notifications.
 */
export async function startCompiledWorker(options: {
  databaseUrl: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{ stop(): Promise<void> }> {
  buildOnce();
  const child: ChildProcess = spawn(process.execPath, [...profileFlags(), "dist/src/worker-main.js"], {
    env: gatewayEnv({ ...options, port: 0 }),
    stdio: ["ignore", "ignore", "inherit"],
  });
  return { stop: stopChild(child) };
}

/**
 * Starts the gateway in its own process, so the load generator does not share its event loop: `src/server.ts`
 * (or another entry point, `src/worker-main.ts`) under tsx, or with `compiled` the build as `npm run start:prod`
 * runs it (`dist/src/server.js`, built here); ready when `readyPath` (default `/readyz`) on `port` answers 2xx.
 */
export async function startGateway(options: {
  databaseUrl?: string;
  port: number;
  env?: NodeJS.ProcessEnv;
  script?: string;
  readyPath?: string;
  compiled?: boolean;
}): Promise<RunningGateway> {
  const env = gatewayEnv(options);
  if (options.compiled) buildOnce();
  const script = options.script ?? "src/server.ts";
  const entry = options.compiled
    ? ["--enable-source-maps", `dist/${script.replace(/\.ts$/, ".js")}`]
    : ["--import", "tsx", script];
  const child: ChildProcess = spawn(process.execPath, [...profileFlags(), ...entry], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${options.port}`;
  // Generous: a shared, loaded machine can take long to migrate a fresh database or open PGlite.
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited: ${stderr}`);
    try {
      if ((await fetch(`${url}${options.readyPath ?? "/readyz"}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`gateway did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // A gateway that dies under load leaves the bench with refused connections: say why it died.
  const stop = stopChild(child);
  let stopping = false;
  child.on("exit", (code, signal) => {
    if (!stopping)
      process.stderr.write(`gateway ${script} exited (${code ?? signal}):\n${stderr.slice(-4000)}\n`);
  });
  return {
    url,
    pid: child.pid!,
    stop: () => {
      stopping = true;
      return stop();
    },
  };
}

/** Starts several gateways at once; when one fails, those that started are stopped before the error is thrown. */
export async function startGateways(list: Parameters<typeof startGateway>[0][]): Promise<RunningGateway[]> {
  const settled = await Promise.allSettled(list.map((options) => startGateway(options)));
  const failed = settled.find((s) => s.status === "rejected");
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<RunningGateway>).value);
  for (const s of settled) if (s.status === "fulfilled") await s.value.stop();
  throw failed.reason;
}

export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
