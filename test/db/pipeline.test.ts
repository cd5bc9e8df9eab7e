// Pipelined writes (src/db/pipeline.ts) on the engine under test: sent without waiting, run in order, awaited
// at the pipeline's end, and a failure reported as its cause; and the ticket writes that use them answer with
// the rows as stored.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Queryable, queryRows } from "../../src/db/client.js";
import { pipelined, sendWrite } from "../../src/db/pipeline.js";
import { type Client, createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
  const { db } = ctx.database;
  await db.execute(sql`create table pipeline_parent (id text primary key)`);
  await db.execute(
    sql`create table pipeline_child (id text primary key, parent_id text not null references pipeline_parent (id))`,
  );
});
afterAll(async () => ctx?.close());

/** A statement on `on`, sent now, that answers after `seconds`, and whether it has answered. */
function slowWrite(on: Queryable, seconds: number) {
  const state = { answered: false };
  const query = on.execute(sql`select pg_sleep(${seconds})`).then(() => {
    state.answered = true;
  });
  return { state, query };
}

describe("pipelined writes", () => {
  it("go out without waiting for their answers, in the order sent, and are awaited at the pipeline's end", async () => {
    const { db } = ctx.database;
    const answered = await db.transaction(async (tx) => {
      let beforeEnd = true;
      const slow = slowWrite(tx, 0.2);
      await pipelined(tx, async () => {
        await sendWrite(tx, slow.query);
        // Each later statement depends on the one before: out of order, a foreign key would fail.
        await sendWrite(tx, tx.execute(sql`insert into pipeline_parent (id) values ('p1')`));
        await sendWrite(tx, tx.execute(sql`insert into pipeline_child (id, parent_id) values ('c1', 'p1')`));
        beforeEnd = slow.state.answered;
        // A read sent after them sees their effects.
        const [row] = await queryRows<{ n: number }>(
          tx,
          sql`select count(*)::int as n from pipeline_child where parent_id = 'p1'`,
        );
        expect(row!.n).toBe(1);
      });
      return { beforeEnd, atEnd: slow.state.answered };
    });
    expect(answered).toEqual({ beforeEnd: false, atEnd: true });
  });

  it("are awaited where they are sent outside a pipeline", async () => {
    const slow = slowWrite(ctx.database.db, 0.1);
    await sendWrite(ctx.database.db, slow.query);
    expect(slow.state.answered).toBe(true);
  });

  it("report the write that failed, not the aborted statements after it, and leave nothing behind", async () => {
    const { db } = ctx.database;
    await db.execute(sql`insert into pipeline_parent (id) values ('taken')`);
    const failure = await db
      .transaction(async (tx) =>
        pipelined(tx, async () => {
          await sendWrite(tx, tx.execute(sql`insert into pipeline_parent (id) values ('p2')`));
          await sendWrite(tx, tx.execute(sql`insert into pipeline_parent (id) values ('taken')`));
          await sendWrite(
            tx,
            tx.execute(sql`insert into pipeline_child (id, parent_id) values ('c2', 'p2')`),
          );
          // A statement awaited after the failed write fails as aborted; the pipeline reports the cause.
          await queryRows(tx, sql`select 1`);
        }),
      )
      .catch((error: unknown) => error);
    const cause = (failure as { cause?: { code?: string } }).cause ?? failure;
    expect((cause as { code?: string }).code).toBe("23505");
    const rows = await queryRows<{ id: string }>(db, sql`select id from pipeline_parent where id = 'p2'`);
    expect(rows).toEqual([]);
  });
});

/** The ticket as GET answers it, less its SLA summary (which only GET adds). */
async function storedTicket(api: Client, id: string) {
  const { sla: _sla, ...stored } = (await api.get(`/v1/tickets/${id}`)).body;
  return stored;
}

describe("ticket writes with pipelined inserts and updates", () => {
  it("answer with the ticket and comment as stored", async () => {
    const tenant = await createTenant(ctx);
    const created = await tenant.client.post("/v1/tickets", {
      title: "Fibre cut",
      priority: "P1",
      description: "Both paths down",
      requester: { name: "Ana", email: "ana@example.com" },
      category: "network",
    });
    expect(created.status).toBe(201);
    expect(await storedTicket(tenant.client, created.body.id)).toEqual(created.body);

    // By the provider: acknowledges the ticket, and the SLA events read the clocks inserted before.
    const updated = await ctx.admin.patch(`/v1/tickets/${created.body.id}`, {
      title: "Fibre cut at site 7",
      status: "in_progress",
    });
    expect(updated.status).toBe(200);
    expect(updated.body.version).toBe(2);
    expect(updated.body.acknowledgedAt).not.toBeNull();
    expect(await storedTicket(tenant.client, created.body.id)).toEqual(updated.body);

    const ticket = await openTicket(tenant.client);
    const comment = await tenant.client.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Engineer on site",
      visibility: "public",
    });
    expect(comment.status).toBe(201);
    // By the provider: its public update also restarts the SLA update clock.
    const reply = await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Splice done",
      visibility: "public",
    });
    expect(reply.status).toBe(201);
    const listed = await tenant.client.get(`/v1/tickets/${ticket.id}/comments`);
    expect(listed.body.items).toEqual([comment.body, reply.body]);
    expect((await tenant.client.get(`/v1/tickets/${ticket.id}`)).body.version).toBe(3);
    const verified = await ctx.admin.get("/v1/ledger/verify");
    expect(verified.body.ok).toBe(true);
  });
});
