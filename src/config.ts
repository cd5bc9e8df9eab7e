import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { generateSigningKey, LedgerKeyring, parsePublicKey, parseSigningKey } from "./ledger/keys.js";
import { defaultSyncSettings, type SyncSettings } from "./sync/settings.js";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const secretsKey = z
  .string()
  .refine((value) => Buffer.from(value, "base64").length === 32, "must be 32 random bytes in base64");

const parses = (parse: (text: string) => unknown) => (value: string) => {
  try {
    parse(value);
    return true;
  } catch {
    return false;
  }
};

const ledgerSigningKey = z
  .string()
  .refine(
    parses(parseSigningKey),
    "must be an Ed25519 private key, PKCS#8 PEM or base64 DER; generate one with: openssl genpkey -algorithm ed25519 -outform DER | base64 -w0",
  );

/** How long a console sign-in lasts: a working day. */
export const DEFAULT_CONSOLE_SESSION_TTL_MS = 8 * 3_600_000;

/** The one schema for the environment; nothing else reads process.env. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  GATEWAY_ADMIN_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  SECRETS_KEY: secretsKey.optional(),
  LEDGER_SIGNING_KEY: ledgerSigningKey.optional(),
  LEDGER_SIGNING_KEYS_PREVIOUS: z
    .string()
    .default("")
    .refine(
      (value) => splitList(value).every(parses(parsePublicKey)),
      "must be a comma-separated list of Ed25519 public keys (JWK x, SPKI PEM or base64 DER)",
    ),
  LEDGER_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(logLevels).default("info"),
  PLAN_CATALOG_FILE: z.string().min(1).optional(),
  WORKER_TICK_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  RUN_WORKER: z.enum(["true", "false"]).default("true"),
  CONNECTOR_HOST_ALLOWLIST: z.string().default(""),
  OUTBOUND_MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  SYNC_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  SYNC_MAX_AGE_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(24),
  SYNC_BACKOFF_BASE_MS: z.coerce.number().int().min(10).default(1000),
  SYNC_BACKOFF_CAP_MS: z.coerce.number().int().min(10).default(300_000),
  SYNC_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  SYNC_LEASE_MS: z.coerce.number().int().min(1000).default(60_000),
  SYNC_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  SYNC_CONNECTION_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  SYNC_PROCESS_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
  CONNECTION_HEALTH_INTERVAL_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  CONNECTION_HEALTH_DAMPING_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  JOB_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(7),
  IDEMPOTENCY_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(7),
  WEBHOOK_REJECTION_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(7),
  SMTP_URL: z
    .string()
    .regex(
      /^smtps?:\/\//,
      "must be an smtp:// or smtps:// URL (credentials in it: smtp://user:pass@host:587)",
    )
    .optional(),
  SMTP_FROM: z.string().min(3).default("ticket-sync-gateway@localhost"),
  ALLOW_EMBEDDED_DATABASE: z.enum(["true", "false"]).default("false"),
  // Below Kubernetes' default 30 s grace period, so a drained process exits before it is killed.
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(25_000),
  METRICS_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_TENANT_LABELS: z.enum(["true", "false"]).default("false"),
  METRICS_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(5000),
  // The standard OpenTelemetry variables that decide whether tracing runs; the SDK itself reads the
  // others it documents (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES, ...).
  OTEL_SDK_DISABLED: z.enum(["true", "false"]).default("false"),
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "console", "none"]).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("ticket-sync-gateway"),
  CONSOLE_SESSION_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(DEFAULT_CONSOLE_SESSION_TTL_MS),
});

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

export type Env = z.infer<typeof envSchema>;

/** Every variable the gateway reads (the deployment manifests must carry each; test/deploy.test.ts checks). */
export const envVariableNames = Object.keys(envSchema.shape) as (keyof Env)[];

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  database: { kind: "postgres"; url: string } | { kind: "pglite"; dataDir: string };
  adminToken: string;
  secretsKey: Buffer;
  ledger: LedgerSettings;
  nodeEnv: Env["NODE_ENV"];
  logLevel: Env["LOG_LEVEL"];
  planCatalogFile: string | undefined;
  workerTickMs: number;
  /** `npm start` runs the worker too unless RUN_WORKER=false (API-only processes). */
  runWorker: boolean;
  /** On SIGTERM: how long in-flight requests and the worker's current pass may take before the process exits. */
  shutdownTimeoutMs: number;
  /** How long a console session lasts after sign-in. */
  consoleSessionTtlMs: number;
  sync: SyncSettings;
  metrics: MetricsSettings;
  tracing: TracingSettings;
  /** Where a generated development token lives, for the start banner; never the token itself. */
  generatedSecretsFile: string | null;
}

export interface LedgerSettings {
  /** Signs checkpoints with LEDGER_SIGNING_KEY; also holds the previous public keys, still published. */
  keyring: LedgerKeyring;
  checkpointIntervalMs: number;
}

export interface MetricsSettings {
  /** Bearer token that may read `/metrics` besides the admin token. */
  token: string | null;
  /** A second listener serving only `/metrics`, without auth (in-cluster scraping; workers have no API). */
  port: number | null;
  /** Adds a `tenant` label to the SLA gauges (one series per tenant: only for few tenants). */
  tenantLabels: boolean;
  /** How long the database-derived gauges are reused between scrapes. */
  cacheMs: number;
}

export const defaultMetricsSettings: MetricsSettings = {
  token: null,
  port: null,
  tenantLabels: false,
  cacheMs: 5000,
};

export interface TracingSettings {
  /** Off unless an OTLP endpoint or a traces exporter is configured. */
  enabled: boolean;
  exporter: "otlp" | "console";
  serviceName: string;
}

export const tracingOff: TracingSettings = {
  enabled: false,
  exporter: "otlp",
  serviceName: "ticket-sync-gateway",
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment once. Every bad variable is listed, not just the first one.
 * On PGlite in development a missing admin token or secrets key is generated and kept in DATA_DIR
 * (mode 0600); with DATABASE_URL or in production every process must share them, so they are required.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty value counts as unset (compose files and ConfigMaps list optional settings with no value).
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const needsSharedSecrets = e.DATABASE_URL !== undefined || e.NODE_ENV === "production";
  if (needsSharedSecrets) {
    const why = e.DATABASE_URL ? "DATABASE_URL is set" : "NODE_ENV=production";
    if (!e.GATEWAY_ADMIN_TOKEN) {
      problems.push(`GATEWAY_ADMIN_TOKEN: required when ${why} (every process must share it)`);
    }
    if (!e.SECRETS_KEY) {
      problems.push(
        `SECRETS_KEY: required when ${why} (every process must share it); generate one with: openssl rand -base64 32`,
      );
    }
    if (!e.LEDGER_SIGNING_KEY) {
      problems.push(
        `LEDGER_SIGNING_KEY: required when ${why} (checkpoints must be signed by one published key); generate one with: openssl genpkey -algorithm ed25519 -outform DER | base64 -w0`,
      );
    }
  }
  if (e.NODE_ENV === "production" && !e.DATABASE_URL && e.ALLOW_EMBEDDED_DATABASE !== "true") {
    problems.push(
      "DATABASE_URL: required when NODE_ENV=production; embedded PGlite does not fsync and serves one process. " +
        "To run production on PGlite anyway (a single-node trial, with DATA_DIR on a volume), set ALLOW_EMBEDDED_DATABASE=true",
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  let adminToken = e.GATEWAY_ADMIN_TOKEN;
  let secrets = e.SECRETS_KEY;
  let signingKey = e.LEDGER_SIGNING_KEY;
  let generatedSecretsFile: string | null = null;
  const dataDir = resolve(e.DATA_DIR);
  if (!adminToken || !secrets || !signingKey) {
    const stored = loadOrCreateDevSecrets(dataDir);
    generatedSecretsFile = stored.file;
    adminToken ??= stored.adminToken;
    secrets ??= stored.secretsKey;
    signingKey ??= stored.ledgerSigningKey;
  }
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    database: e.DATABASE_URL ? { kind: "postgres", url: e.DATABASE_URL } : { kind: "pglite", dataDir },
    adminToken,
    secretsKey: Buffer.from(secrets, "base64"),
    ledger: {
      keyring: new LedgerKeyring(
        parseSigningKey(signingKey),
        splitList(e.LEDGER_SIGNING_KEYS_PREVIOUS).map(parsePublicKey),
      ),
      checkpointIntervalMs: e.LEDGER_CHECKPOINT_INTERVAL_MS,
    },
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    planCatalogFile: e.PLAN_CATALOG_FILE,
    workerTickMs: e.WORKER_TICK_MS,
    runWorker: e.RUN_WORKER === "true",
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    consoleSessionTtlMs: e.CONSOLE_SESSION_TTL_MS,
    sync: {
      ...defaultSyncSettings,
      maxAttempts: e.SYNC_MAX_ATTEMPTS,
      maxAgeMs: e.SYNC_MAX_AGE_HOURS * 3_600_000,
      backoffBaseMs: e.SYNC_BACKOFF_BASE_MS,
      backoffCapMs: e.SYNC_BACKOFF_CAP_MS,
      pollIntervalMs: e.SYNC_POLL_INTERVAL_MS,
      leaseMs: e.SYNC_LEASE_MS,
      httpTimeoutMs: e.SYNC_HTTP_TIMEOUT_MS,
      connectionConcurrency: e.SYNC_CONNECTION_CONCURRENCY,
      processConcurrency: e.SYNC_PROCESS_CONCURRENCY,
      tickMs: e.WORKER_TICK_MS,
      healthIntervalMs: e.CONNECTION_HEALTH_INTERVAL_MS,
      healthDampingMs: e.CONNECTION_HEALTH_DAMPING_MS,
      retention: {
        jobsMs: e.JOB_RETENTION_DAYS * 86_400_000,
        idempotencyMs: e.IDEMPOTENCY_RETENTION_DAYS * 86_400_000,
        webhookRejectionsMs: e.WEBHOOK_REJECTION_RETENTION_DAYS * 86_400_000,
      },
      hostAllowlist: e.CONNECTOR_HOST_ALLOWLIST.split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      production: e.NODE_ENV === "production",
      maxResponseBytes: e.OUTBOUND_MAX_RESPONSE_BYTES,
      smtp: { url: e.SMTP_URL ?? null, from: e.SMTP_FROM },
    },
    metrics: {
      token: e.METRICS_TOKEN ?? null,
      port: e.METRICS_PORT ?? null,
      tenantLabels: e.METRICS_TENANT_LABELS === "true",
      cacheMs: e.METRICS_CACHE_MS,
    },
    tracing: tracingSettings(e),
    generatedSecretsFile,
  };
}

function tracingSettings(e: Env): TracingSettings {
  const exporter = e.OTEL_TRACES_EXPORTER ?? "otlp";
  const configured =
    e.OTEL_TRACES_EXPORTER !== undefined ||
    e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
  return {
    enabled: configured && exporter !== "none" && e.OTEL_SDK_DISABLED !== "true",
    exporter: exporter === "console" ? "console" : "otlp",
    serviceName: e.OTEL_SERVICE_NAME,
  };
}

const devSecretsSchema = z.object({
  adminToken: z.string().min(24),
  secretsKey: secretsKey,
  // Absent in files written before ledger signing existed; added on the next start.
  ledgerSigningKey: ledgerSigningKey.optional(),
});

interface DevSecrets {
  adminToken: string;
  secretsKey: string;
  ledgerSigningKey: string;
}

function writeDevSecrets(file: string, secrets: DevSecrets): void {
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function loadOrCreateDevSecrets(dataDir: string): DevSecrets & { file: string } {
  const file = join(dataDir, "dev-secrets.json");
  if (existsSync(file)) {
    const stored = devSecretsSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (!stored.success)
      throw new ConfigError([`${file}: unreadable generated secrets; delete it to regenerate`]);
    if (stored.data.ledgerSigningKey)
      return { file, ...stored.data, ledgerSigningKey: stored.data.ledgerSigningKey };
    const upgraded = { ...stored.data, ledgerSigningKey: generateSigningKey() };
    writeDevSecrets(file, upgraded);
    return { file, ...upgraded };
  }
  mkdirSync(dataDir, { recursive: true });
  const created = {
    adminToken: `tsg_admin_${randomBytes(24).toString("base64url")}`,
    secretsKey: randomBytes(32).toString("base64"),
    ledgerSigningKey: generateSigningKey(),
  };
  writeDevSecrets(file, created);
  return { file, ...created };
}
