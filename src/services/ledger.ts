import { and, asc, desc, eq, gt, gte, inArray, like, lt, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type {
  LedgerCheckpointQuery,
  LedgerCheckpointVerifyRequest,
  LedgerQuery,
} from "../../schemas/ledger.js";
import { canAccessTenant, type Principal, tenantScope } from "../auth/principal.js";
import { ledgerCheckpoints, ledgerEntries, tenants } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { PROVIDER_CHAIN } from "../ledger/append.js";
import { latestCheckpoints, type StoredCheckpoint, verifyCheckpoints } from "../ledger/checkpoints.js";
import type { LedgerKeyring } from "../ledger/keys.js";
import { verifyLedger } from "../ledger/verify.js";
import { decodeCursor, page } from "../lib/cursor.js";
import type { ServiceContext } from "./context.js";
import { ledgerEntryToApi } from "./serialize.js";
import { findVisibleTicket } from "./tickets.js";

type Filters = z.infer<typeof LedgerQuery>;

function ledgerConditions(ctx: ServiceContext, filters: Filters): SQL[] {
  const conditions: SQL[] = [];
  const scope = tenantScope(ctx.principal);
  if (scope !== null) conditions.push(inArray(ledgerEntries.tenantId, scope));
  if (filters.tenantId) {
    if (!canAccessTenant(ctx.principal, filters.tenantId)) {
      throw new GatewayError("NOT_FOUND", `Tenant ${filters.tenantId} was not found.`);
    }
    conditions.push(eq(ledgerEntries.tenantId, filters.tenantId));
  }
  if (filters.ticketId) conditions.push(eq(ledgerEntries.ticketId, filters.ticketId));
  if (filters.kind) {
    conditions.push(
      filters.kind.endsWith(".*")
        ? like(
            ledgerEntries.kind,
            `${filters.kind.slice(0, -1).replaceAll("%", "\\%").replaceAll("_", "\\_")}%`,
          )
        : eq(ledgerEntries.kind, filters.kind),
    );
  }
  if (filters.since) conditions.push(gte(ledgerEntries.occurredAt, new Date(filters.since)));
  return conditions;
}

export async function listLedger(ctx: ServiceContext, query: Filters & { limit: number; cursor?: string }) {
  const conditions = ledgerConditions(ctx, query);
  const after = decodeCursor<number>(query.cursor, "number");
  if (after !== null) conditions.push(gt(ledgerEntries.sequence, after));
  const rows = await ctx.db
    .select()
    .from(ledgerEntries)
    .where(and(...conditions))
    .orderBy(asc(ledgerEntries.sequence))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.sequence);
  return { items: result.items.map(ledgerEntryToApi), nextCursor: result.nextCursor };
}

export async function listTicketLedger(
  ctx: ServiceContext,
  ticketId: string,
  query: { limit: number; cursor?: string },
) {
  await findVisibleTicket(ctx.db, ctx, ticketId);
  return listLedger(ctx, { ...query, ticketId });
}

/**
 * Streams matching entries as NDJSON lines, in pages, so an export never holds the ledger in memory.
 * The newest checkpoint of each scope the export covers comes first (`{"type":"ledger.checkpoint",...}` lines),
 * read before the entries, so the entries that follow always include everything those checkpoints commit to.
 */
export async function* exportLedger(ctx: ServiceContext, filters: Filters): AsyncGenerator<string> {
  const conditions = ledgerConditions(ctx, filters);
  const scopes = filters.tenantId ? [filters.tenantId] : await visibleScopes(ctx);
  for (const checkpoint of await latestCheckpoints(ctx.db, scopes)) {
    yield `${JSON.stringify({ type: "ledger.checkpoint", checkpoint: checkpointToApi(checkpoint) })}\n`;
  }
  let after = 0;
  for (;;) {
    const rows = await ctx.db
      .select()
      .from(ledgerEntries)
      .where(and(...conditions, gt(ledgerEntries.sequence, after)))
      .orderBy(asc(ledgerEntries.sequence))
      .limit(500);
    for (const row of rows) yield `${JSON.stringify(ledgerEntryToApi(row))}\n`;
    if (rows.length < 500) return;
    after = rows[rows.length - 1]!.sequence;
  }
}

export async function verify(ctx: ServiceContext, tenantId?: string) {
  return verifyLedger(ctx.db, tenantId ? { tenantId } : {});
}

/** Scopes a principal sees: its tenants, or every tenant and the provider's own chains. */
async function visibleScopes(ctx: ServiceContext): Promise<string[]> {
  const scope = tenantScope(ctx.principal);
  if (scope !== null) return scope;
  const all = await ctx.db.select({ id: tenants.id }).from(tenants);
  return [PROVIDER_CHAIN, ...all.map((t) => t.id)];
}

function canSeeScope(principal: Principal, scope: string): boolean {
  return scope === PROVIDER_CHAIN ? tenantScope(principal) === null : canAccessTenant(principal, scope);
}

export function checkpointToApi(row: StoredCheckpoint) {
  return {
    id: row.id,
    scope: row.scope,
    tenantId: row.tenantId,
    issuedAt: row.issuedAt.toISOString(),
    entries: row.entries,
    root: row.root,
    heads: row.heads,
    keyId: row.keyId,
    signature: row.signature,
  };
}

/** Checkpoints newest first; a tenant key sees its own tenant's, the provider's chains only unrestricted keys. */
export async function listCheckpoints(
  ctx: ServiceContext,
  query: z.infer<typeof LedgerCheckpointQuery> & { limit: number; cursor?: string },
) {
  const conditions: SQL[] = [];
  if (query.scope !== undefined) {
    if (!canSeeScope(ctx.principal, query.scope)) {
      throw new GatewayError("NOT_FOUND", `Scope ${query.scope} was not found.`);
    }
    conditions.push(eq(ledgerCheckpoints.scope, query.scope));
  }
  const scope = tenantScope(ctx.principal);
  if (scope !== null) conditions.push(inArray(ledgerCheckpoints.scope, scope));
  const before = decodeCursor<string>(query.cursor, "string");
  if (before !== null) conditions.push(lt(ledgerCheckpoints.id, before));
  const rows = await ctx.db
    .select()
    .from(ledgerCheckpoints)
    .where(and(...conditions))
    .orderBy(desc(ledgerCheckpoints.id))
    .limit(query.limit + 1);
  const result = page(rows, query.limit, (r) => r.id);
  return { items: result.items.map(checkpointToApi), nextCursor: result.nextCursor };
}

/** Checks checkpoints a caller kept against the current ledger; another tenant's checkpoint is 404. */
export async function verifyKeptCheckpoints(
  ctx: ServiceContext,
  keyring: LedgerKeyring,
  request: z.infer<typeof LedgerCheckpointVerifyRequest>,
) {
  for (const checkpoint of request.checkpoints) {
    if (!canSeeScope(ctx.principal, checkpoint.scope)) {
      throw new GatewayError("NOT_FOUND", `Scope ${checkpoint.scope} was not found.`);
    }
  }
  const verified = await verifyCheckpoints(ctx.db, keyring, request.checkpoints);
  const results = verified.map((result, i) => ({
    id: request.checkpoints[i]!.id,
    ...result,
    firstDivergence: result.divergences[0] ?? null,
  }));
  return { ok: results.every((r) => r.ok), results };
}

export { PROVIDER_CHAIN };
