import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { generateSigningKey, jwkOf, parseSigningKey } from "../src/ledger/keys.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "tsg-config-"));
const validKey = Buffer.alloc(32, 7).toString("base64");
const validToken = "a".repeat(32);
const signingKey = generateSigningKey();

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("applies defaults", () => {
    const config = loadConfig({ DATA_DIR: tempDir() });
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe("http://localhost:8080");
    expect(config.database.kind).toBe("pglite");
    expect(config.nodeEnv).toBe("development");
  });

  it("lists every bad variable at once", () => {
    const problems = problemsOf({
      PORT: "eighty",
      PUBLIC_URL: "not a url",
      DATABASE_URL: "mysql://x",
      SECRETS_KEY: "c2hvcnQ=",
      LOG_LEVEL: "chatty",
      NODE_ENV: "staging",
    });
    for (const name of ["PORT", "PUBLIC_URL", "DATABASE_URL", "SECRETS_KEY", "LOG_LEVEL", "NODE_ENV"]) {
      expect(
        problems.some((p) => p.startsWith(`${name}:`)),
        `${name} in ${problems.join("; ")}`,
      ).toBe(true);
    }
  });

  it("requires a shared admin token, secrets key and ledger signing key with DATABASE_URL", () => {
    const problems = problemsOf({ DATABASE_URL: "postgres://localhost/db" });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/GATEWAY_ADMIN_TOKEN: required when DATABASE_URL is set/);
    expect(problems[1]).toMatch(/SECRETS_KEY: required/);
    expect(problems[2]).toMatch(/LEDGER_SIGNING_KEY: required/);
  });

  it("requires them in production too, even on PGlite", () => {
    const problems = problemsOf({ NODE_ENV: "production", DATA_DIR: tempDir() });
    expect(problems.join()).toMatch(/NODE_ENV=production/);
  });

  it("refuses embedded PGlite in production unless ALLOW_EMBEDDED_DATABASE=true, naming the variable", () => {
    const secrets = {
      GATEWAY_ADMIN_TOKEN: validToken,
      SECRETS_KEY: validKey,
      LEDGER_SIGNING_KEY: generateSigningKey(),
      DATA_DIR: tempDir(),
    };
    const problems = problemsOf({ ...secrets, NODE_ENV: "production" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^DATABASE_URL: required when NODE_ENV=production/);
    expect(problems[0]).toContain("ALLOW_EMBEDDED_DATABASE=true");
    expect(problemsOf({ ...secrets, NODE_ENV: "production", ALLOW_EMBEDDED_DATABASE: "false" })).toHaveLength(
      1,
    );
    const allowed = loadConfig({ ...secrets, NODE_ENV: "production", ALLOW_EMBEDDED_DATABASE: "true" });
    expect(allowed.database.kind).toBe("pglite");
    expect(problemsOf({ ALLOW_EMBEDDED_DATABASE: "yes" }).join()).toMatch(/^ALLOW_EMBEDDED_DATABASE:/);
  });

  it("treats an empty value as unset (compose files and ConfigMaps carry optional settings empty)", () => {
    const config = loadConfig({ DATA_DIR: tempDir(), PUBLIC_URL: "", PLAN_CATALOG_FILE: "", PORT: "" });
    expect(config.publicUrl).toBe("http://localhost:8080");
    expect(config.planCatalogFile).toBeUndefined();
  });

  it("takes SHUTDOWN_TIMEOUT_MS, 25 s by default (below Kubernetes' 30 s grace period)", () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).shutdownTimeoutMs).toBe(25_000);
    expect(loadConfig({ DATA_DIR: tempDir(), SHUTDOWN_TIMEOUT_MS: "5000" }).shutdownTimeoutMs).toBe(5000);
    expect(problemsOf({ SHUTDOWN_TIMEOUT_MS: "-1" }).join()).toMatch(/^SHUTDOWN_TIMEOUT_MS:/);
  });

  it("accepts shared secrets with DATABASE_URL", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://localhost/db",
      GATEWAY_ADMIN_TOKEN: validToken,
      SECRETS_KEY: validKey,
      LEDGER_SIGNING_KEY: signingKey,
      PUBLIC_URL: "https://gw.example.com/",
    });
    expect(config.database).toEqual({ kind: "postgres", url: "postgres://localhost/db" });
    expect(config.secretsKey).toHaveLength(32);
    expect(config.publicUrl).toBe("https://gw.example.com");
    expect(config.generatedSecretsFile).toBeNull();
  });

  it("generates development secrets once, in a 0600 file, and reuses them", () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.generatedSecretsFile).toBe(join(dir, "dev-secrets.json"));
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.secretsKey.equals(first.secretsKey)).toBe(true);
    expect(statSync(first.generatedSecretsFile!).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.generatedSecretsFile!, "utf8")).toContain(first.adminToken);
  });

  it("adds a ledger signing key to a development secrets file written before ledger signing", () => {
    const dir = tempDir();
    const file = join(dir, "dev-secrets.json");
    writeFileSync(file, JSON.stringify({ adminToken: validToken, secretsKey: validKey }));
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.adminToken).toBe(validToken);
    const stored = JSON.parse(readFileSync(file, "utf8"));
    expect(stored.ledgerSigningKey).toEqual(expect.any(String));
    expect(loadConfig({ DATA_DIR: dir }).ledger.keyring.keyId).toBe(first.ledger.keyring.keyId);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("takes a signing key and previous public keys, published with the current one first", () => {
    const previous = jwkOf(parseSigningKey(generateSigningKey()));
    const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }).toString();
    const config = loadConfig({
      DATA_DIR: tempDir(),
      LEDGER_SIGNING_KEY: signingKey,
      LEDGER_SIGNING_KEYS_PREVIOUS: `${previous.x}, ${pem}`,
      LEDGER_CHECKPOINT_INTERVAL_MS: "5000",
    });
    const kids = config.ledger.keyring.jwks.keys.map((k) => k.kid);
    expect(kids).toHaveLength(3);
    expect(kids[0]).toBe(jwkOf(parseSigningKey(signingKey)).kid);
    expect(kids[1]).toBe(previous.kid);
    expect(config.ledger.checkpointIntervalMs).toBe(5000);
  });

  it.each([
    ["LEDGER_SIGNING_KEY", "bm90IGEga2V5"],
    [
      "LEDGER_SIGNING_KEY",
      generateKeyPairSync("x25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    ],
    ["LEDGER_SIGNING_KEYS_PREVIOUS", "short"],
    ["LEDGER_CHECKPOINT_INTERVAL_MS", "10"],
  ])("rejects a bad %s", (name, value) => {
    const problems = problemsOf({ DATA_DIR: tempDir(), [name]: value });
    expect(
      problems.some((p) => p.startsWith(`${name}:`)),
      problems.join("; "),
    ).toBe(true);
  });
});

describe("loadConfig: outbound HTTP safety", () => {
  it("caps vendor response bodies at 16 MiB unless OUTBOUND_MAX_RESPONSE_BYTES says otherwise", () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).sync.maxResponseBytes).toBe(16 * 1024 * 1024);
    expect(
      loadConfig({ DATA_DIR: tempDir(), OUTBOUND_MAX_RESPONSE_BYTES: "65536" }).sync.maxResponseBytes,
    ).toBe(65536);
    expect(problemsOf({ DATA_DIR: tempDir(), OUTBOUND_MAX_RESPONSE_BYTES: "lots" })).toEqual([
      expect.stringMatching(/^OUTBOUND_MAX_RESPONSE_BYTES:/),
    ]);
  });

  it("reads CONNECTOR_HOST_ALLOWLIST as lower-case hosts", () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      CONNECTOR_HOST_ALLOWLIST: " Sim.Internal:8443, [fd00::5]:443 ,",
    });
    expect(config.sync.hostAllowlist).toEqual(["sim.internal:8443", "[fd00::5]:443"]);
  });
});
