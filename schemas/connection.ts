import { z } from "@hono/zod-openapi";
import { Instant, text } from "./common.js";
import { CarrierOptions } from "./delegation.js";

/**
 * A connector type id. The list of types is the connector registry (`connectors/index.ts`), which schemas/ may
 * not import: the API narrows this to an enum of the registered types where it mounts the routes.
 */
export const ConnectorTypeId = text().min(1).max(64);

export const CreateConnection = z.strictObject({
  type: ConnectorTypeId,
  name: text().trim().min(1).max(200),
  role: z.enum(["servicedesk", "carrier"]),
  direction: z.enum(["both", "inbound", "outbound"]).default("both"),
  tenantId: text().min(1).optional().openapi({
    description: "Servicedesk connections belong to one tenant; provider credentials name it.",
  }),
  carrier: CarrierOptions.optional().openapi({
    description: "Carrier connections only: OLA and relay options.",
  }),
  settings: z.record(text(), z.unknown()).openapi({
    description:
      "The connector's settings: `{baseUrl, auth, webhookSecret?, mapping?, filter?, inboundQuery?}` plus its own fields (docs/connectors/<type>.md). Secrets are encrypted at rest and never returned.",
  }),
});
// Registered (with the connector type enum from the registry) in src/routes/connections.

export const UpdateConnection = z
  .strictObject({
    name: text().trim().min(1).max(200).optional(),
    direction: z.enum(["both", "inbound", "outbound"]).optional(),
    carrier: CarrierOptions.optional(),
    settings: z
      .record(text(), z.unknown())
      .optional()
      .openapi({ description: "Merged into the stored settings; a secret left out keeps its value." }),
  })
  .openapi("UpdateConnection");

export const healthStates = ["healthy", "degraded", "failing", "paused"] as const;

const HealthState = z.enum(healthStates).openapi({
  description:
    "`failing`: attempts fail and none succeeds (or the settings broke); `degraded`: works with trouble (failure ratio, an old backlog, open dead letters, a vendor hold, a failed poll); `paused`: an operator paused it. Rules in docs/operations.md#connection-health.",
});

const Backlog = z.object({
  pending: z.number().int().openapi({ description: "Jobs of this connection waiting to run (live)." }),
  oldestPendingAgeSeconds: z.number().int().nullable(),
});

export const ConnectionHealthSummary = z
  .object({
    state: HealthState,
    stateSince: Instant.nullable(),
    evaluatedAt: Instant.nullable().openapi({
      description: "The last evaluation by the `connection.health` job; null before the first one.",
    }),
    lastSuccessAt: Instant.nullable(),
    lastFailureAt: Instant.nullable(),
    backlog: Backlog,
    deadLetters: z.number().int().openapi({ description: "Open dead letters of this connection (live)." }),
  })
  .openapi("ConnectionHealthSummary");

const Outcomes = z.object({
  deliveries: z.number().int().openapi({
    description:
      "Successful vendor work: outbound deliveries (`sync.sent`) and inbound notices applied (`sync.applied`).",
  }),
  failures: z.number().int().openapi({ description: "Failed attempts (`sync.failed`)." }),
});

export const ConnectionHealth = ConnectionHealthSummary.extend({
  connectionId: text(),
  reasons: z.array(text()).openapi({ description: "Why the current state holds, one rule per entry." }),
  pending: z
    .object({ state: HealthState, since: Instant, reasons: z.array(text()) })
    .nullable()
    .openapi({ description: "A different state observed but not yet held for the damping period." }),
  lastFailureReason: text()
    .nullable()
    .openapi({ description: "The last failure's cause and message, the connection's secrets replaced." }),
  consecutiveFailures: z.number().int(),
  last15m: Outcomes,
  last24h: Outcomes,
  lastPoll: z.object({ at: Instant, ok: z.boolean(), error: text().nullable() }).nullable().openapi({
    description: "The last reconciliation poll (connections that receive); null before the first.",
  }),
  holdUntil: Instant.nullable().openapi({
    description:
      "The vendor asked to wait (429, 503 with Retry-After): no job of the connection runs before.",
  }),
  rateLimit: z
    .object({ remaining: z.number().int(), resetAt: Instant, observedAt: Instant })
    .nullable()
    .openapi({ description: "The vendor's last reported rate-limit budget, where the connector reads one." }),
}).openapi("ConnectionHealth");

export const Connection = z.object({
  id: text().openapi({ example: "con_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
  type: ConnectorTypeId,
  name: text(),
  role: z.enum(["servicedesk", "carrier"]),
  direction: z.enum(["both", "inbound", "outbound"]),
  tenantId: text().nullable(),
  carrier: CarrierOptions.nullable(),
  webhookUrl: text().openapi({ description: "Where the vendor sends events (absolute, from PUBLIC_URL)." }),
  settings: z.record(text(), z.unknown()).openapi({ description: "Settings with secrets redacted." }),
  state: z.enum(["active", "paused"]).openapi({
    description: "A paused connection keeps accepting webhooks; its jobs wait until it is resumed.",
  }),
  paused: z
    .object({
      reason: text().nullable(),
      by: text().nullable().openapi({ description: "The actor that paused it, or `system`." }),
      at: Instant.nullable(),
    })
    .nullable(),
  health: ConnectionHealthSummary,
  createdAt: Instant,
  updatedAt: Instant,
});

export const PauseConnection = z
  .object({ reason: text().trim().min(1).max(500) })
  .strict()
  .openapi("PauseConnection");

export const CreatedConnection = Connection.extend({
  webhookSecret: text()
    .optional()
    .openapi({ description: "Generated when none was given; shown once. Configure it at the vendor." }),
});

export const ConnectionTestResult = z
  .object({ ok: z.boolean(), detail: text() })
  .openapi("ConnectionTestResult");

export const DeadLetter = z
  .object({
    id: z.number().int(),
    source: z.enum(["inbox", "outbox"]).openapi({
      description:
        "`inbox`: an accepted vendor notice that could not be applied; `outbox`: an outbound effect.",
    }),
    connectionId: text(),
    ticketId: text().nullable(),
    externalId: text().nullable().openapi({ description: "The vendor record of an inbox dead letter." }),
    tenantId: text().nullable(),
    kind: text(),
    attempts: z.number().int(),
    lastError: text().nullable(),
    lastHttpStatus: z.number().int().nullable(),
    reason: text()
      .nullable()
      .openapi({ description: "Why it died: `permanent_error`, `max_attempts`, `max_age`." }),
    createdAt: Instant,
    deadAt: Instant.nullable(),
  })
  .openapi("DeadLetter");

export const DeadLetterAttempt = z
  .object({
    sequence: z.number().int(),
    kind: text(),
    occurredAt: Instant,
    detail: z.record(text(), z.unknown()),
  })
  .openapi("DeadLetterAttempt");

export const DeadLetterDetail = DeadLetter.extend({
  payload: z.record(text(), z.unknown()),
  notice: z
    .record(text(), z.unknown())
    .nullable()
    .openapi({ description: "The stored vendor notice (inbox dead letters)." }),
  attemptHistory: z
    .array(DeadLetterAttempt)
    .openapi({ description: "This job's ledger entries, oldest first." }),
}).openapi("DeadLetterDetail");

export const DeadLetterQuery = z.object({
  connectionId: text().min(1).optional(),
  ticketId: text().min(1).optional(),
  source: z.enum(["inbox", "outbox"]).optional(),
});
