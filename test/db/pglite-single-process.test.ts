import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

function startGateway(dataDir: string, port: number) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  };
  delete env.DATABASE_URL;
  delete env.GATEWAY_ADMIN_TOKEN;
  delete env.SECRETS_KEY;
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (output.includes("listening on")) {
        clearInterval(check);
        resolve();
      }
    }, 50);
    void exited.then(() => {
      clearInterval(check);
      reject(new Error(`exited early: ${output}`));
    });
  });
  // The second gateway is expected to exit; its listening promise is then never awaited.
  listening.catch(() => {});
  return { child, exited, listening, output: () => output };
}

describe("embedded PGlite DATA_DIR", () => {
  it("is opened by one process only: a second gateway on it fails with a clear message", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tsg-lock-"));
    const first = startGateway(dataDir, 18_000 + Math.floor(Math.random() * 1000));
    await first.listening;
    const second = startGateway(dataDir, 19_000 + Math.floor(Math.random() * 1000));
    const code = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toMatch(/already open in process \d+/);
    expect(second.output()).toMatch(/DATABASE_URL/);
    expect(first.child.exitCode).toBeNull();

    first.child.kill("SIGTERM");
    await first.exited;
    const third = startGateway(dataDir, 20_000 + Math.floor(Math.random() * 1000));
    await third.listening;
    third.child.kill("SIGTERM");
    await third.exited;
  }, 60_000);
});
