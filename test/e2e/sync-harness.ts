import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import type { Hono } from "hono";
import { queryRows } from "../../src/db/client.js";
import { periodicKindList } from "../../src/jobs/queue.js";
import { effectJobKinds } from "../../src/jobs/registry.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { jobContext } from "../../src/runtime.js";
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
  const runner = (kinds: readonly (typeof effectJobKinds)[number][] | readonly ["connection.poll"]) =>
    new JobRunner({
      ctx: jobContext(
        { ...ctx.deps, config: { ...ctx.deps.config, publicUrl: server.url, sync: settings } },
        workerId,
        ctx.deps.fetch ? { fetch: ctx.deps.fetch } : {},
      ),
      processConcurrency: settings.processConcurrency,
      connectionConcurrency: settings.connectionConcurrency,
      tickMs: 50,
      leaseMs: settings.leaseMs,
      kinds,
    });
  const passOnce = () => runner(effectJobKinds).runUntilIdle(1);
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
          sql`select count(*) as count from jobs o
              where o.status = 'pending' and o.kind not in (${periodicKindList})
                and not exists (
                  select 1 from jobs d where d.connection_id = o.connection_id and d.order_key = o.order_key
                    and d.id < o.id and d.status = 'dead' and d.kind <> 'inbox.apply')`,
        );
        if (Number(open?.count ?? 0) === 0) return;
        if (Date.now() > deadline) {
          const byKind = await queryRows<{ kind: string; count: number; due: string }>(
            ctx.database.db,
            sql`select kind, count(*) as count, min(next_attempt_at)::text as due from jobs
                where status = 'pending' and kind not in (${periodicKindList}) group by kind`,
          );
          throw new Error(
            `drain: ${open?.count} jobs still pending after the timeout (${byKind
              .map((row) => `${row.kind} ×${row.count} due ${row.due}`)
              .join(", ")})`,
          );
        }
        // Jobs are waiting out a backoff or a Retry-After.
        await new Promise((r) => setTimeout(r, options.pauseMs ?? 50));
      }
    },
    // Every connection's poll job is made due now and run. "Now" is the runner's clock (ctx.deps.now, whole
    // milliseconds), which its claim compares next_attempt_at with: the database's now() is microseconds
    // later than that clock's same millisecond, so a claim in that millisecond found the job not yet due.
    poll: async () => {
      const due = ctx.deps.now().toISOString();
      await ctx.database.db.execute(
        sql`update jobs set next_attempt_at = ${due}::timestamptz where kind = 'connection.poll' and status = 'pending'`,
      );
      return runner(["connection.poll"]).runUntilIdle(1);
    },
    close: async () => {
      await server.close();
      await ctx.close();
    },
  };
}

/** The body of `POST /v1/connections` for a ServiceNow servicedesk on a simulator, basic auth as its integration user. */
export function serviceNowConnectionBody(
  name: string,
  simulator: { url: string; username: string; password: string },
  webhookSecret: string,
) {
  return {
    type: "servicenow",
    name,
    role: "servicedesk",
    settings: {
      baseUrl: simulator.url,
      auth: { type: "basic", username: simulator.username, password: simulator.password },
      webhookSecret,
    },
  };
}
