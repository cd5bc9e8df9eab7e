import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { connections, inbox, jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { decryptSecret, encryptSecret } from "../../src/lib/secrets.js";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

// Concurrent webhooks are stored by group commits (src/db/group-commit.ts): these check that batches are
// formed, that a failing batch acknowledges nothing, and that the ledger's chains still verify.

let ctx: TestContext;
const hooks: { id: string; secret: string; tenantId: string }[] = [];

beforeAll(async () => {
  ctx = await createTestApp();
  for (let i = 0; i < 3; i++) {
    const tenant = await createTenant(ctx, { name: `Group commit ${i}` });
    const secret = `group-commit-secret-${i}-0123456789`;
    const made = await tenant.client.post("/v1/connections", {
      type: "servicenow",
      name: `ServiceNow ${i}`,
      role: "servicedesk",
      settings: {
        baseUrl: "http://127.0.0.1:9",
        auth: { type: "basic", username: "svc.sync", password: "s3cret-password" },
        webhookSecret: secret,
      },
    });
    expect(made.status, made.text).toBe(201);
    hooks.push({ id: made.body.id, secret, tenantId: tenant.id });
  }
});
afterAll(async () => ctx?.close());

const sysId = () => randomBytes(16).toString("hex");

function send(hook: { id: string }, secret: string, externalId = sysId()) {
  return ctx.app.request(`/webhooks/${hook.id}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ sys_id: externalId, operation: "update" }),
  });
}

async function received(externalIds: string[]) {
  const rows = await ctx.database.db
    .select({ externalId: ledgerEntries.externalId, kind: ledgerEntries.kind })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.kind, "sync.received"));
  return rows.filter((r) => externalIds.includes(r.externalId ?? "")).length;
}

async function run(...statements: string[]) {
  for (const statement of statements) await ctx.database.db.execute(sql.raw(statement));
}

async function verifies() {
  const res = await ctx.admin.get("/v1/ledger/verify");
  expect(res.status, res.text).toBe(200);
  return res.body.ok as boolean;
}

describe("webhooks stored by group commit", () => {
  it("commits concurrent webhooks together, each with its inbox row, job and chained ledger entry", async () => {
    const sent = hooks.flatMap((hook) => Array.from({ length: 20 }, () => ({ hook, externalId: sysId() })));
    const answers = await Promise.all(
      sent.map(({ hook, externalId }) => send(hook, hook.secret, externalId)),
    );
    expect(answers.map((a) => a.status)).toEqual(sent.map(() => 202));
    expect(await Promise.all(answers.map((a) => a.json()))).toEqual(
      sent.map(() => ({ accepted: 1, duplicates: 0 })),
    );
    const ids = sent.map((s) => s.externalId);
    const stored = await queryRows<{ externalId: string; connectionId: string; tx: string }>(
      ctx.database.db,
      sql`select external_id as "externalId", connection_id as "connectionId", xmin::text as tx from inbox`,
    );
    const ours = stored.filter((row) => ids.includes(row.externalId));
    expect(ours).toHaveLength(sent.length);
    // Each notice went to its own connection's inbox (tenant isolation within a shared transaction).
    for (const { hook, externalId } of sent)
      expect(ours.find((row) => row.externalId === externalId)?.connectionId).toBe(hook.id);
    // Fewer transactions than webhooks: requests were committed together.
    expect(new Set(ours.map((row) => row.tx)).size).toBeLessThan(sent.length);
    const applyJobs = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, "inbox.apply"));
    expect(applyJobs.filter((job) => ids.includes(String(job.orderKey).slice(3)))).toHaveLength(sent.length);
    expect(await received(ids)).toBe(sent.length);
    const entries = await ctx.database.db
      .select({ tenantId: ledgerEntries.tenantId, connectionId: ledgerEntries.connectionId })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.kind, "sync.received"));
    for (const entry of entries)
      expect(hooks.find((hook) => hook.id === entry.connectionId)?.tenantId).toBe(entry.tenantId);
    expect(await verifies()).toBe(true);
  });

  it("drops notices for a record whose notice waits unread, within a batch and across batches", async () => {
    const [hook] = hooks;
    const record = sysId();
    const answers = await Promise.all(Array.from({ length: 6 }, () => send(hook!, hook!.secret, record)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const counts = (await Promise.all(answers.map((a) => a.json()))) as {
      accepted: number;
      duplicates: number;
    }[];
    expect(counts.reduce((sum, c) => sum + c.accepted, 0)).toBe(1);
    expect(counts.reduce((sum, c) => sum + c.duplicates, 0)).toBe(5);
    const stored = await ctx.database.db.select().from(inbox).where(eq(inbox.externalId, record));
    expect(stored).toHaveLength(1);
    const applies = await ctx.database.db
      .select()
      .from(jobs)
      .where(eq(jobs.orderKey, `in:${record}`));
    expect(applies.map((job) => job.payload)).toEqual([{ inboxId: stored[0]!.id }]);
    const kinds = await ctx.database.db
      .select({ kind: ledgerEntries.kind })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.externalId, record));
    expect(kinds.map((k) => k.kind).sort()).toEqual([...Array(5).fill("sync.duplicate"), "sync.received"]);
    // Still unread: dropped. Once a worker has claimed it, a new notice is stored (the read may have missed it).
    expect(await (await send(hook!, hook!.secret, record)).json()).toEqual({ accepted: 0, duplicates: 1 });
    await ctx.database.db.update(jobs).set({ attempts: 1 }).where(eq(jobs.id, applies[0]!.id));
    expect(await (await send(hook!, hook!.secret, record)).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await verifies()).toBe(true);
  });

  it("answers 503 for every webhook of a batch that cannot commit, and stores nothing of them", async () => {
    await run(
      `create function refuse_inbox() returns trigger language plpgsql as $$
       begin raise exception 'inbox refused by the test'; end $$`,
      "create trigger refuse_inbox before insert on inbox for each row execute function refuse_inbox()",
    );
    const sent = hooks.flatMap((hook) => Array.from({ length: 5 }, () => ({ hook, externalId: sysId() })));
    try {
      const answers = await Promise.all(
        sent.map(({ hook, externalId }) => send(hook, hook.secret, externalId)),
      );
      expect(answers.map((a) => a.status)).toEqual(sent.map(() => 503));
    } finally {
      await run("drop trigger refuse_inbox on inbox", "drop function refuse_inbox()");
    }
    const ids = sent.map((s) => s.externalId);
    const stored = await ctx.database.db.select({ externalId: inbox.externalId }).from(inbox);
    expect(stored.filter((row) => ids.includes(row.externalId))).toEqual([]);
    const applyJobs = await ctx.database.db.select().from(jobs).where(eq(jobs.kind, "inbox.apply"));
    expect(applyJobs.filter((job) => ids.includes(String(job.orderKey).slice(3)))).toEqual([]);
    expect(await received(ids)).toBe(0);
    // The vendor's retry is stored once the database takes it again.
    const retried = await Promise.all(
      sent.map(({ hook, externalId }) => send(hook, hook.secret, externalId)),
    );
    expect(retried.map((a) => a.status)).toEqual(sent.map(() => 202));
    expect(await received(ids)).toBe(sent.length);
    expect(await verifies()).toBe(true);
  });

  it("fails only the webhook the database refuses when others share its batch", async () => {
    const poison = sysId();
    await run(
      `create function refuse_one() returns trigger language plpgsql as $$
       begin if new.external_id = '${poison}' then raise exception 'this notice is refused'; end if;
       return new; end $$`,
      "create trigger refuse_one before insert on inbox for each row execute function refuse_one()",
    );
    const sent = hooks.flatMap((hook) => Array.from({ length: 6 }, () => ({ hook, externalId: sysId() })));
    sent.splice(7, 0, { hook: hooks[1]!, externalId: poison });
    let statuses: number[];
    try {
      const answers = await Promise.all(
        sent.map(({ hook, externalId }) => send(hook, hook.secret, externalId)),
      );
      statuses = answers.map((a) => a.status);
    } finally {
      await run("drop trigger refuse_one on inbox", "drop function refuse_one()");
    }
    expect(statuses).toEqual(sent.map((s) => (s.externalId === poison ? 503 : 202)));
    expect(await received([poison])).toBe(0);
    expect(await received(sent.map((s) => s.externalId).filter((id) => id !== poison))).toBe(sent.length - 1);
    expect(await verifies()).toBe(true);
  });

  it("honours a secret changed by another process at once, though this one cached the connection", async () => {
    const hook = hooks[2]!;
    expect((await send(hook, hook.secret)).status).toBe(202);
    // Another gateway process rotates the secret: only the stored row changes, not this process's cache.
    const [row] = await ctx.database.db.select().from(connections).where(eq(connections.id, hook.id));
    const key = ctx.deps.config.secretsKey;
    const settings = JSON.parse(decryptSecret(key, row!.settingsEncrypted));
    const rotated = "group-commit-rotated-secret-0123456789";
    await ctx.database.db
      .update(connections)
      .set({ settingsEncrypted: encryptSecret(key, JSON.stringify({ ...settings, webhookSecret: rotated })) })
      .where(eq(connections.id, hook.id));
    const old = sysId();
    expect((await send(hook, hook.secret, old)).status).toBe(401);
    expect(await received([old])).toBe(0);
    const fresh = sysId();
    expect((await send(hook, rotated, fresh)).status).toBe(202);
    expect(await received([fresh])).toBe(1);
    // A connection deleted elsewhere stops answering too.
    await ctx.database.db.update(connections).set({ status: "deleted" }).where(eq(connections.id, hook.id));
    expect((await send(hook, rotated)).status).toBe(404);
  });
});
