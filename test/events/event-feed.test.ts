import { createHmac } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { eventDeliveries, jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { pruneFinished } from "../../src/jobs/prune.js";
import { appendLedger, type LedgerEntryInput } from "../../src/ledger/append.js";
import { runSlaTimers } from "../../src/services/sla-timers.js";
import { createSyncTestApp, type SyncTestContext } from "../e2e/sync-harness.js";
import { createOperator, createTenant, openTicket } from "../harness.js";
import { breachEntry, type Received, startReceiver } from "./receiver.js";

let ctx: SyncTestContext;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let acme: Awaited<ReturnType<typeof createTenant>>;
let globex: Awaited<ReturnType<typeof createTenant>>;

beforeAll(async () => {
  ctx = await createSyncTestApp();
  receiver = await startReceiver();
  acme = await createTenant(ctx, { name: "Acme" });
  globex = await createTenant(ctx, { name: "Globex" });
});
afterAll(async () => {
  await receiver?.close();
  await ctx?.close();
});

type Api = SyncTestContext["admin"];

async function subscribe(api: Api, path: string, body: Record<string, unknown>) {
  const res = await api.post("/v1/event-subscriptions", { url: `${receiver.url}${path}`, ...body });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; secret: string; audience: string; tenantId: string | null };
}

const orderOf = (id: string) => (id.startsWith("evt_test_") ? Number.MAX_SAFE_INTEGER : Number(id.slice(4)));

/**
 * The events `path` received, each verified with the standardwebhooks reference implementation, in ledger
 * order (deliveries run concurrently, so arrival order is not the ledger's; re-sends stay next to the first).
 */
function verifiedAt(path: string, secret: string) {
  const events = receiver.at(path).map((r) => {
    const payload = new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown> & { ticket?: { id: string } | null };
    };
    return { id: r.headers["webhook-id"] as string, ...payload };
  });
  return events.sort((a, b) => orderOf(a.id) - orderOf(b.id));
}

async function append(entries: LedgerEntryInput[]) {
  return ctx.database.db.transaction((tx) => appendLedger(tx, entries));
}

const system = { type: "system", id: "test" } as const;

describe("POST/GET/PATCH/DELETE /v1/event-subscriptions", () => {
  it("creates with a whsec_ secret shown once, reads, lists, changes, rotates and deletes", async () => {
    const created = await subscribe(ctx.admin, "/crud", { eventTypes: ["sla.breached"] });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice(6), "base64")).toHaveLength(24);
    expect(created).toMatchObject({
      audience: "provider",
      tenantId: null,
      format: "standard",
      enabled: true,
    });

    const read = await ctx.admin.get(`/v1/event-subscriptions/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    expect(read.text).not.toContain(created.secret.slice(6));
    expect(read.body.url).toBe(`${receiver.url}/crud`);

    const list = await ctx.admin.get("/v1/event-subscriptions?limit=200");
    expect(list.body.items.map((s: { id: string }) => s.id)).toContain(created.id);

    const patched = await ctx.admin.patch(`/v1/event-subscriptions/${created.id}`, {
      eventTypes: ["sla.breached", "sla.at_risk"],
      enabled: false,
      description: "NOC pager",
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ eventTypes: ["sla.breached", "sla.at_risk"], enabled: false });

    const rotated = await ctx.admin.post(`/v1/event-subscriptions/${created.id}/rotate-secret`);
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);

    const deleted = await ctx.admin.delete(`/v1/event-subscriptions/${created.id}`);
    expect(deleted.status).toBe(204);
    expect((await ctx.admin.get(`/v1/event-subscriptions/${created.id}`)).status).toBe(404);
    const ledgered = await ctx.database.db
      .select({ kind: ledgerEntries.kind })
      .from(ledgerEntries)
      .where(sql`${ledgerEntries.detail}->>'subscriptionId' = ${created.id}`);
    expect(ledgered.map((e) => e.kind)).toEqual([
      "event_subscription.created",
      "event_subscription.updated",
      "event_subscription.secret_rotated",
      "event_subscription.deleted",
    ]);
  });

  it("needs a key", async () => {
    const res = await ctx.app.request("/v1/event-subscriptions");
    expect(res.status).toBe(401);
  });

  it.each([
    ["a non-http URL", { url: "ftp://127.0.0.1/x", eventTypes: ["sla.met"] }],
    ["a relative URL", { url: "/hooks", eventTypes: ["sla.met"] }],
    ["credentials in the URL", { url: "http://u:p@127.0.0.1/x", eventTypes: ["sla.met"] }],
    ["no event types", { url: "http://127.0.0.1/x", eventTypes: [] }],
    ["an unknown event type", { url: "http://127.0.0.1/x", eventTypes: ["ticket.exploded"] }],
    ["a repeated event type", { url: "http://127.0.0.1/x", eventTypes: ["sla.met", "sla.met"] }],
    ["an http URL for email", { url: "http://127.0.0.1/x", eventTypes: ["sla.met"], format: "email" }],
    ["mailto for standard", { url: "mailto:noc@example.com", eventTypes: ["sla.met"] }],
    ["email without SMTP_URL", { url: "mailto:noc@example.com", eventTypes: ["sla.met"], format: "email" }],
    ["an internal address", { url: "http://169.254.169.254/latest", eventTypes: ["sla.met"] }],
    ["an unknown field", { url: "http://127.0.0.1/x", eventTypes: ["sla.met"], secret: "mine" }],
  ])("refuses %s with a 400 problem", async (_, body) => {
    const res = await ctx.admin.post("/v1/event-subscriptions", body);
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("gives a tenant key its own tenant's subscriptions only", async () => {
    const mine = await subscribe(acme.client, "/acme-crud", { eventTypes: ["ticket.created"] });
    expect(mine).toMatchObject({ audience: "tenant", tenantId: acme.id });
    const other = await acme.client.post("/v1/event-subscriptions", {
      url: `${receiver.url}/x`,
      eventTypes: ["ticket.created"],
      tenantId: globex.id,
    });
    expect(other.status, other.text).toBe(404);
    const providers = await subscribe(ctx.admin, "/provider-acme", {
      eventTypes: ["sla.met"],
      tenantId: acme.id,
    });

    for (const path of ["", "/rotate-secret", "/test", "/deliveries"]) {
      const res = path.startsWith("/d")
        ? await globex.client.get(`/v1/event-subscriptions/${mine.id}${path}`)
        : path === ""
          ? await globex.client.get(`/v1/event-subscriptions/${mine.id}`)
          : await globex.client.post(`/v1/event-subscriptions/${mine.id}${path}`);
      expect(res.status, `${path}: ${res.text}`).toBe(404);
    }
    expect((await globex.client.patch(`/v1/event-subscriptions/${mine.id}`, { enabled: false })).status).toBe(
      404,
    );
    expect((await globex.client.delete(`/v1/event-subscriptions/${mine.id}`)).status).toBe(404);
    // The provider's subscription for Acme is the provider's: Acme's key neither sees nor changes it.
    expect((await acme.client.get(`/v1/event-subscriptions/${providers.id}`)).status).toBe(404);

    const acmeList = await acme.client.get("/v1/event-subscriptions?limit=200");
    expect(acmeList.body.items.map((s: { id: string }) => s.id)).toEqual([mine.id]);
    const globexList = await globex.client.get("/v1/event-subscriptions");
    expect(globexList.body.items).toEqual([]);
    await ctx.admin.delete(`/v1/event-subscriptions/${providers.id}`);
    await acme.client.delete(`/v1/event-subscriptions/${mine.id}`);
  });
});

describe("event subscriptions for operator keys and retried requests", () => {
  it("limits an operator key to its tenants' subscriptions", async () => {
    const operator = await createOperator(ctx, [acme.id]);
    const allTenants = await operator.client.post("/v1/event-subscriptions", {
      url: `${receiver.url}/op`,
      eventTypes: ["sla.breached"],
    });
    expect(allTenants.status, allTenants.text).toBe(400);
    const foreign = await operator.client.post("/v1/event-subscriptions", {
      url: `${receiver.url}/op`,
      eventTypes: ["sla.breached"],
      tenantId: globex.id,
    });
    expect(foreign.status, foreign.text).toBe(404);
    const own = await subscribe(operator.client, "/op", { eventTypes: ["sla.breached"], tenantId: acme.id });
    expect(own).toMatchObject({ audience: "provider", tenantId: acme.id });
    const global = await subscribe(ctx.admin, "/global", { eventTypes: ["sla.breached"] });
    expect((await operator.client.get(`/v1/event-subscriptions/${global.id}`)).status).toBe(404);
    const list = await operator.client.get("/v1/event-subscriptions?limit=200");
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([own.id]);
    await ctx.admin.delete(`/v1/event-subscriptions/${own.id}`);
    await ctx.admin.delete(`/v1/event-subscriptions/${global.id}`);
  });

  it("never creates twice under one Idempotency-Key, nor replays the secret", async () => {
    const body = { url: `${receiver.url}/idem`, eventTypes: ["sla.met"] };
    const headers = { "idempotency-key": "create-sub-1" };
    const first = await globex.client.post("/v1/event-subscriptions", body, headers);
    expect(first.status, first.text).toBe(201);
    const again = await globex.client.post("/v1/event-subscriptions", body, headers);
    expect(again.status, again.text).toBe(409);
    expect(again.text).not.toContain(first.body.secret);
    const list = await globex.client.get("/v1/event-subscriptions");
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([first.body.id]);
    await globex.client.delete(`/v1/event-subscriptions/${first.body.id}`);
  });
});

describe("delivery", () => {
  it("signs per Standard Webhooks, and a tenant never receives another tenant's events", async () => {
    const provider = await subscribe(ctx.admin, "/all", {
      eventTypes: ["ticket.created", "ticket.status_changed"],
    });
    const acmeSub = await subscribe(acme.client, "/acme", { eventTypes: ["ticket.created"] });
    const globexSub = await subscribe(globex.client, "/globex", { eventTypes: ["ticket.created"] });
    const ticket = await openTicket(acme.client, { title: "Router down", priority: "P2" });
    await ctx.drain();

    const [created] = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.ticketId, ticket.id), eq(ledgerEntries.kind, "ticket.created")));
    const forProvider = verifiedAt("/all", provider.secret).filter((e) => e.data["ticket"]?.id === ticket.id);
    expect(forProvider).toHaveLength(1);
    expect(forProvider[0]).toMatchObject({
      id: `evt_${created!.sequence}`,
      type: "ticket.created",
      timestamp: created!.occurredAt.toISOString(),
      data: {
        tenant: { id: acme.id, name: "Acme" },
        ticket: { id: ticket.id, title: "Router down", priority: "P2" },
        priority: "P2",
      },
    });
    // The documented plain node:crypto check agrees with the reference implementation.
    const raw = receiver.at("/acme")[0]!;
    const signed = `${raw.headers["webhook-id"]}.${raw.headers["webhook-timestamp"]}.${raw.body}`;
    const mac = createHmac("sha256", Buffer.from(acmeSub.secret.slice("whsec_".length), "base64"))
      .update(signed)
      .digest("base64");
    expect(raw.headers["webhook-signature"]).toBe(`v1,${mac}`);
    expect(Math.abs(Number(raw.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(300);
    const forAcme = verifiedAt("/acme", acmeSub.secret);
    expect(forAcme.map((e) => e.id)).toEqual([`evt_${created!.sequence}`]);
    expect(receiver.at("/globex")).toEqual([]);
    // A wrong secret does not verify: the signature is over this subscription's key.
    expect(() =>
      new Webhook(globexSub.secret).verify(
        receiver.at("/acme")[0]!.body,
        receiver.at("/acme")[0]!.headers as never,
      ),
    ).toThrow();

    const log = await acme.client.get(`/v1/event-subscriptions/${acmeSub.id}/deliveries`);
    expect(log.body.items).toMatchObject([
      {
        eventId: `evt_${created!.sequence}`,
        eventType: "ticket.created",
        outcome: "delivered",
        httpStatus: 200,
      },
    ]);
    for (const sub of [provider, acmeSub]) await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
    await globex.client.delete(`/v1/event-subscriptions/${globexSub.id}`);
  });

  it("retries a 500 and delivers under the same webhook-id", async () => {
    const sub = await subscribe(ctx.admin, "/flaky", { eventTypes: ["ticket.status_changed"] });
    receiver.answer("/flaky", [500, 503, 200]);
    const ticket = await openTicket(acme.client);
    const changed = await ctx.admin.patch(
      `/v1/tickets/${ticket.id}`,
      { status: "in_progress" },
      { "if-match": '"1"' },
    );
    expect(changed.status, changed.text).toBe(200);
    await ctx.drain();
    const attempts = receiver.at("/flaky");
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.headers["webhook-id"])).size).toBe(1);
    const events = verifiedAt("/flaky", sub.secret);
    expect(events[2]).toMatchObject({
      type: "ticket.status_changed",
      data: { from: "new", to: "in_progress" },
    });
    const log = await ctx.admin.get(`/v1/event-subscriptions/${sub.id}/deliveries`);
    expect(
      log.body.items.map((d: { outcome: string; httpStatus: number }) => [d.outcome, d.httpStatus]),
    ).toEqual([
      ["delivered", 200],
      ["failed", 503],
      ["failed", 500],
    ]);
    expect(log.body.items.map((d: { attempt: number }) => d.attempt)).toEqual([3, 2, 1]);
    await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
  });

  it("dead-letters a permanent 4xx without emitting a dead_letter.created event for it", async () => {
    const refusing = await subscribe(ctx.admin, "/gone", { eventTypes: ["ticket.created"] });
    const ops = await subscribe(ctx.admin, "/ops", { eventTypes: ["dead_letter.created"] });
    receiver.answer("/gone", [410]);
    const ticket = await openTicket(globex.client);
    await ctx.drain();
    expect(receiver.at("/gone")).toHaveLength(1);
    const dead = await ctx.database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.kind, "event.deliver"), eq(jobs.status, "dead")));
    expect(dead).toHaveLength(1);
    expect(dead[0]!.deadReason).toContain("permanent_error");
    // The provider's delivery failed on a Globex event; its dead letter is still the provider's alone.
    const asProvider = await ctx.admin.get("/v1/dead-letters");
    expect(asProvider.body.items.map((d: { id: number }) => d.id)).toContain(dead[0]!.id);
    const asTenant = await globex.client.get("/v1/dead-letters");
    expect(asTenant.body.items).toEqual([]);
    const [letter] = await queryRows<{ sequence: number }>(
      ctx.database.db,
      sql`select sequence from ledger_entries where kind = 'sync.dead_lettered' and detail->>'job' = 'event.deliver'`,
    );
    expect(letter).toBeDefined();
    const fanouts = await queryRows<{ count: number }>(
      ctx.database.db,
      sql`select count(*)::int as count from jobs where kind = 'event.fanout'
          and payload->'sequences' @> ${JSON.stringify([Number(letter!.sequence)])}::jsonb`,
    );
    expect(fanouts[0]!.count).toBe(0);
    expect(receiver.at("/ops")).toEqual([]);
    expect(ticket.id).toMatch(/^tkt_/);

    // Any other job's dead letter is an event.
    const [entry] = await append([
      {
        tenantId: globex.id,
        connectionId: null,
        direction: "outbound",
        kind: "sync.dead_lettered",
        actor: { type: "system", id: "outbox" },
        side: "provider",
        detail: { job: "ticket.update", jobId: 42, connector: "servicenow", reason: "permanent_error" },
      },
    ]);
    await ctx.drain();
    expect(verifiedAt("/ops", ops.secret)).toMatchObject([
      {
        id: `evt_${entry!.sequence}`,
        type: "dead_letter.created",
        data: { job: "ticket.update", jobId: 42, reason: "permanent_error", tenant: { id: globex.id } },
      },
    ]);
    for (const sub of [refusing, ops]) await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
  });

  it("fires one sla.breached event per breach, found by the timers under a controlled clock", async () => {
    const sub = await subscribe(ctx.admin, "/sla", { eventTypes: ["sla.breached"], tenantId: acme.id });
    const ticket = await openTicket(acme.client, { priority: "P1", title: "Core switch down" });
    const later = new Date(Date.now() + 3 * 24 * 3_600_000);
    const timers = () =>
      runSlaTimers(ctx.database.db, {
        catalog: ctx.deps.catalog,
        now: () => later,
        workerId: "test-timers",
        leaseMs: 30_000,
        batchSize: 100,
      });
    await timers();
    await ctx.drain();
    await timers();
    await ctx.drain();
    const breaches = await ctx.database.db
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.ticketId, ticket.id), eq(ledgerEntries.kind, "sla.breached")));
    expect(breaches.length).toBeGreaterThan(0);
    const events = verifiedAt("/sla", sub.secret).filter((e) => e.data["ticket"]?.id === ticket.id);
    expect(events.map((e) => e.id).sort()).toEqual(breaches.map((b) => `evt_${b.sequence}`).sort());
    const first = breaches[0]!;
    const event = events.find((e) => e.id === `evt_${first.sequence}`)!;
    expect(event).toMatchObject({
      type: "sla.breached",
      data: {
        tenant: { id: acme.id, name: "Acme" },
        ticket: { id: ticket.id, title: "Core switch down", priority: "P1" },
        clock: first.detail["clock"],
        dueAt: first.detail["dueAt"],
      },
    });
    await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
  });

  it("re-sends an event from the ledger under the same webhook-id, and sends test events", async () => {
    const sub = await subscribe(ctx.admin, "/resend", { eventTypes: ["sla.met"] });
    const ticket = await openTicket(acme.client);
    const [entry] = await append([
      {
        tenantId: acme.id,
        ticketId: ticket.id,
        direction: "internal",
        kind: "sla.met",
        actor: system,
        side: "provider",
        detail: {
          clock: "response",
          cycle: 1,
          reason: "acknowledged",
          metAt: "2026-11-23T09:05:00Z",
          late: false,
        },
      },
    ]);
    await ctx.drain();
    const resend = await ctx.admin.post(`/v1/events/evt_${entry!.sequence}/resend`, {
      subscriptionId: sub.id,
    });
    expect(resend.status, resend.text).toBe(202);
    expect(resend.body).toEqual({ eventId: `evt_${entry!.sequence}`, deliveries: 1 });
    // A tenant cannot re-send the provider's copy, nor events of another tenant.
    expect((await globex.client.post(`/v1/events/evt_${entry!.sequence}/resend`)).status).toBe(404);
    expect((await ctx.admin.post("/v1/events/evt_999999999/resend")).status).toBe(404);
    const test = await ctx.admin.post(`/v1/event-subscriptions/${sub.id}/test`);
    expect(test.status, test.text).toBe(202);
    await ctx.drain();
    const events = verifiedAt("/resend", sub.secret);
    expect(events.map((e) => [e.id, e.type])).toEqual([
      [`evt_${entry!.sequence}`, "sla.met"],
      [`evt_${entry!.sequence}`, "sla.met"],
      [test.body.eventId, "test"],
    ]);
    expect(events[1]!.data).toEqual(events[0]!.data);
    await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
  });

  it("sends tenants public comments only, and the provider every comment", async () => {
    const tenantSub = await subscribe(acme.client, "/acme-comments", { eventTypes: ["comment.created"] });
    const providerSub = await subscribe(ctx.admin, "/all-comments", { eventTypes: ["comment.created"] });
    const ticket = await openTicket(acme.client);
    const internal = await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Carrier says the fibre is cut",
      visibility: "internal",
    });
    expect(internal.status, internal.text).toBe(201);
    const visible = await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "We are on it",
      visibility: "public",
    });
    expect(visible.status, visible.text).toBe(201);
    await ctx.drain();
    const forTenant = verifiedAt("/acme-comments", tenantSub.secret);
    expect(forTenant.map((e) => e.data["commentId"])).toEqual([visible.body.id]);
    expect(JSON.stringify(forTenant)).not.toContain("fibre");
    const forProvider = verifiedAt("/all-comments", providerSub.secret).filter(
      (e) => e.data["ticket"]?.id === ticket.id,
    );
    expect(forProvider.map((e) => [e.data["commentId"], e.data["visibility"]])).toEqual([
      [internal.body.id, "internal"],
      [visible.body.id, "public"],
    ]);
    await acme.client.delete(`/v1/event-subscriptions/${tenantSub.id}`);
    await ctx.admin.delete(`/v1/event-subscriptions/${providerSub.id}`);
  });

  it("maps the health, warning, update-due and delegation kinds, keeping carrier internals from tenants", async () => {
    const types = [
      "connection.health_changed",
      "sla.at_risk",
      "sla.update_due",
      "delegation.status_changed",
      "carrier.ola_breached",
    ];
    const providerSub = await subscribe(ctx.admin, "/mapped", { eventTypes: types });
    const tenantSub = await subscribe(acme.client, "/acme-mapped", { eventTypes: types });
    const ticket = await openTicket(acme.client, { title: "Leased line flapping" });
    const base = { tenantId: acme.id, ticketId: ticket.id, actor: system, side: "provider" as const };
    const entries = await append([
      {
        tenantId: acme.id,
        connectionId: "con_01JD3Q0W6F7V8Y9Z0A1B2C3D4E",
        direction: "internal",
        kind: "connection.health_changed",
        actor: system,
        side: "provider",
        detail: {
          connectionId: "con_01JD3Q0W6F7V8Y9Z0A1B2C3D4E",
          from: "healthy",
          to: "failing",
          reason: "5 failures",
        },
      },
      {
        ...base,
        direction: "internal",
        kind: "sla.warning",
        detail: {
          clock: "resolution",
          cycle: 1,
          ratio: 0.5,
          dueAt: "2026-11-23T13:00:00Z",
          businessSeconds: 7200,
        },
      },
      {
        ...base,
        direction: "internal",
        kind: "sla.update_due",
        detail: { clock: "update", cycle: 2, dueAt: "2026-11-23T10:00:00Z" },
      },
      {
        ...base,
        connectionId: "con_01JD3Q0W6F7V8Y9Z0A1B2C3D4F",
        direction: "inbound",
        kind: "carrier.status_changed",
        side: "carrier",
        detail: {
          delegationId: "dlg_x",
          from: "open",
          to: "in_progress",
          carrierStatus: "WIP-7",
          businessSeconds: 60,
        },
      },
      {
        ...base,
        direction: "inbound",
        kind: "carrier.ola_breached",
        side: "carrier",
        detail: { delegationId: "dlg_x", target: "acknowledge", businessSeconds: 900, targetSeconds: 600 },
      },
    ]);
    await ctx.drain();
    const ids = entries.map((e) => `evt_${e.sequence}`);
    const forProvider = verifiedAt("/mapped", providerSub.secret);
    expect(forProvider.map((e) => [e.id, e.type])).toEqual([
      [ids[0], "connection.health_changed"],
      [ids[1], "sla.at_risk"],
      [ids[2], "sla.update_due"],
      [ids[3], "delegation.status_changed"],
      [ids[4], "carrier.ola_breached"],
    ]);
    expect(forProvider[0]!.data).toMatchObject({ from: "healthy", to: "failing", reason: "5 failures" });
    expect(forProvider[1]!.data).toMatchObject({
      ratio: 0.5,
      dueAt: "2026-11-23T13:00:00Z",
      clock: "resolution",
    });
    expect(forProvider[2]!.data).toMatchObject({ clock: "update", dueAt: "2026-11-23T10:00:00Z" });
    expect(forProvider[3]!.data).toMatchObject({ from: "open", to: "in_progress", carrierStatus: "WIP-7" });
    const forTenant = verifiedAt("/acme-mapped", tenantSub.secret);
    expect(forTenant.map((e) => e.type)).toEqual([
      "connection.health_changed",
      "sla.at_risk",
      "sla.update_due",
      "delegation.status_changed",
    ]);
    expect(forTenant[3]!.data).toEqual({
      tenant: { id: acme.id, name: "Acme" },
      ticket: expect.objectContaining({ id: ticket.id }),
      delegationId: "dlg_x",
      from: "open",
      to: "in_progress",
    });
    await ctx.admin.delete(`/v1/event-subscriptions/${providerSub.id}`);
    await acme.client.delete(`/v1/event-subscriptions/${tenantSub.id}`);
  });

  it("posts Slack incoming-webhook messages, unsigned", async () => {
    const sub = await subscribe(ctx.admin, "/services/T000/B000/XXXX", {
      eventTypes: ["sla.breached"],
      format: "slack",
    });
    const read = await ctx.admin.get(`/v1/event-subscriptions/${sub.id}`);
    expect(read.body.url).toBe(`${receiver.url}/…`);
    const ticket = await openTicket(acme.client, { title: "VPN down", priority: "P1" });
    await append([breachEntry(ticket)]);
    await ctx.drain();
    const [message] = receiver.at("/services/T000/B000/XXXX") as [Received];
    expect(message.headers["webhook-signature"]).toBeUndefined();
    const body = JSON.parse(message.body) as { text: string; blocks: { type: string }[] };
    expect(body.text).toContain("SLA breached");
    expect(body.text).toContain("VPN down");
    expect(body.text).toContain("resolution clock");
    expect(body.blocks.map((b) => b.type)).toEqual(["section", "section", "context"]);
    await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
  });
});

describe("retention", () => {
  it("prunes delivery attempts older than JOB_RETENTION_DAYS and keeps recent ones", async () => {
    const sub = await subscribe(ctx.admin, "/retention", { eventTypes: ["sla.met"] });
    const attempt = (attemptedAt: Date) => ({
      subscriptionId: sub.id,
      eventId: "evt_1",
      eventType: "sla.met",
      jobId: 1,
      attempt: 1,
      outcome: "delivered" as const,
      httpStatus: 200,
      latencyMs: 5,
      attemptedAt,
    });
    const now = new Date();
    const retention = ctx.deps.config.sync.retention;
    await ctx.database.db
      .insert(eventDeliveries)
      .values([attempt(new Date(now.getTime() - retention.jobsMs - 60_000)), attempt(now)]);
    const pruned = await pruneFinished(ctx.database.db, retention, now);
    expect(pruned.eventDeliveries).toBe(1);
    const log = await ctx.admin.get(`/v1/event-subscriptions/${sub.id}/deliveries`);
    expect(log.body.items.map((d: { attemptedAt: string }) => d.attemptedAt)).toEqual([now.toISOString()]);
    await ctx.admin.delete(`/v1/event-subscriptions/${sub.id}`);
  });
});

describe("the ledger hand-off", () => {
  it("queues a fan-out only when an enabled subscription could take one of the events", async () => {
    const db = ctx.database.db;
    const initech = await createTenant(ctx, { name: "Initech" });
    const fanoutsOfNewEvent = async () => {
      const [entry] = await append([
        {
          tenantId: initech.id,
          direction: "internal",
          kind: "ticket.created",
          actor: system,
          side: "client",
          detail: { priority: "P2", status: "new" },
        },
      ]);
      const [row] = await queryRows<{ count: number }>(
        db,
        sql`select count(*)::int as count from jobs where kind = 'event.fanout'
            and payload->'sequences' @> ${JSON.stringify([entry!.sequence])}::jsonb`,
      );
      return row!.count;
    };
    // The provider's subscriptions of earlier tests would take Initech's events: off for this test.
    const enabled = await queryRows<{ id: string }>(
      db,
      sql`select id from event_subscriptions where enabled`,
    );
    await db.execute(sql`update event_subscriptions set enabled = false`);
    const made: { api: Api; id: string }[] = [];
    const subscribed = async (api: Api, path: string, eventTypes: string[]) => {
      const sub = await subscribe(api, path, { eventTypes });
      made.push({ api, id: sub.id });
      return sub;
    };
    try {
      expect(await fanoutsOfNewEvent(), "no subscription").toBe(0);
      await subscribed(initech.client, "/initech-status", ["ticket.status_changed"]);
      expect(await fanoutsOfNewEvent(), "another event type").toBe(0);
      await subscribed(globex.client, "/globex-created", ["ticket.created"]);
      expect(await fanoutsOfNewEvent(), "another tenant's").toBe(0);
      const own = await subscribed(initech.client, "/initech-created", [
        "ticket.status_changed",
        "ticket.created",
      ]);
      expect(await fanoutsOfNewEvent(), "the tenant's own").toBe(1);
      expect(
        (await initech.client.patch(`/v1/event-subscriptions/${own.id}`, { enabled: false })).status,
      ).toBe(200);
      expect(await fanoutsOfNewEvent(), "disabled").toBe(0);
      await subscribed(ctx.admin, "/every-tenant-created", ["ticket.created"]);
      expect(await fanoutsOfNewEvent(), "the provider's, for every tenant").toBe(1);
    } finally {
      for (const { api, id } of made) await api.delete(`/v1/event-subscriptions/${id}`);
      for (const { id } of enabled)
        await db.execute(sql`update event_subscriptions set enabled = true where id = ${id}`);
    }
  });

  it("queues no fan-out for kinds that are not events", async () => {
    const before = await queryRows<{ count: number }>(
      ctx.database.db,
      sql`select count(*)::int as count from jobs where kind = 'event.fanout'`,
    );
    await append([
      { tenantId: acme.id, direction: "internal", kind: "tenant.updated", actor: system, side: "provider" },
      { tenantId: null, direction: "internal", kind: "sync.polled", actor: system, side: "provider" },
    ]);
    const after = await queryRows<{ count: number }>(
      ctx.database.db,
      sql`select count(*)::int as count from jobs where kind = 'event.fanout'`,
    );
    expect(after[0]!.count).toBe(before[0]!.count);
  });
});
