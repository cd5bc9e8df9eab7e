import { eq, sql } from "drizzle-orm";
import { HttpError, redactSecretValues } from "../../connectors/sdk/index.js";
import { type Db, queryRows } from "../db/client.js";
import { connections, inbox } from "../db/schema/index.js";
import { errorMessage } from "../jobs/classify.js";
import { enqueueJobs } from "../jobs/queue.js";
import type { JobHandler } from "../jobs/types.js";
import { appendLedger, chainKeyOf } from "../ledger/append.js";
import { pollCarrier } from "./carrier.js";
import { servicedeskClientFor } from "./clients.js";
import { connectionSecrets } from "./health.js";
import { inboxJob } from "./inbound.js";
import { polledChangeKey } from "./notice-keys.js";
import { loadJobConnection } from "./outbound.js";

const PAGE_SIZE = 100;
const MAX_PAGES_PER_PASS = 20;

/**
 * Reconciliation, one `connection.poll` job per receiving connection: lists the records changed since the
 * stored cursor (inclusive, so same-second updates are never lost) and puts them in the inbox, where
 * (externalId, updatedAt) de-duplicates them, each with its `inbox.apply` job; webhooks that never arrived are
 * caught here. Carriers re-read their open delegations instead. A failing vendor is recorded and polled again
 * at the next interval; the cursor did not move, so nothing is skipped.
 */
export const pollJobHandler: JobHandler = {
  periodic: true,
  retryAt: (ctx) => new Date(ctx.now().getTime() + ctx.engine.sync.pollIntervalMs),
  onPeriodicFailure: async (ctx, job, error) => {
    const [row] = await ctx.db.select().from(connections).where(eq(connections.id, job.connectionId!));
    if (!row) return;
    await ctx.db
      .update(connections)
      .set({
        lastPolledAt: ctx.now(),
        lastPollError: redactSecretValues(errorMessage(error), connectionSecrets(ctx.engine, row)).slice(
          0,
          300,
        ),
      })
      .where(eq(connections.id, row.id));
    await recordPollFailure(ctx.db, row, ctx.now(), error);
  },
  run: async (ctx, job) => {
    const now = ctx.now();
    const loaded = await loadJobConnection(ctx, job);
    if (!loaded || loaded.row.direction === "outbound") {
      return { outcome: "skipped", reason: loaded ? "connection only sends" : "connection deleted" };
    }
    const next = {
      outcome: "reschedule" as const,
      at: new Date(now.getTime() + ctx.engine.sync.pollIntervalMs),
    };
    const polled = { lastPolledAt: now, lastPollError: null };
    if (loaded.connector.kind === "carrier") {
      await pollCarrier(ctx.db, ctx.engine, loaded.row.id, now);
      const ownInterval = loaded.connector.pollIntervalMs?.(loaded.settings) ?? null;
      return {
        ...next,
        ...(ownInterval === null ? {} : { at: new Date(now.getTime() + ownInterval) }),
        commit: async (tx) => {
          await tx.update(connections).set(polled).where(eq(connections.id, loaded.row.id));
        },
      };
    }
    const client = servicedeskClientFor(ctx.engine, loaded);
    let cursor = loaded.row.pollCursor;
    let found = 0;
    for (let pageIndex = 0; pageIndex < MAX_PAGES_PER_PASS; pageIndex++) {
      const page = await client.listChangedSince(cursor, PAGE_SIZE);
      if (page.items.length > 0) {
        await ctx.db.transaction(async (tx) => {
          const keyed: { item: (typeof page.items)[number]; dedupeKey: string }[] = [];
          for (const item of page.items) {
            const dedupeKey = await polledChangeKey(tx, loaded.row.id, item, now);
            if (dedupeKey !== null) keyed.push({ item, dedupeKey });
          }
          const inserted =
            keyed.length === 0
              ? []
              : await tx
                  .insert(inbox)
                  .values(
                    keyed.map(({ item, dedupeKey }) => ({
                      connectionId: loaded.row.id,
                      dedupeKey,
                      externalId: item.externalId,
                      notice: { externalId: item.externalId, occurredAt: item.updatedAt },
                      source: "poll" as const,
                      receivedAt: now,
                    })),
                  )
                  .onConflictDoNothing()
                  .returning({ id: inbox.id, externalId: inbox.externalId });
          await enqueueJobs(
            tx,
            inserted.map((row) => inboxJob(loaded, row.id, row.externalId, now)),
          );
          found += inserted.length;
        });
      }
      const advanced = page.nextCursor !== cursor;
      cursor = page.nextCursor;
      if (!advanced || page.items.length < PAGE_SIZE) break;
    }
    return {
      ...next,
      commit: async (tx) => {
        await tx
          .update(connections)
          .set({ pollCursor: cursor, ...polled })
          .where(eq(connections.id, loaded.row.id));
        if (found > 0) {
          await appendLedger(tx, [
            {
              tenantId: loaded.row.tenantId,
              connectionId: loaded.row.id,
              direction: "inbound",
              kind: "sync.polled",
              actor: { type: "system", id: "poller" },
              side: "provider",
              detail: { connector: loaded.row.type, changed: found },
            },
          ]);
        }
      },
    };
  },
};

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
          error: errorMessage(error).slice(0, 200),
        },
      },
    ]);
  });
}
