// The Docker image without a Docker engine: the Dockerfile is linted (dockerfile-utils, the VS Code Docker
// language server's linter), then the runtime stage's file set is assembled the way its COPY instructions
// say (a production `npm ci --omit=dev` for the prod-deps stage, `npm run build` for the build stage) and
// checked: its size, that it carries no tests, simulators, template, demo, contract tooling or TypeScript
// sources, and that the entry points start from it with the image's environment and write nothing into it
// (the container runs with a read-only root filesystem; only DATA_DIR and /tmp are writable).
//
// Budget: about 60-90 s on an idle two-core machine (build ~15 s, production install ~30 s from the npm
// cache, three process starts); the timeouts below are wider because CI machines are shared.

import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { validate } from "dockerfile-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killRunningProcesses, processDatabaseEnv, startProcess } from "./gateway-process.js";
import { engine } from "./harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const MAX_RUNTIME_MB = 140;

interface Copy {
  from: string | null;
  source: string;
  dest: string;
}

/** The COPY instructions of one stage, in order. */
function stageCopies(text: string, stage: string): Copy[] {
  const lines = text.replace(/\\\n/g, " ").split("\n");
  const start = lines.findIndex((line) => new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${stage}\\s*$`, "i").test(line));
  if (start < 0) throw new Error(`no stage ${stage} in the Dockerfile`);
  const copies: Copy[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^FROM\s/i.test(line)) break;
    const match = /^COPY\s+(?:--from=(\S+)\s+)?(\S+)\s+(\S+)\s*$/i.exec(line.trim());
    if (/^COPY\s/i.test(line.trim()) && !match) throw new Error(`a COPY this test cannot replay: ${line}`);
    if (match) copies.push({ from: match[1] ?? null, source: match[2]!, dest: match[3]! });
  }
  return copies;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

function sizeMb(dir: string): number {
  return filesUnder(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0) / 1024 / 1024;
}

/** A fingerprint of every file (path, size, mtime) to show that running wrote nothing into the image. */
function fingerprint(dir: string): string {
  return filesUnder(dir)
    .sort()
    .map((file) => {
      const stat = statSync(join(dir, file));
      return `${file}:${stat.size}:${stat.mtimeMs}`;
    })
    .join("\n");
}

describe("Dockerfile lint", () => {
  it("has no findings from dockerfile-utils", () => {
    const findings = validate(dockerfile);
    expect(findings.map((f) => `${f.range.start.line + 1}: ${f.message}`)).toEqual([]);
  });

  it("the linter is live: it flags a broken Dockerfile", () => {
    expect(validate("FROM node:20 AS a\nEXPOSE not-a-port\nHEALTHCHECK\n").length).toBeGreaterThan(0);
  });

  it("runs as a non-root user with a HEALTHCHECK, the compiled server and no sources", () => {
    const runtime = dockerfile.slice(dockerfile.search(/^FROM\s+\S+\s+AS\s+runtime/im));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    expect(runtime).toMatch(/^CMD \["node", "--enable-source-maps", "dist\/src\/server.js"\]$/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
  });
});

describe("the runtime stage's file set", () => {
  let app: string;
  let assembleSeconds = 0;

  beforeAll(() => {
    const started = Date.now();
    app = mkdtempSync(join(tmpdir(), "tsg-image-"));
    // The build stage: type-checks and compiles (fails the test on a type error).
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: "pipe" });
    // The prod-deps stage: the same command, in a folder holding only the manifest and the lock.
    const deps = mkdtempSync(join(tmpdir(), "tsg-image-deps-"));
    cpSync(join(root, "package.json"), join(deps, "package.json"));
    cpSync(join(root, "package-lock.json"), join(deps, "package-lock.json"));
    execFileSync(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
      { cwd: deps, stdio: "pipe" },
    );
    const stages: Record<string, string> = { build: root, "prod-deps": deps };
    const sourceDirs: Record<string, string> = { build: "/src", "prod-deps": "/app" };
    for (const copy of stageCopies(dockerfile, "runtime")) {
      const fromRoot = copy.from ? stages[copy.from] : root;
      if (!fromRoot) throw new Error(`COPY --from=${copy.from}: unknown stage`);
      const source = copy.from ? relative(sourceDirs[copy.from]!, copy.source) : copy.source;
      const dest = copy.dest.endsWith("/") ? join(app, copy.dest, source) : join(app, copy.dest);
      cpSync(join(fromRoot, source), dest, { recursive: true });
    }
    rmSync(deps, { recursive: true, force: true });
    assembleSeconds = (Date.now() - started) / 1000;
  }, 400_000);

  afterAll(() => {
    killRunningProcesses();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it(`holds production dependencies and the build only, under ${MAX_RUNTIME_MB} MB`, () => {
    expect(readdirSync(app).sort()).toEqual(["dist", "node_modules", "package.json"]);
    const mb = sizeMb(app);
    console.info(`runtime file set: ${mb.toFixed(1)} MB, assembled in ${assembleSeconds.toFixed(0)} s`);
    expect(mb).toBeLessThan(MAX_RUNTIME_MB);
    const ours = filesUnder(join(app, "dist"));
    const unwanted = ours.filter((file) =>
      /simulator|\/contract\/|_template|\/demo\/|(^|\/)test\/|\.test\.|\.ts$|bench\//.test(file),
    );
    expect(unwanted).toEqual([]);
    expect(ours).toContain("src/server.js");
    expect(ours).toContain("drizzle/meta/_journal.json");
    expect(ours).toContain("src/sla/plans.yaml");
    expect(ours).toContain("assets/scalar-standalone.js");
    const packages = readdirSync(join(app, "node_modules"));
    for (const devOnly of ["tsx", "typescript", "vitest", "msw", "@biomejs", "drizzle-kit", "esbuild"]) {
      expect(packages, devOnly).not.toContain(devOnly);
    }
    expect(readdirSync(join(app, "node_modules/@scalar"))).not.toContain("api-reference");
  });

  it("refuses production on embedded PGlite without ALLOW_EMBEDDED_DATABASE, naming it", async () => {
    const gateway = startProcess(
      ["dist/src/server.js"],
      {
        NODE_ENV: "production",
        DATA_DIR: mkdtempSync(join(tmpdir(), "tsg-image-data-")),
        GATEWAY_ADMIN_TOKEN: "image-admin-token-0123456789abcdef",
        SECRETS_KEY: Buffer.alloc(32, 3).toString("base64"),
      },
      app,
    );
    expect(await gateway.exited).toBe(1);
    expect(gateway.output()).toMatch(
      /DATABASE_URL: required when NODE_ENV=production.*ALLOW_EMBEDDED_DATABASE=true/,
    );
  }, 120_000);

  it(`migrates, serves /healthz, /readyz, the offline /docs and the console, and runs the worker (${engine})`, async () => {
    const before = fingerprint(app);
    const database = await processDatabaseEnv();
    const env = { ...database.env, NODE_ENV: "production", ALLOW_EMBEDDED_DATABASE: "true" };
    try {
      const migrate = startProcess(["dist/src/db/migrate-cli.js"], env, app);
      expect(await migrate.exited, migrate.output()).toBe(0);
      expect(migrate.output()).toMatch(/migrations applied/);

      const server = startProcess(["--enable-source-maps", "dist/src/server.js"], env, app);
      const url = await server.listening;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, await ready.clone().text()).toBe(200);
      expect((await fetch(`${url}/docs`)).status).toBe(200);
      const bundle = await fetch(`${url}/docs/assets/scalar.js`);
      expect(bundle.status).toBe(200);
      expect((await bundle.text()).length).toBeGreaterThan(1_000_000);
      // The console's stylesheet (copied by the build) and htmx (from the production dependency).
      for (const asset of ["console.css", "htmx.min.js"]) {
        const served = await fetch(`${url}/console/assets/${asset}`);
        expect(served.status, asset).toBe(200);
      }
      expect((await fetch(`${url}/console/sign-in`)).status).toBe(200);
      server.child.kill("SIGTERM");
      expect(await server.exited, server.output()).toBe(0);

      // The worker process needs PostgreSQL; on PGlite it must say so (which shows it loads from here).
      const worker = startProcess(["dist/src/worker-main.js"], env, app);
      if (engine === "postgres") {
        await expect.poll(() => worker.output(), { timeout: 60_000 }).toMatch(/worker started/);
        worker.child.kill("SIGTERM");
        expect(await worker.exited, worker.output()).toBe(0);
      } else {
        expect(await worker.exited).toBe(1);
        expect(worker.output()).toMatch(/needs PostgreSQL/);
      }
    } finally {
      await database.drop();
    }
    expect(fingerprint(app) === before, "running wrote into the image's file set").toBe(true);
  }, 300_000);
});
