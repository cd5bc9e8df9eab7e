// Rows read raw through src/db/table-rows.ts are the rows drizzle's own select gives, for every table of the
// schema holding data written through the API (dates, JSON, nulls, numbers), on both engines; and the ticket
// writes that read them (create, update, comment on a ticket with an outbound connection) still work.
import { eq, is, sql } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import * as schema from "../../src/db/schema/index.js";
import { tableRows } from "../../src/db/table-rows.js";
import { lockTicketWithOutbound, tenantWithOutbound, ticketById } from "../../src/sync/ticket-connections.js";
import { createTenant, createTestApp, type TestContext } from "../harness.js";

let ctx: TestContext;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let ticketId: string;
let connectionId: string;

beforeAll(async () => {
  ctx = await createTestApp();
  tenant = await createTenant(ctx, { name: "Table rows", timezone: "Europe/Stockholm" });
  const made = await tenant.client.post("/v1/connections", {
    type: "servicenow",
    name: "ServiceNow",
    role: "servicedesk",
    settings: {
      baseUrl: "http://127.0.0.1:9",
      auth: { type: "basic", username: "svc.sync", password: "s3cret-password" },
      webhookSecret: "table-rows-secret-0123456789",
      filter: { priorities: ["P1", "P2"] },
    },
  });
  expect(made.status, made.text).toBe(201);
  connectionId = made.body.id;
  const ticket = await tenant.client.post("/v1/tickets", {
    title: "Circuit down",
    description: "Packet loss since 09:12.",
    priority: "P2",
    requester: { name: "Ada", email: "ada@example.com" },
  });
  expect(ticket.status, ticket.text).toBe(201);
  ticketId = ticket.body.id;
  const update = await ctx.admin.patch(`/v1/tickets/${ticketId}`, { status: "in_progress" });
  expect(update.status, update.text).toBe(200);
  const comment = await tenant.client.post(`/v1/tickets/${ticketId}/comments`, {
    body: "Looking at it.",
    visibility: "public",
  });
  expect(comment.status, comment.text).toBe(201);
});
afterAll(async () => ctx?.close());

const tables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable));

describe("tableRows", () => {
  it("maps every table's rows as drizzle's select does", async () => {
    const { db } = ctx.database;
    let compared = 0;
    for (const table of tables) {
      const expected = await db.select().from(table);
      const raw = await queryRows<Record<string, unknown>>(
        db,
        sql`select ${tableRows(table).columns} from ${table}`,
      );
      const order = (rows: Record<string, unknown>[]) =>
        [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      expect(order(raw.map((row) => tableRows(table).rowOf(row)!))).toEqual(order(expected));
      if (expected.length > 0) compared++;
    }
    // Tenants, API keys, connections, tickets, comments, SLA clocks, jobs, ledger entries at least.
    expect(compared).toBeGreaterThanOrEqual(8);
  });

  it("reads the tenant and the ticket with their outbound connections", async () => {
    await ctx.database.db.transaction(async (tx) => {
      const read = await tenantWithOutbound(tx, tenant.id);
      expect(read.tenant).toMatchObject({ id: tenant.id, timezone: "Europe/Stockholm" });
      expect(read.tenant!.createdAt).toBeInstanceOf(Date);
      expect(read.outbound.map((c) => c.id)).toEqual([connectionId]);
      expect(read.outbound[0]!.filter).toEqual({ priorities: ["P1", "P2"] });
      const locked = await lockTicketWithOutbound(tx, ticketId);
      expect(locked.ticket).toMatchObject({ id: ticketId, status: "in_progress", priority: "P2" });
      expect(locked.outbound.map((c) => c.id)).toEqual([connectionId]);
      expect(await tenantWithOutbound(tx, "ten_missing")).toEqual({ tenant: undefined, outbound: [] });
      expect(await lockTicketWithOutbound(tx, "tkt_missing")).toEqual({ ticket: undefined, outbound: [] });
      const [drizzles] = await tx.select().from(schema.tickets).where(eq(schema.tickets.id, ticketId));
      expect(await ticketById(tx, ticketId, true)).toEqual(drizzles);
      expect(await ticketById(tx, ticketId)).toEqual(drizzles);
      expect(await ticketById(tx, "tkt_missing")).toBeUndefined();
    });
  });
});
