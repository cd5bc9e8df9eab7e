import { and, eq, inArray, sql } from "drizzle-orm";
import { HttpError } from "../../connectors/sdk/index.js";
import { type Db, queryRows } from "../db/client.js";
import { connections, inbox } from "../db/schema/index.js";
import { appendLedger, chainKeyOf } from "../ledger/append.js";
import type { EngineDeps } from "../services/context.js";
import { servicedeskClientFor } from "./clients.js";
import { loadConnection } from "./connections.js";
import { polledChangeKey } from "./notice-keys.js";

const PAGE_SIZE = 100;
const MAX_PAGES_PER_PASS = 20;

export type CarrierPoller = (db: Db, engine: EngineDeps, connectionId: string, now: Date) => Promise<void>;
/** Carrier reconciliation (re-reading open delegations) registers here. */
export const carrierPollers: { poll: CarrierPoller | null } = { poll: null };

/**
 * Reconciliation: for each connection whose poll is due, lists the records changed since its stored cursor
 * (inclusive, so same-second updates are never lost) and puts them in the inbox, where (externalId, updatedAt)
 * de-duplicates them; webhooks that never arrived are caught here. The poll lease is a committed row.
 */
export async function runPoller(db: Db, options: { engine: EngineDeps; now: () => Date }): Promise<number> {
  const now = options.now();
  const nowIso = now.toISOString();
  const leaseEnd = new Date(now.getTime() + options.engine.sync.leaseMs).toISOString();
  const due = await queryRows<{ id: string }>(
    db,
    sql`update connections set poll_locked_until = ${leaseEnd}::timestamptz
        where id in (
          select id from connections
          where status = 'active' and direction in ('both', 'inbound')
            and (poll_next_at is null or poll_next_at <= ${nowIso}::timestamptz)
            and (poll_locked_until is null or poll_locked_until < ${nowIso}::timestamptz)
          order by poll_next_at nulls first
          limit 10
          for update skip locked)
        returning id`,
  );
  for (const { id } of due) {
    const [row] = await db.select().from(connections).where(eq(connections.id, id));
    if (!row) continue;
    try {
      if (row.role === "carrier") {
        await carrierPollers.poll?.(db, options.engine, row.id, now);
        await db
          .update(connections)
          .set({
            pollNextAt: new Date(now.getTime() + options.engine.sync.pollIntervalMs),
            pollLockedUntil: null,
          })
          .where(eq(connections.id, id));
        continue;
      }
      const loaded = await loadConnection(db, options.engine, row.id);
      if (!loaded) continue;
      const client = servicedeskClientFor(options.engine, loaded);
      let cursor = row.pollCursor;
      let found = 0;
      for (let pageIndex = 0; pageIndex < MAX_PAGES_PER_PASS; pageIndex++) {
        const page = await client.listChangedSince(cursor, PAGE_SIZE);
        const keyed: { item: (typeof page.items)[number]; dedupeKey: string }[] = [];
        for (const item of page.items) {
          const dedupeKey = await polledChangeKey(db, row.id, item, now);
          if (dedupeKey !== null) keyed.push({ item, dedupeKey });
        }
        if (keyed.length > 0) {
          const inserted = await db
            .insert(inbox)
            .values(
              keyed.map(({ item, dedupeKey }) => ({
                connectionId: row.id,
                dedupeKey,
                externalId: item.externalId,
                notice: { externalId: item.externalId, occurredAt: item.updatedAt },
                source: "poll" as const,
                receivedAt: now,
                nextAttemptAt: now,
              })),
            )
            .onConflictDoNothing()
            .returning({ externalId: inbox.externalId });
          found += inserted.length;
        }
        const advanced = page.nextCursor !== cursor;
        cursor = page.nextCursor;
        if (!advanced || page.items.length < PAGE_SIZE) break;
      }
      await db.transaction(async (tx) => {
        await tx
          .update(connections)
          .set({
            pollCursor: cursor,
            pollNextAt: new Date(now.getTime() + options.engine.sync.pollIntervalMs),
            pollLockedUntil: null,
          })
          .where(eq(connections.id, id));
        if (found > 0) {
          await appendLedger(tx, [
            {
              tenantId: row.tenantId,
              connectionId: row.id,
              direction: "inbound",
              kind: "sync.polled",
              actor: { type: "system", id: "poller" },
              side: "provider",
              detail: { connector: row.type, changed: found },
            },
          ]);
        }
      });
    } catch (error) {
      // A failing vendor is retried at the next interval; the cursor did not move, so nothing is skipped.
      await recordPollFailure(db, row, now, error);
      await db
        .update(connections)
        .set({
          pollNextAt: new Date(now.getTime() + options.engine.sync.pollIntervalMs),
          pollLockedUntil: null,
        })
        .where(and(eq(connections.id, id), inArray(connections.status, ["active", "deleted"])));
    }
  }
  return due.length;
}

const POLL_FAILURE_EVERY_MS = 3_600_000;

/** A failing poll is recorded, at most once an hour per connection, so bad credentials do not go unseen. */
async function recordPollFailure(db: Db, row: typeof connections.$inferSelect, now: Date, error: unknown) {
  const recent = await queryRows<{ found: number }>(
    db,
    sql`select 1 as found from ledger_entries
        where chain_key = ${chainKeyOf({ tenantId: row.tenantId })} and connection_id = ${row.id} and kind = 'sync.poll_failed'
          and occurred_at > ${new Date(now.getTime() - POLL_FAILURE_EVERY_MS).toISOString()}::timestamptz
        limit 1`,
  );
  if (recent.length > 0) return;
  await db.transaction(async (tx) => {
    await appendLedger(tx, [
      {
        tenantId: row.tenantId,
        connectionId: row.id,
        direction: "inbound",
        kind: "sync.poll_failed",
        actor: { type: "system", id: "poller" },
        side: "provider",
        detail: {
          connector: row.type,
          httpStatus: error instanceof HttpError ? error.status : null,
          error: (error instanceof Error ? error.message : String(error)).slice(0, 200),
        },
      },
    ]);
  });
}
