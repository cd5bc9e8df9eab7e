import { and, asc, eq, gt, gte, inArray, like, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type { LedgerQuery } from "../../schemas/ledger.js";
import { canAccessTenant, tenantScope } from "../auth/principal.js";
import { ledgerEntries } from "../db/schema/index.js";
import { GatewayError } from "../errors.js";
import { PROVIDER_CHAIN } from "../ledger/append.js";
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

/** Streams matching entries as NDJSON lines, in pages, so an export never holds the ledger in memory. */
export async function* exportLedger(ctx: ServiceContext, filters: Filters): AsyncGenerator<string> {
  const conditions = ledgerConditions(ctx, filters);
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

export { PROVIDER_CHAIN };
