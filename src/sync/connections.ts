import { randomBytes } from "node:crypto";
import { and, asc, eq, gt, inArray, isNull, ne, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type { ConnectorType } from "../../connectors/index.js";
import { redactSecrets } from "../../connectors/sdk/index.js";
import type { CreateConnection, UpdateConnection } from "../../schemas/connection.js";
import { CarrierOptions } from "../../schemas/delegation.js";
import { actorOf, canAccessTenant, isProvider, tenantScope } from "../auth/principal.js";
import type { Queryable } from "../db/client.js";
import { connections, externalLinks, jobs, tenants, tickets } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { errorMessage } from "../jobs/classify.js";
import { enqueueJobs, type NewJob, pollJob, queuePriority } from "../jobs/queue.js";
import { appendLedger } from "../ledger/append.js";
import { decodeCursor, page } from "../lib/cursor.js";
import { newId } from "../lib/ids.js";
import { issuesToFieldErrors } from "../lib/problem.js";
import { decryptSecret, encryptSecret } from "../lib/secrets.js";
import type { EngineDeps, ServiceContext } from "../services/context.js";
import { evaluateConnections, healthOf, lockHealthSnapshot, summaryOf } from "./health.js";
import { type AnyConnector, connectorFor } from "./registry.js";
import { assertReachableBaseUrl } from "./url-guard.js";

export type ConnectionRow = typeof connections.$inferSelect;

export interface LoadedConnection {
  row: ConnectionRow;
  connector: AnyConnector;
  // biome-ignore lint/suspicious/noExplicitAny: parsed by the connector's own schema
  settings: any;
  pathSecret: string;
  /** The tenant's own priority overrides per scheme (servicedesk connections), used where the connection sets none. */
  tenantPriorityOverrides?: Record<string, unknown>;
}

const REDACTED = "[redacted]";

function requireConnector(type: string, path = "type"): AnyConnector {
  const connector = connectorFor(type);
  if (!connector) {
    throw new GatewayError("VALIDATION_FAILED", `The ${type} connector is not available in this build.`, {
      errors: [{ path, message: "connector not available" }],
    });
  }
  return connector;
}

function parseSettings(connector: AnyConnector, raw: unknown) {
  const parsed = connector.settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new GatewayError("VALIDATION_FAILED", "The connection settings are not valid for this connector.", {
      errors: issuesToFieldErrors(parsed.error.issues, ["settings"]),
    });
  }
  return parsed.data as Record<string, unknown>;
}

/** Every URL the connection makes the gateway call, as its connector lists them (vendor API, token endpoint, ...). */
async function assertReachableUrls(
  connector: AnyConnector,
  settings: Record<string, unknown>,
  ctx: ServiceContext,
) {
  for (const { path, url } of connector.outboundUrls(settings as never)) {
    await assertReachableBaseUrl(url, ctx.engine.sync, `settings.${path}`, ctx.engine.resolve);
  }
}

/** Connections whose vendor cannot sign a request are reached at a URL carrying an unguessable secret. */
export function webhookUrlOf(
  engine: Pick<EngineDeps, "publicUrl">,
  loaded: Pick<LoadedConnection, "row" | "connector" | "pathSecret">,
): string {
  const base = `${engine.publicUrl}/webhooks/${loaded.row.id}`;
  return loaded.connector.kind === "carrier" ? `${base}/${encodeURIComponent(loaded.pathSecret)}` : base;
}

/**
 * A connection's vendor-side setup as its connector describes it, from the connection as the API shows it
 * (secrets redacted). A URL ending in a path secret is shown with a placeholder: the gateway registers the
 * real one at the carrier itself, and a page never shows a secret.
 */
export function connectionSetup(item: {
  type: string;
  webhookUrl: string;
  settings: Record<string, unknown>;
}) {
  const connector = requireConnector(item.type);
  const webhookUrl =
    connector.kind === "carrier"
      ? `${item.webhookUrl.slice(0, item.webhookUrl.lastIndexOf("/"))}/{path-secret}`
      : item.webhookUrl;
  return { webhookUrl, steps: connector.setupSteps({ webhookUrl }, item.settings as never) };
}

interface DecryptedSettings {
  secretsKey: unknown;
  type: string;
  settingsEncrypted: string;
  pathSecretEncrypted: string;
  settings: LoadedConnection["settings"];
  pathSecret: string;
}

// Decrypted, parsed settings by connection, reused while the stored ciphertexts are the same: a job or a
// health check reads the row each time (its cursor, budget and status move on their own), but decrypting
// and parsing the settings was a tenth of a worker's CPU. Every encryption has a fresh IV, so a settings
// change always changes the ciphertext. The parsed settings are shared: nothing may mutate them.
const DECRYPTED_LIMIT = 10_000;
const decryptedSettings = new Map<string, DecryptedSettings>();

function decryptedSettingsOf(
  engine: Pick<EngineDeps, "secretsKey">,
  row: ConnectionRow,
  connector: AnyConnector,
) {
  const hit = decryptedSettings.get(row.id);
  if (
    hit &&
    hit.secretsKey === engine.secretsKey &&
    hit.type === row.type &&
    hit.settingsEncrypted === row.settingsEncrypted &&
    hit.pathSecretEncrypted === row.pathSecretEncrypted
  )
    return hit;
  const fresh: DecryptedSettings = {
    secretsKey: engine.secretsKey,
    type: row.type,
    settingsEncrypted: row.settingsEncrypted,
    pathSecretEncrypted: row.pathSecretEncrypted,
    settings: connector.settingsSchema.parse(
      JSON.parse(decryptSecret(engine.secretsKey, row.settingsEncrypted)),
    ),
    pathSecret: decryptSecret(engine.secretsKey, row.pathSecretEncrypted),
  };
  decryptedSettings.delete(row.id);
  if (decryptedSettings.size >= DECRYPTED_LIMIT)
    decryptedSettings.delete(decryptedSettings.keys().next().value!);
  decryptedSettings.set(row.id, fresh);
  return fresh;
}

export function loadConnectionRow(
  engine: Pick<EngineDeps, "secretsKey">,
  row: ConnectionRow,
): LoadedConnection {
  const connector = requireConnector(row.type);
  const { settings, pathSecret } = decryptedSettingsOf(engine, row, connector);
  return { row, connector, settings, pathSecret };
}

export async function loadConnection(db: Queryable, engine: Pick<EngineDeps, "secretsKey">, id: string) {
  const [found] = await db
    .select({ row: connections, tenantPriorityOverrides: tenants.priorityOverrides })
    .from(connections)
    .leftJoin(tenants, eq(tenants.id, connections.tenantId))
    // A paused connection is still loaded: it accepts webhooks and shows in the API; its jobs wait.
    .where(and(eq(connections.id, id), inArray(connections.status, ["active", "paused"])));
  if (!found) return null;
  return {
    ...loadConnectionRow(engine, found.row),
    tenantPriorityOverrides: found.tenantPriorityOverrides ?? {},
  };
}

async function toApi(ctx: Pick<ServiceContext, "db" | "engine" | "now">, loaded: LoadedConnection) {
  const [item] = await toApiList(ctx, [loaded]);
  return item!;
}

/** Connections as the API shows them, each with its health summary (one query for the page). */
async function toApiList(ctx: Pick<ServiceContext, "db" | "engine" | "now">, list: LoadedConnection[]) {
  const health = await healthOf(
    ctx.db,
    list.map((l) => l.row),
    ctx.now(),
  );
  return list.map((loaded) => toApiItem(ctx.engine, loaded, summaryOf(health.get(loaded.row.id)!)));
}

function toApiItem(engine: EngineDeps, loaded: LoadedConnection, health: ReturnType<typeof summaryOf>) {
  const { row } = loaded;
  return {
    id: row.id,
    type: row.type as ConnectorType,
    name: row.name,
    role: row.role,
    direction: row.direction,
    tenantId: row.tenantId,
    carrier: (row.carrierOptions as z.infer<typeof CarrierOptions> | null) ?? null,
    webhookUrl: webhookUrlOf(engine, loaded),
    settings: redactSecrets(loaded.settings, loaded.connector.secretPaths) as Record<string, unknown>,
    state: row.status === "paused" ? ("paused" as const) : ("active" as const),
    paused:
      row.status === "paused"
        ? { reason: row.pausedReason, by: row.pausedBy, at: row.pausedAt?.toISOString() ?? null }
        : null,
    health,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function visibleConnection(ctx: ServiceContext, id: string): Promise<LoadedConnection> {
  const loaded = await loadConnection(ctx.db, ctx.engine, id);
  const visible =
    loaded &&
    (loaded.row.tenantId === null
      ? isProvider(ctx.principal)
      : canAccessTenant(ctx.principal, loaded.row.tenantId));
  if (!loaded || !visible) throw new GatewayError("NOT_FOUND", `Connection ${id} was not found.`);
  return loaded;
}

export async function createConnection(ctx: ServiceContext, input: z.infer<typeof CreateConnection>) {
  const connector = requireConnector(input.type);
  const wantsCarrier = input.role === "carrier";
  if (wantsCarrier !== (connector.kind === "carrier")) {
    throw new GatewayError("VALIDATION_FAILED", `A ${input.type} connection has role ${connector.kind}.`, {
      errors: [{ path: "role", message: `must be ${connector.kind} for ${input.type}` }],
    });
  }
  let tenantId: string | null = null;
  if (wantsCarrier) {
    if (!isProvider(ctx.principal))
      throw new GatewayError("FORBIDDEN", "Carrier connections are the provider's.");
    if (input.tenantId !== undefined) {
      throw new GatewayError("VALIDATION_FAILED", "A carrier connection serves every tenant.", {
        errors: [{ path: "tenantId", message: "not allowed for a carrier connection" }],
      });
    }
  } else {
    if (input.carrier !== undefined) {
      throw new GatewayError("VALIDATION_FAILED", "Carrier options are for carrier connections.", {
        errors: [{ path: "carrier", message: "not allowed for a servicedesk connection" }],
      });
    }
    tenantId = ctx.principal.kind === "tenant" ? ctx.principal.tenantId : (input.tenantId ?? null);
    if (ctx.principal.kind === "tenant" && input.tenantId !== undefined && input.tenantId !== tenantId) {
      throw new GatewayError("NOT_FOUND", `Tenant ${input.tenantId} was not found.`);
    }
    if (tenantId === null) {
      throw new GatewayError("VALIDATION_FAILED", "Provider credentials must name the tenant.", {
        errors: [{ path: "tenantId", message: "required for a servicedesk connection" }],
      });
    }
    if (!canAccessTenant(ctx.principal, tenantId))
      throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
    const [tenant] = await ctx.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) throw new GatewayError("NOT_FOUND", `Tenant ${tenantId} was not found.`);
  }
  let generatedSecret: string | undefined;
  const rawSettings = { ...input.settings };
  if (rawSettings["webhookSecret"] === undefined) {
    generatedSecret = randomBytes(24).toString("base64url");
    rawSettings["webhookSecret"] = generatedSecret;
  }
  const settings = parseSettings(connector, rawSettings);
  await assertReachableUrls(connector, settings, ctx);
  const now = ctx.now();
  // Carriers cannot sign their events: the callback URL carries the connection's webhook secret, which the
  // connector checks in constant time; other vendors authenticate in headers and need no path secret.
  const pathSecret =
    connector.kind === "carrier" ? String(settings["webhookSecret"]) : randomBytes(24).toString("base64url");
  const row = await ctx.db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(connections)
      .values({
        id: newId("connection"),
        tenantId,
        type: input.type,
        name: input.name,
        role: input.role,
        direction: input.direction,
        settingsEncrypted: encryptSecret(ctx.engine.secretsKey, JSON.stringify(settings)),
        pathSecretEncrypted: encryptSecret(ctx.engine.secretsKey, pathSecret),
        filter: (settings["filter"] as ConnectionRow["filter"]) ?? null,
        carrierOptions: wantsCarrier
          ? (CarrierOptions.parse(input.carrier ?? {}) as Record<string, unknown>)
          : null,
        // Reconciliation starts from now: records changed before the connection are not imported. Carrier
        // cursors are the connector's own (it re-reads open delegations), so they start empty.
        pollCursor: connector.kind === "carrier" ? null : now.toISOString(),
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await appendLedger(tx, [
      {
        tenantId,
        connectionId: inserted!.id,
        direction: "internal",
        kind: "connection.created",
        actor: actorOf(ctx.principal),
        side: isProvider(ctx.principal) ? "provider" : "client",
        detail: { type: input.type, role: input.role, direction: input.direction },
      },
    ]);
    if (connector.kind === "carrier") {
      // The hub listener is registered by a job: nothing is lost if the carrier is down now.
      await enqueueJobs(tx, [listenerJob(inserted!.id, now)]);
    }
    if (input.direction !== "outbound") {
      await enqueueJobs(tx, [pollJob(inserted!, new Date(now.getTime() + ctx.engine.sync.pollIntervalMs))]);
    }
    return inserted!;
  });
  const loaded: LoadedConnection = { row, connector, settings, pathSecret };
  return { ...(await toApi(ctx, loaded)), ...(generatedSecret ? { webhookSecret: generatedSecret } : {}) };
}

export async function listConnections(
  ctx: ServiceContext,
  query: { limit: number; cursor?: string | undefined },
) {
  const conditions: SQL[] = [inArray(connections.status, ["active", "paused"])];
  const scope = tenantScope(ctx.principal);
  if (scope !== null) {
    conditions.push(inArray(connections.tenantId, scope));
  }
  const after = decodeCursor<string>(query.cursor, "string");
  if (after) conditions.push(gt(connections.id, after));
  const rows = await ctx.db
    .select()
    .from(connections)
    .where(and(...conditions))
    .orderBy(asc(connections.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return {
    items: await toApiList(
      ctx,
      result.items.map((r) => loadConnectionRow(ctx.engine, r)),
    ),
    nextCursor: result.nextCursor,
  };
}

export async function getConnection(ctx: ServiceContext, id: string) {
  return toApi(ctx, await visibleConnection(ctx, id));
}

/** The full health of a connection the caller may see (docs/operations.md#connection-health). */
export async function getConnectionHealth(ctx: ServiceContext, id: string) {
  const loaded = await visibleConnection(ctx, id);
  const health = await healthOf(ctx.db, [loaded.row], ctx.now());
  return health.get(id)!;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge of a settings patch: objects merge, other values replace; a redacted or absent secret is kept. */
export function mergeSettings(
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === REDACTED) continue;
    if (value === null) {
      delete out[key];
      continue;
    }
    const existing = out[key];
    // A different auth type replaces the whole object; the same type merges (keeping unsent secrets).
    const sameKind = !(
      isRecord(existing) &&
      isRecord(value) &&
      "type" in value &&
      existing["type"] !== value["type"]
    );
    out[key] = isRecord(existing) && isRecord(value) && sameKind ? mergeSettings(existing, value) : value;
  }
  return out;
}

export async function updateConnection(
  ctx: ServiceContext,
  id: string,
  input: z.infer<typeof UpdateConnection>,
) {
  const loaded = await visibleConnection(ctx, id);
  const settings = input.settings
    ? parseSettings(loaded.connector, mergeSettings(loaded.settings, input.settings))
    : loaded.settings;
  if (input.settings) await assertReachableUrls(loaded.connector, settings, ctx);
  const urlsChanged =
    JSON.stringify(loaded.connector.outboundUrls(settings as never)) !==
    JSON.stringify(loaded.connector.outboundUrls(loaded.settings as never));
  const secretChanged =
    loaded.connector.kind === "carrier" && settings["webhookSecret"] !== loaded.settings["webhookSecret"];
  const row = await ctx.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(connections)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.direction !== undefined ? { direction: input.direction } : {}),
        ...(input.carrier !== undefined && loaded.connector.kind === "carrier"
          ? { carrierOptions: CarrierOptions.parse(input.carrier) as Record<string, unknown> }
          : {}),
        settingsEncrypted: encryptSecret(ctx.engine.secretsKey, JSON.stringify(settings)),
        ...(secretChanged
          ? { pathSecretEncrypted: encryptSecret(ctx.engine.secretsKey, String(settings["webhookSecret"])) }
          : {}),
        filter: (settings["filter"] as ConnectionRow["filter"]) ?? null,
        updatedAt: ctx.now(),
      })
      .where(eq(connections.id, id))
      .returning();
    await appendLedger(tx, [
      {
        tenantId: loaded.row.tenantId,
        connectionId: id,
        direction: "internal",
        kind: "connection.updated",
        actor: actorOf(ctx.principal),
        side: isProvider(ctx.principal) ? "provider" : "client",
        // Names of the changed settings only: values may be secrets.
        detail: { fields: [...Object.keys(input)], settings: Object.keys(input.settings ?? {}) },
      },
    ]);
    if (secretChanged || (loaded.connector.kind === "carrier" && urlsChanged)) {
      // The callback URL changed with the secret (or the carrier moved): register the listener again.
      await enqueueJobs(tx, [listenerJob(id, ctx.now())]);
    }
    if (updated!.direction !== "outbound") {
      await enqueueJobs(tx, [
        pollJob(updated!, new Date(ctx.now().getTime() + ctx.engine.sync.pollIntervalMs)),
      ]);
    }
    return updated!;
  });
  const pathSecret = secretChanged ? String(settings["webhookSecret"]) : loaded.pathSecret;
  return toApi(ctx, { ...loaded, row, settings, pathSecret });
}

/** Marks the connection deleted, drops its pending work and removes what it registered at the vendor. */
export async function deleteConnection(
  ctx: ServiceContext,
  id: string,
  teardown: (loaded: LoadedConnection) => Promise<string | null>,
) {
  const loaded = await visibleConnection(ctx, id);
  let teardownResult: string | null = null;
  try {
    teardownResult = await teardown(loaded);
  } catch (error) {
    teardownResult = `teardown failed: ${errorMessage(error)}`;
  }
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(connections)
      .set({ status: "deleted", updatedAt: ctx.now() })
      .where(eq(connections.id, id));
    await tx
      .update(jobs)
      .set({ status: "skipped", finishedAt: ctx.now(), lastError: "connection deleted" })
      .where(and(eq(jobs.connectionId, id), inArray(jobs.status, ["pending", "dead"])));
    await appendLedger(tx, [
      {
        tenantId: loaded.row.tenantId,
        connectionId: id,
        direction: "internal",
        kind: "connection.deleted",
        actor: actorOf(ctx.principal),
        side: isProvider(ctx.principal) ? "provider" : "client",
        detail: { teardown: teardownResult },
      },
    ]);
  });
}

export { visibleConnection };

/** Queues every existing ticket of the tenant not yet linked on this connection (oldest first). */
export async function backfillConnection(ctx: ServiceContext, id: string) {
  const loaded = await visibleConnection(ctx, id);
  if (loaded.connector.kind !== "servicedesk" || loaded.row.tenantId === null) {
    throw new GatewayError("BAD_REQUEST", "Backfill applies to servicedesk connections.");
  }
  if (loaded.row.direction === "inbound") {
    throw new GatewayError("BAD_REQUEST", "The connection only receives; enable outbound to backfill.");
  }
  return ctx.db.transaction(async (tx) => {
    const unlinked = await tx
      .select({ id: tickets.id, priority: tickets.priority })
      .from(tickets)
      .leftJoin(
        externalLinks,
        and(eq(externalLinks.ticketId, tickets.id), eq(externalLinks.connectionId, id)),
      )
      .where(
        and(
          eq(tickets.tenantId, loaded.row.tenantId!),
          isNull(externalLinks.ticketId),
          ne(tickets.status, "cancelled"),
        ),
      )
      .orderBy(asc(tickets.id));
    const pending = await tx
      .select({ ticketId: jobs.orderKey })
      .from(jobs)
      .where(
        and(
          eq(jobs.connectionId, id),
          eq(jobs.kind, "ticket.create"),
          inArray(jobs.status, ["pending", "dead"]),
        ),
      );
    const queued = new Set(pending.map((p) => p.ticketId));
    const toQueue = unlinked.filter((t) => !queued.has(t.id));
    const now = ctx.now();
    await enqueueJobs(
      tx,
      toQueue.map((t) => ({
        kind: "ticket.create" as const,
        connectionId: id,
        orderKey: t.id,
        tenantId: loaded.row.tenantId,
        priority: queuePriority(t.priority),
        payload: { backfill: true },
        runAt: now,
      })),
    );
    await appendLedger(tx, [
      {
        tenantId: loaded.row.tenantId,
        connectionId: id,
        direction: "outbound",
        kind: "sync.backfill_queued",
        actor: actorOf(ctx.principal),
        side: isProvider(ctx.principal) ? "provider" : "client",
        detail: { tickets: toQueue.length },
      },
    ]);
    return { enqueued: toQueue.length };
  });
}

function listenerJob(connectionId: string, now: Date): NewJob {
  return {
    kind: "listener.register",
    connectionId,
    orderKey: connectionId,
    tenantId: null,
    priority: 2,
    runAt: now,
  };
}

/**
 * Pauses or resumes a connection (provider, or a tenant for its own servicedesk connections). While paused its
 * jobs wait, nothing dead-letters for it, and its webhooks are still accepted into the inbox.
 */
export async function setConnectionPaused(
  ctx: ServiceContext,
  id: string,
  paused: boolean,
  reason: string | null,
) {
  const loaded = await visibleConnection(ctx, id);
  if (loaded.row.tenantId === null && !isProvider(ctx.principal)) {
    throw new GatewayError("FORBIDDEN", "Carrier connections are the provider's.");
  }
  const actor = actorOf(ctx.principal);
  const actorLabel = "id" in actor && actor.id ? actor.id : actor.type;
  const now = ctx.now();
  const row = await ctx.db.transaction(async (tx) => {
    const [current] = await tx.select().from(connections).where(eq(connections.id, id)).for("update");
    if (!current || current.status === "deleted")
      throw new GatewayError("NOT_FOUND", `Connection ${id} was not found.`);
    if ((current.status === "paused") === paused) return current;
    // The health snapshot before the ledger's chain lock, in the order the health job takes them.
    await lockHealthSnapshot(tx, id);
    const [updated] = await tx
      .update(connections)
      .set(
        paused
          ? { status: "paused", pausedReason: reason, pausedBy: actorLabel, pausedAt: now, updatedAt: now }
          : {
              status: "active",
              pausedReason: null,
              pausedBy: null,
              pausedAt: null,
              holdUntil: null,
              updatedAt: now,
            },
      )
      .where(eq(connections.id, id))
      .returning();
    await appendLedger(tx, [
      {
        tenantId: current.tenantId,
        connectionId: id,
        direction: "internal",
        kind: paused ? "connection.paused" : "connection.resumed",
        actor,
        side: isProvider(ctx.principal) ? "provider" : "client",
        detail: paused ? { reason, by: actorLabel } : { by: actorLabel, pausedReason: current.pausedReason },
      },
    ]);
    // Pause and resume change the health state at once (no damping), ledgered with the operator as actor.
    await evaluateConnections(tx, [updated!], {
      engine: ctx.engine,
      now,
      dampingMs: ctx.engine.sync.healthDampingMs,
      actor,
    });
    return updated!;
  });
  ctx.logger?.info(
    {
      event: paused ? "connection.paused" : "connection.resumed",
      connectionId: id,
      tenantId: row.tenantId,
      actor: actorLabel,
      reason,
    },
    paused ? "connection paused" : "connection resumed",
  );
  return toApi(ctx, { ...loaded, row });
}
