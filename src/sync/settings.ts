import type { RetentionSettings } from "../jobs/prune.js";

/** Every timing of the sync engine, configurable so tests run in seconds. */
export interface SyncSettings {
  /** Attempts before an outbox job is dead-lettered. */
  maxAttempts: number;
  /** Age after which a failing job is dead-lettered whatever its attempt count. */
  maxAgeMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** How often each connection's reconciliation poller runs. */
  pollIntervalMs: number;
  /** How long a worker holds a claimed job before another may take it over (longer than any HTTP call). */
  leaseMs: number;
  httpTimeoutMs: number;
  /** Retries inside one attempt (transient failures); the outbox retries durably on top. */
  httpRetries: number;
  /** Hosts (or host:port) connections may reach although they are private, loopback or plain http in production. */
  hostAllowlist: string[];
  /** In production base URLs must be https and public; in development loopback http is allowed. */
  production: boolean;
  /** Largest vendor API response body read; attachments keep their per-connection cap. */
  maxResponseBytes: number;
  /** Records in flight per worker pass. */
  batchSize: number;
  /** Jobs in flight per connection across all processes (a vendor's reported budget may lower it). */
  connectionConcurrency: number;
  /** Jobs in flight per process. */
  processConcurrency: number;
  /** How often an idle worker looks for work and the SLA timers run. */
  tickMs: number;
  retention: RetentionSettings;
  /** Where `email` event subscriptions are sent from (SMTP_URL, SMTP_FROM); `url` null: email is off. */
  smtp: { url: string | null; from: string };
  /** How often the `connection.health` job evaluates every connection. */
  healthIntervalMs: number;
  /** How long a new health state must hold before it is recorded and ledgered (operator pauses excepted). */
  healthDampingMs: number;
}

export const defaultSyncSettings: SyncSettings = {
  maxAttempts: 10,
  maxAgeMs: 24 * 3_600_000,
  backoffBaseMs: 1000,
  backoffCapMs: 5 * 60_000,
  pollIntervalMs: 60_000,
  leaseMs: 60_000,
  httpTimeoutMs: 15_000,
  httpRetries: 2,
  hostAllowlist: [],
  production: false,
  maxResponseBytes: 16 * 1024 * 1024,
  batchSize: 20,
  connectionConcurrency: 4,
  processConcurrency: 32,
  tickMs: 1000,
  healthIntervalMs: 30_000,
  healthDampingMs: 60_000,
  retention: {
    jobsMs: 7 * 86_400_000,
    idempotencyMs: 7 * 86_400_000,
    webhookRejectionsMs: 7 * 86_400_000,
  },
  smtp: { url: null, from: "ticket-sync-gateway@localhost" },
};

/** Exponential backoff with jitter: base * 2^(attempt-1), capped, then a random 50-100 %. */
export function backoffMs(
  settings: Pick<SyncSettings, "backoffBaseMs" | "backoffCapMs">,
  attempt: number,
  random = Math.random(),
): number {
  const exponential = Math.min(settings.backoffCapMs, settings.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.5 + random * 0.5));
}
