import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pendingMigrationCount, runMigrations } from "../../src/db/migrate.js";
import {
  createTenant,
  createTestApp,
  createTestDatabase,
  engine,
  openTicket,
  type TestContext,
} from "../harness.js";

// PGlite runs one statement at a time, so these races can only fail (and so only prove something) on PostgreSQL.
describe.runIf(engine === "postgres")("concurrency on PostgreSQL", () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestApp();
  });
  afterAll(async () => ctx?.close());

  it("applies migrations once when several processes start at the same time", async () => {
    const fresh = await createTestDatabase({ migrate: false });
    try {
      await Promise.all(Array.from({ length: 6 }, () => runMigrations(fresh)));
      expect(await pendingMigrationCount(fresh)).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it("lets exactly one of racing writers with the same If-Match win", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        tenant.client.patch(`/v1/tickets/${ticket.id}`, { title: `writer ${i}` }, { "if-match": '"1"' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(9);
    const final = await tenant.client.get(`/v1/tickets/${ticket.id}`);
    expect(final.body.version).toBe(2);
  });

  it("keeps every version bump when writers race without If-Match", async () => {
    const tenant = await createTenant(ctx);
    const ticket = await openTicket(tenant.client);
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, { body: `note ${i}` }),
      ),
    );
    const final = await tenant.client.get(`/v1/tickets/${ticket.id}`);
    expect(final.body.version).toBe(13);
    const ledger = await ctx.admin.get(`/v1/tickets/${ticket.id}/ledger?limit=200`);
    // The ticket's own entries (SLA bookkeeping carries no version) in chain order: one per version, none lost.
    const versions = ledger.body.items
      .filter((e: { kind: string }) => !e.kind.startsWith("sla."))
      .map((e: { detail: { version: number } }) => e.detail.version);
    expect(versions).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
  });

  it("keeps each tenant's hash chain intact under concurrent appends", async () => {
    const a = await createTenant(ctx);
    const b = await createTenant(ctx);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => openTicket(i % 2 ? a.client : b.client, { title: `t${i}` })),
    );
    const verification = await ctx.admin.get("/v1/ledger/verify");
    expect(verification.body).toMatchObject({ ok: true, firstBrokenSequence: null });
    expect(verification.body.checked).toBeGreaterThanOrEqual(42);
  });

  it("pages without duplicates or gaps while tickets are inserted concurrently", async () => {
    const tenant = await createTenant(ctx);
    const existing: string[] = [];
    for (let i = 0; i < 30; i++) existing.push((await openTicket(tenant.client)).id);
    const inserting = Promise.all(Array.from({ length: 30 }, () => openTicket(tenant.client)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await tenant.client.get(
        `/v1/tickets?limit=4${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    await inserting;
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
  });

  it("creates one resource when the same Idempotency-Key races", async () => {
    const tenant = await createTenant(ctx);
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        tenant.client.post("/v1/tickets", { title: "once", priority: "P1" }, { "idempotency-key": "race-1" }),
      ),
    );
    for (const r of results) expect([201, 409], r.text).toContain(r.status);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const list = await tenant.client.get("/v1/tickets");
    expect(list.body.items).toHaveLength(1);
  });
});
