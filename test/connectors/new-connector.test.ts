import { execFile } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Proof that a connector is one folder plus one registry line: a connector generated from the template into a
// temporary folder, registered by a copy of the registry that differs from connectors/index.ts by that line
// only, typechecks and passes the conformance kit, with no other file of the repository touched. The kit's
// run sees the copy through a module redirect, so connectors/index.ts itself never changes.

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
const prefix = "zz-proof-";
const type = `${prefix}${process.pid}`;
const folder = join(repo, "connectors", type);
const registryPath = join(repo, "connectors", "index.ts");

function removeStaleFolders() {
  for (const entry of readdirSync(join(repo, "connectors")))
    if (entry.startsWith(prefix)) rmSync(join(repo, "connectors", entry), { recursive: true, force: true });
}

/** The registry with the new connector's import and its one entry; paths made relative to the new folder. */
function registryWithNewConnector(): { text: string; added: string[] } {
  const original = readFileSync(registryPath, "utf8").replaceAll('from "./', 'from "../');
  const importLine = `import { template as newConnector } from "./index.js";`;
  const entryLine = `  "${type}": newConnector,`;
  const text = original
    .replace(/^(import .*\n)(?!import )/m, `$1${importLine}\n`)
    .replace(/(export const connectors = \{\n)/, `$1${entryLine}\n`);
  return { text, added: [importLine, entryLine] };
}

function gitStatus() {
  return run("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: repo }).then((r) =>
    r.stdout
      .split("\n")
      .filter((line) => line !== "" && !line.includes(`connectors/${type}/`))
      .sort(),
  );
}

let statusBefore: string[];
type Outcome = { stdout: string; stderr: string };
let typecheck: Promise<Outcome>;
let kit: Promise<Outcome>;
const outcome = (child: Promise<Outcome>): Promise<Outcome> =>
  child.catch((error: { stdout?: string; stderr?: string; message?: string }) => ({
    stdout: error.stdout ?? "",
    stderr: error.stderr || error.message || "failed",
  }));

beforeAll(async () => {
  removeStaleFolders();
  statusBefore = await gitStatus();
  cpSync(join(repo, "connectors", "_template"), folder, { recursive: true });
  // What docs/connectors.md tells an author to do in the folder: name the type and the priority scheme.
  for (const [file, from, to] of [
    ["index.ts", 'type: "template",', `type: "${type}",`],
    ["mapping.ts", 'id: "template",', `id: "${type}",`],
    ["test/conformance.ts", 'type: "template",', `type: "${type}",`],
  ] as const) {
    const path = join(folder, file);
    const text = readFileSync(path, "utf8");
    expect(text, `${file} has ${from}`).toContain(from);
    writeFileSync(path, text.replace(from, to));
  }
  writeFileSync(join(folder, "registry.generated.ts"), registryWithNewConnector().text);
  writeFileSync(
    join(folder, "tsconfig.generated.json"),
    JSON.stringify({
      extends: "../../tsconfig.json",
      include: ["./**/*.ts"],
      exclude: ["vitest.generated.config.mjs"],
    }),
  );
  // Every import of connectors/index.ts resolves to the copy with the new line. Plain JavaScript, so that a
  // folder left behind by a killed run cannot break the repository's typecheck.
  writeFileSync(
    join(folder, "vitest.generated.config.mjs"),
    `import { resolve } from "node:path";
import { mergeConfig } from "vitest/config";
import base from "../../vitest.config.ts";

const registry = resolve(import.meta.dirname, "../index.ts");
const generated = resolve(import.meta.dirname, "registry.generated.ts");

export default mergeConfig(base, {
  plugins: [
    {
      name: "generated-registry",
      enforce: "pre",
      async resolveId(source, importer, options) {
        if (importer === undefined || importer === generated) return null;
        const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
        return resolved !== null && resolved.id === registry ? generated : null;
      },
    },
  ],
});
`,
  );
  // Both child processes start now and run side by side; the tests below wait for their outcome.
  typecheck = outcome(
    run(join(repo, "node_modules", ".bin", "tsc"), ["-p", join(folder, "tsconfig.generated.json")], {
      cwd: repo,
    }),
  );
  kit = outcome(
    run(
      join(repo, "node_modules", ".bin", "vitest"),
      [
        "run",
        "--config",
        join(folder, "vitest.generated.config.mjs"),
        "test/conformance/servicedesks.test.ts",
        "-t",
        type,
        "--reporter",
        "json",
      ],
      { cwd: repo, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: "0" } },
    ),
  );
}, 30_000);

afterAll(async () => {
  await Promise.all([typecheck, kit]);
  rmSync(folder, { recursive: true, force: true });
  expect(existsSync(folder)).toBe(false);
}, 240_000);

describe("a new connector from the template", () => {
  it("needs its registry line and nothing else outside its folder", async () => {
    const registry = readFileSync(registryPath, "utf8").replaceAll('from "./', 'from "../').split("\n");
    const { text, added } = registryWithNewConnector();
    const extra = text.split("\n").filter((line) => !registry.includes(line));
    expect(extra).toEqual(added);
    expect(await gitStatus(), "files outside the new folder changed").toEqual(statusBefore);
  });

  it("typechecks, registered", async () => {
    const result = await typecheck;
    expect(`${result.stdout}${result.stderr}`).toBe("");
  }, 180_000);

  it("passes the conformance kit, found through the registry", async () => {
    const result = await kit;
    const start = result.stdout.indexOf("{");
    expect(start, result.stderr.slice(-4000)).toBeGreaterThanOrEqual(0);
    const report = JSON.parse(result.stdout.slice(start)) as {
      testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
    };
    const results = report.testResults.flatMap((file) => file.assertionResults);
    const ran = results.filter(
      (r) => r.fullName.includes(type) && r.status !== "skipped" && r.status !== "pending",
    );
    const failed = ran.filter((r) => r.status !== "passed");
    expect(failed.map((r) => `${r.fullName}: ${r.failureMessages.join("\n").slice(0, 1500)}`)).toEqual([]);
    // Both transports, every case of the kit, and the adapter found in the new folder.
    expect(ran.length).toBeGreaterThanOrEqual(2 * 8 + 1);
  }, 180_000);
});
