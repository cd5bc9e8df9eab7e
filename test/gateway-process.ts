import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningKey } from "../src/ledger/keys.js";
import { createTestDatabase, engine } from "./harness.js";

export const PROCESS_ADMIN_TOKEN = "process-admin-token-0123456789abcdef";
const secretsKey = Buffer.alloc(32, 5).toString("base64");

export interface GatewayProcess {
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the base URL once the start banner says it listens (PORT=0: the port it got). */
  listening: Promise<string>;
}

/**
 * Starts a real gateway process (`node <args>`, e.g. `--import tsx src/server.ts` or `dist/src/server.js`)
 * on a port of its own, with the environment given on top of a clean one (no DATABASE_URL unless given).
 */
const running = new Set<ChildProcess>();

/** Kills every process started here that is still running (call it in afterAll: no orphan survives a failure). */
export function killRunningProcesses(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

export function startProcess(args: string[], env: NodeJS.ProcessEnv, cwd: string): GatewayProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, TZ: "UTC", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const port = /listening on http:\/\/localhost:(\d+)/.exec(output)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  listening.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, output: () => output, listening };
}

/**
 * The database environment for one spawned gateway: on PostgreSQL (DATABASE_URL set) a fresh database of
 * its own, dropped by `drop`; on PGlite a fresh DATA_DIR.
 */
// Every process of one deployment signs with the same key, as they share the admin token.
const ledgerSigningKey = generateSigningKey();

export async function processDatabaseEnv(): Promise<{ env: NodeJS.ProcessEnv; drop(): Promise<void> }> {
  const secrets = {
    GATEWAY_ADMIN_TOKEN: PROCESS_ADMIN_TOKEN,
    SECRETS_KEY: secretsKey,
    LEDGER_SIGNING_KEY: ledgerSigningKey,
  };
  if (engine === "postgres") {
    const database = await createTestDatabase({ migrate: false });
    return {
      env: {
        ...secrets,
        DATABASE_URL: database.testUrl!,
        DATA_DIR: mkdtempSync(join(tmpdir(), "tsg-proc-")),
      },
      drop: () => database.close(),
    };
  }
  return {
    env: { ...secrets, DATA_DIR: mkdtempSync(join(tmpdir(), "tsg-proc-")) },
    drop: async () => {},
  };
}
