import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import type { Hono } from "hono";
import { queryRows } from "../../src/db/client.js";
import { runInbox } from "../../src/sync/inbound.js";
import { runOutbox } from "../../src/sync/outbound.js";
import { runPoller } from "../../src/sync/poller.js";
import { defaultSyncSettings, type SyncSettings } from "../../src/sync/settings.js";
import { createTestApp, type TestContext } from "../harness.js";

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Serves a Hono app on a real loopback port. */
export async function listen(app: Pick<Hono, "fetch">): Promise<Listening> {
  return new Promise((resolve) => {
    // Looked up per request, so a test can wrap the app's fetch after the server started.
    const server = serve(
      { fetch: (request: Request) => app.fetch(request), port: 0, hostname: "127.0.0.1" },
      (info: AddressInfo) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
  });
}

export const fastSync: SyncSettings = {
  ...defaultSyncSettings,
  maxAttempts: 8,
  backoffBaseMs: 20,
  backoffCapMs: 200,
  pollIntervalMs: 200,
  leaseMs: 10_000,
  httpTimeoutMs: 1500,
  httpRetries: 0,
};

export interface SyncTestContext extends TestContext {
  gatewayUrl: string;
  workerId: string;
  /** Runs inbox and outbox passes until no job is pending (dead ones excepted), waiting out backoffs. */
  drain(options?: { timeoutMs?: number; pauseMs?: number; settle?: () => Promise<void> }): Promise<void>;
  poll(): Promise<number>;
}

/** A gateway app listening on a real port (vendors' webhooks reach it), with a driveable worker. */
export async function createSyncTestApp(sync: Partial<SyncSettings> = {}): Promise<SyncTestContext> {
  let target: Pick<Hono, "fetch"> | null = null;
  const server = await listen({
    fetch: (req: Request, ...rest: unknown[]) => (target as Hono).fetch(req, ...(rest as [])),
  });
  const settings = { ...fastSync, ...sync };
  const ctx = await createTestApp({});
  ctx.deps.config = { ...ctx.deps.config, publicUrl: server.url, sync: settings };
  target = ctx.app;
  const workerId = `test-worker-${Math.random().toString(36).slice(2, 8)}`;
  const engine = () => ({ secretsKey: ctx.deps.config.secretsKey, publicUrl: server.url, sync: settings });
  const passOnce = async () => {
    const db = ctx.database.db;
    const inbox = await runInbox(db, {
      engine: engine(),
      workerId,
      now: ctx.deps.now,
      catalog: ctx.deps.catalog,
    });
    const outbox = await runOutbox(db, {
      engine: engine(),
      workerId,
      now: ctx.deps.now,
      catalog: ctx.deps.catalog,
    });
    return inbox + outbox;
  };
  return {
    ...ctx,
    gatewayUrl: server.url,
    workerId,
    async drain(options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 15_000);
      for (;;) {
        await options.settle?.();
        const handled = await passOnce();
        if (handled > 0) continue;
        await options.settle?.();
        const [open] = await queryRows<{ count: number }>(
          ctx.database.db,
          sql`select (select count(*) from inbox where status = 'pending')
                   + (select count(*) from outbox o where o.status = 'pending' and not exists (
                        select 1 from outbox d where d.connection_id = o.connection_id and d.ticket_id = o.ticket_id
                          and d.id < o.id and d.status = 'dead')) as count`,
        );
        if (Number(open?.count ?? 0) === 0) return;
        if (Date.now() > deadline)
          throw new Error(`drain: ${open?.count} jobs still pending after the timeout`);
        // Jobs are waiting out a backoff or a Retry-After.
        await new Promise((r) => setTimeout(r, options.pauseMs ?? 50));
      }
    },
    // Just past every connection's next poll time, so each one is due.
    poll: () =>
      runPoller(ctx.database.db, {
        engine: engine(),
        now: () => new Date(Date.now() + settings.pollIntervalMs + 50),
      }),
    close: async () => {
      await server.close();
      await ctx.close();
    },
  };
}
