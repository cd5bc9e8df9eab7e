import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { appendLedger } from "../../src/ledger/append.js";
import { computeEntryHash } from "../../src/ledger/entry-hash.js";
import { createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

const db = () => ctx.database.db;

describe("ledger entries", () => {
  it("records every ticket change with side, actor, kind and a payload hash, but no bodies", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client, { description: "secret-description-text" });
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "acknowledged", priority: "P1" });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "very private note body",
      visibility: "internal",
    });
    const res = await tenant.client.get(`/v1/tickets/${ticket.id}/ledger`);
    expect(res.status).toBe(200);
    // SLA bookkeeping (sla.*) interleaves; this test is about the ticket's own changes.
    const ticketEntries = res.body.items.filter((e: { kind: string }) => !e.kind.startsWith("sla."));
    const kinds = ticketEntries.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual([
      "ticket.created",
      "ticket.priority_changed",
      "ticket.status_changed",
      "comment.added",
    ]);
    const [created, priority, status, comment] = ticketEntries;
    expect(created).toMatchObject({ side: "client", actor: { type: "tenant_key" }, direction: "internal" });
    expect(created.payloadHash).toMatch(/^[0-9a-f]{64}$/);
    expect(priority.detail).toMatchObject({ from: "P2", to: "P1" });
    expect(status).toMatchObject({
      side: "provider",
      actor: { type: "admin" },
      detail: { from: "new", to: "acknowledged" },
    });
    expect(comment.detail).toMatchObject({ visibility: "internal" });
    expect(typeof comment.sequence).toBe("number");
    expect(res.text).not.toContain("very private note body");
    expect(res.text).not.toContain("secret-description-text");
    for (let i = 1; i < res.body.items.length; i++) {
      expect(res.body.items[i].sequence).toBeGreaterThan(res.body.items[i - 1].sequence);
      expect(res.body.items[i].prevHash).toBe(res.body.items[i - 1].hash);
    }
  });

  it("queries by tenant, ticket, kind (exact or prefix) and since, scoped for tenant keys", async () => {
    const a = await createTenant(ctx);
    const b = await createTenant(ctx);
    const ta = await openTicket(a.client);
    await openTicket(b.client);
    const ownOnly = await a.client.get("/v1/ledger?limit=200");
    expect(ownOnly.body.items.every((e: { tenantId: string }) => e.tenantId === a.id)).toBe(true);
    const byKind = await ctx.admin.get(`/v1/ledger?tenantId=${a.id}&kind=ticket.created`);
    expect(byKind.body.items.map((e: { ticketId: string }) => e.ticketId)).toEqual([ta.id]);
    const byPrefix = await ctx.admin.get(`/v1/ledger?tenantId=${a.id}&kind=ticket.*`);
    expect(byPrefix.body.items).toHaveLength(1);
    const future = await ctx.admin.get(`/v1/ledger?since=2999-01-01T00:00:00Z`);
    expect(future.body.items).toHaveLength(0);
    const paged = await ctx.admin.get("/v1/ledger?limit=1");
    const next = await ctx.admin.get(`/v1/ledger?limit=1&cursor=${paged.body.nextCursor}`);
    expect(next.body.items[0].sequence).toBeGreaterThan(paged.body.items[0].sequence);
  });

  it("exports NDJSON", async () => {
    const tenant = await createTenant(ctx);
    await openTicket(tenant.client);
    await openTicket(tenant.client);
    const res = await ctx.app.request(`/v1/ledger/export?tenantId=${tenant.id}`, {
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    });
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const kinds = lines.map((l) => l.kind).filter((k: string) => !k.startsWith("sla."));
    expect(kinds).toEqual(["tenant.created", "ticket.created", "ticket.created"]);
    expect(lines.every((l) => l.tenantId === tenant.id)).toBe(true);
  });
});

describe("append-only, enforced by the database", () => {
  it.each([
    ["UPDATE", sql`update ledger_entries set kind = 'x'`],
    ["DELETE", sql`delete from ledger_entries`],
    ["TRUNCATE", sql`truncate ledger_entries`],
  ])("rejects %s", async (_op, statement) => {
    const tenant = await createTenant(ctx);
    await openTicket(tenant.client);
    const error = await db()
      .execute(statement)
      .then(
        () => null,
        (e: Error) => e,
      );
    // drizzle wraps the driver's error; the trigger's message is in the cause.
    expect(String((error?.cause as Error | undefined)?.message ?? error?.message)).toMatch(/append-only/);
    const [row] = await queryRows<{ count: number }>(
      db(),
      sql`select count(*)::int as count from ledger_entries`,
    );
    expect(row!.count).toBeGreaterThan(0);
  });
});

describe("GET /v1/ledger/verify", () => {
  it("is admin-only", async () => {
    const tenant = await createTenant(ctx);
    expect((await tenant.client.get("/v1/ledger/verify")).status).toBe(403);
  });

  it("verifies an intact ledger, then catches a row edited behind the application's back", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client);
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "in_progress" });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, { body: "x" });
    const before = await ctx.admin.get("/v1/ledger/verify");
    expect(before.body).toMatchObject({ ok: true, firstBrokenSequence: null });
    expect(before.body.checked).toBeGreaterThanOrEqual(4);

    const entries = (await ctx.admin.get(`/v1/tickets/${ticket.id}/ledger`)).body.items;
    const target = entries[1];
    await db().execute(sql`alter table ledger_entries disable trigger ledger_entries_no_update_delete`);
    await db().execute(
      sql`update ledger_entries set detail = '{"from":"new","to":"resolved"}'::jsonb where sequence = ${target.sequence}`,
    );
    await db().execute(sql`alter table ledger_entries enable trigger ledger_entries_no_update_delete`);

    const after = await ctx.admin.get("/v1/ledger/verify");
    expect(after.body).toMatchObject({ ok: false, firstBrokenSequence: target.sequence });
    const scoped = await ctx.admin.get(`/v1/ledger/verify?tenantId=${tenant.id}`);
    expect(scoped.body.firstBrokenSequence).toBe(target.sequence);
    const other = await createTenant(ctx);
    const otherChain = await ctx.admin.get(`/v1/ledger/verify?tenantId=${other.id}`);
    expect(otherChain.body).toMatchObject({ ok: true });
  });

  it("verifies entries the database hashed whatever their detail holds (keys named like chain fields, any text)", async () => {
    const tenant = await createTenant(ctx);
    const tricky = [
      { prevHash: null, sequence: 0, side: "x", note: ',"prevHash":null,"sequence":0,' },
      {
        text: 'é ü 中文 😀 \u2028 \\ " \n tab\t',
        nested: { b: [1, 2.5, -0, 1e21], a: { z: true, y: null } },
      },
      {},
    ];
    const stored = await ctx.database.db.transaction((tx) =>
      appendLedger(
        tx,
        tricky.map((detail, i) => ({
          tenantId: tenant.id,
          ticketId: i === 2 ? null : `t-${i}`,
          direction: "internal" as const,
          kind: "test.tricky",
          actor: { type: "system" as const, id: "ledger-test" },
          side: "provider" as const,
          detail,
        })),
      ),
    );
    for (const entry of stored) expect(entry.hash).toBe(computeEntryHash(entry));
    const verified = await ctx.admin.get(`/v1/ledger/verify?tenantId=${tenant.id}`);
    expect(verified.body).toMatchObject({ ok: true, firstBrokenSequence: null });
    expect(verified.body.checked).toBeGreaterThanOrEqual(3);
  });

  it("catches an entry deleted behind the application's back", async () => {
    const fresh = await createTestApp();
    try {
      const tenant = await createTenant(fresh);
      const ticket = await openTicket(tenant.client);
      await fresh.admin.patch(`/v1/tickets/${ticket.id}`, { title: "a" });
      await fresh.admin.patch(`/v1/tickets/${ticket.id}`, { title: "b" });
      const entries = (await fresh.admin.get(`/v1/tickets/${ticket.id}/ledger`)).body.items;
      const d = fresh.database.db;
      await d.execute(sql`alter table ledger_entries disable trigger ledger_entries_no_update_delete`);
      await d.execute(sql`delete from ledger_entries where sequence = ${entries[1].sequence}`);
      const result = await fresh.admin.get("/v1/ledger/verify");
      expect(result.body).toMatchObject({ ok: false, firstBrokenSequence: entries[2].sequence });
    } finally {
      await fresh.close();
    }
  });
});
