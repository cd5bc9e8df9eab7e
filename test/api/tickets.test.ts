import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

let ctx: TestContext;
let acme: Awaited<ReturnType<typeof createTenant>>;
let globex: Awaited<ReturnType<typeof createTenant>>;

beforeAll(async () => {
  ctx = await createTestApp();
  acme = await createTenant(ctx, { name: "Acme" });
  globex = await createTenant(ctx, { name: "Globex" });
});
afterAll(async () => ctx?.close());

describe("POST /v1/tickets", () => {
  it("opens a ticket in the tenant's own tenant with status new, version 1 and an ETag", async () => {
    const res = await acme.client.post("/v1/tickets", {
      title: "VPN tunnel flapping",
      priority: "P1",
      description: "since 09:00",
      requester: { name: "Ada", email: "ada@acme.example" },
      category: "network",
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      tenantId: acme.id,
      status: "new",
      priority: "P1",
      version: 1,
      acknowledgedAt: null,
      requester: { name: "Ada", email: "ada@acme.example" },
    });
    expect(res.body.id).toMatch(/^tkt_/);
    expect(res.headers.get("etag")).toBe('"1"');
  });

  it("requires tenantId with provider credentials and checks it exists", async () => {
    const missing = await ctx.admin.post("/v1/tickets", { title: "x", priority: "P3" });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].path).toBe("tenantId");
    expect(
      (await ctx.admin.post("/v1/tickets", { tenantId: "ten_nope", title: "x", priority: "P3" })).status,
    ).toBe(404);
    const ok = await ctx.admin.post("/v1/tickets", { tenantId: globex.id, title: "x", priority: "P3" });
    expect(ok.status).toBe(201);
    expect(ok.body.tenantId).toBe(globex.id);
  });

  it("does not let a tenant key open a ticket in another tenant", async () => {
    const res = await acme.client.post("/v1/tickets", { tenantId: globex.id, title: "x", priority: "P3" });
    expect(res.status).toBe(404);
  });

  it.each([
    [{ priority: "P2" }, "title"],
    [{ title: "x" }, "priority"],
    [{ title: "x", priority: "P9" }, "priority"],
    [{ title: "x", priority: "P1", requester: { email: "a@b.c" } }, "requester.name"],
    [{ title: "x", priority: "P1", requester: { name: "A", email: "nope" } }, "requester.email"],
    [{ title: "x", priority: "P1", severity: "high" }, "severity"],
  ])("rejects %j naming %s", async (body, path) => {
    const res = await acme.client.post("/v1/tickets", body);
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});

describe("GET and PATCH /v1/tickets/:id", () => {
  it("reads with a strong ETag and honours If-Match", async () => {
    const ticket = await openTicket(acme.client);
    const read = await acme.client.get(`/v1/tickets/${ticket.id}`);
    expect(read.headers.get("etag")).toBe('"1"');
    const ok = await acme.client.patch(
      `/v1/tickets/${ticket.id}`,
      { title: "New title" },
      { "if-match": '"1"' },
    );
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.version).toBe(2);
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await acme.client.patch(
      `/v1/tickets/${ticket.id}`,
      { title: "Again" },
      { "if-match": '"1"' },
    );
    expect(stale.status).toBe(412);
    expect(stale.headers.get("content-type")).toContain("application/problem+json");
    const noPrecondition = await acme.client.patch(`/v1/tickets/${ticket.id}`, { title: "Again" });
    expect(noPrecondition.body.version).toBe(3);
  });

  it("bumps the version on every change and not on a no-op", async () => {
    const ticket = await openTicket(acme.client, { priority: "P3" });
    const same = await acme.client.patch(`/v1/tickets/${ticket.id}`, { priority: "P3" });
    expect(same.body.version).toBe(1);
    const changed = await acme.client.patch(`/v1/tickets/${ticket.id}`, {
      priority: "P1",
      description: "worse",
    });
    expect(changed.body).toMatchObject({ priority: "P1", description: "worse", version: 2 });
  });

  it("lets a tenant edit title, description and priority but not provider fields", async () => {
    const ticket = await openTicket(acme.client);
    for (const body of [{ assigneeGroup: "NOC" }, { category: "x" }, { affectedService: "y" }]) {
      const res = await acme.client.patch(`/v1/tickets/${ticket.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(403);
    }
    const provider = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { assigneeGroup: "NOC" });
    expect(provider.body.assigneeGroup).toBe("NOC");
  });

  it("records acknowledgement, resolution and closing times", async () => {
    const ticket = await openTicket(acme.client);
    const ack = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "acknowledged" });
    expect(ack.body.acknowledgedAt).not.toBeNull();
    const resolved = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "resolved" });
    expect(resolved.body.resolvedAt).not.toBeNull();
    const reopened = await acme.client.patch(`/v1/tickets/${ticket.id}`, { status: "in_progress" });
    expect(reopened.status, reopened.text).toBe(200);
    expect(reopened.body.resolvedAt).toBeNull();
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "resolved" });
    const closed = await acme.client.patch(`/v1/tickets/${ticket.id}`, { status: "closed" });
    expect(closed.body.closedAt).not.toBeNull();
  });

  it("answers 409 problem for an illegal transition", async () => {
    const ticket = await openTicket(acme.client);
    const res = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "closed" });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: "/problems/invalid-transition", from: "new", to: "closed" });
  });
});

describe("GET /v1/tickets", () => {
  it("filters by status, priority, tenant and updatedSince, and pages with a cursor", async () => {
    const tenant = await createTenant(ctx);
    const before = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await openTicket(tenant.client, { priority: i < 2 ? "P1" : "P4" })).id);
    await ctx.admin.patch(`/v1/tickets/${ids[0]}`, { status: "in_progress" });

    const p1 = await tenant.client.get("/v1/tickets?priority=P1");
    expect(p1.body.items.map((t: { id: string }) => t.id)).toEqual(ids.slice(0, 2));
    const inProgress = await tenant.client.get("/v1/tickets?status=in_progress");
    expect(inProgress.body.items.map((t: { id: string }) => t.id)).toEqual([ids[0]]);
    const byTenant = await ctx.admin.get(`/v1/tickets?tenantId=${tenant.id}&limit=200`);
    expect(byTenant.body.items).toHaveLength(5);
    const since = await tenant.client.get(`/v1/tickets?updatedSince=${encodeURIComponent(before)}`);
    expect(since.body.items).toHaveLength(5);
    const future = await tenant.client.get(`/v1/tickets?updatedSince=2999-01-01T00:00:00Z`);
    expect(future.body.items).toHaveLength(0);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const pageRes: { body: { items: { id: string }[]; nextCursor: string | null } } =
        await tenant.client.get(`/v1/tickets?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...pageRes.body.items.map((t) => t.id));
      cursor = pageRes.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it("rejects a bad cursor, limit or filter with a 400 naming the parameter", async () => {
    for (const [query, path] of [
      ["cursor=garbage", "cursor"],
      ["limit=0", "limit"],
      ["limit=500", "limit"],
      ["status=open", "status"],
      ["updatedSince=yesterday", "updatedSince"],
    ]) {
      const res = await acme.client.get(`/v1/tickets?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.errors[0].path).toBe(path);
    }
  });
});

describe("comments", () => {
  it("defaults to internal, bumps the ticket version and hides provider notes from tenants", async () => {
    const ticket = await openTicket(acme.client);
    const internal = await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, { body: "check the carrier" });
    expect(internal.status, internal.text).toBe(201);
    expect(internal.body).toMatchObject({
      visibility: "internal",
      side: "provider",
      author: { type: "admin" },
    });
    expect(internal.headers.get("etag")).toBe('"2"');
    const pub = await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "We are on it",
      visibility: "public",
    });
    expect(pub.body.visibility).toBe("public");
    const clientNote = await acme.client.post(`/v1/tickets/${ticket.id}/comments`, { body: "our own note" });
    expect(clientNote.body).toMatchObject({ side: "client", visibility: "internal" });

    const asTenant = await acme.client.get(`/v1/tickets/${ticket.id}/comments`);
    expect(asTenant.body.items.map((c: { body: string }) => c.body)).toEqual([
      "We are on it",
      "our own note",
    ]);
    const asProvider = await ctx.admin.get(`/v1/tickets/${ticket.id}/comments`);
    expect(asProvider.body.items).toHaveLength(3);
    expect((await acme.client.get(`/v1/tickets/${ticket.id}`)).body.version).toBe(4);
  });

  it("rejects an empty body and unknown visibility", async () => {
    const ticket = await openTicket(acme.client);
    expect((await acme.client.post(`/v1/tickets/${ticket.id}/comments`, { body: "" })).status).toBe(400);
    const bad = await acme.client.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "x",
      visibility: "secret",
    });
    expect(bad.body.errors[0].path).toBe("visibility");
  });
});

describe("tenant isolation on every ticket route", () => {
  it("answers 404 for another tenant's ticket and never lists it", async () => {
    const ticket = await openTicket(globex.client);
    await globex.client.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "globex only",
      visibility: "public",
    });
    const routes = [
      () => acme.client.get(`/v1/tickets/${ticket.id}`),
      () => acme.client.patch(`/v1/tickets/${ticket.id}`, { title: "hijack" }),
      () => acme.client.patch(`/v1/tickets/${ticket.id}`, { status: "cancelled" }),
      () => acme.client.post(`/v1/tickets/${ticket.id}/comments`, { body: "hi" }),
      () => acme.client.get(`/v1/tickets/${ticket.id}/comments`),
      () => acme.client.get(`/v1/tickets/${ticket.id}/ledger`),
    ];
    for (const call of routes) {
      const res = await call();
      expect(res.status, res.text).toBe(404);
      expect(res.text).not.toContain("globex only");
    }
    const list = await acme.client.get("/v1/tickets?limit=200");
    expect(list.body.items.some((t: { id: string }) => t.id === ticket.id)).toBe(false);
    const filtered = await acme.client.get(`/v1/tickets?tenantId=${globex.id}`);
    expect(filtered.body.items).toHaveLength(0);
    const ledger = await acme.client.get(`/v1/ledger?ticketId=${ticket.id}`);
    expect(ledger.body.items).toHaveLength(0);
    expect((await acme.client.get(`/v1/ledger?tenantId=${globex.id}`)).status).toBe(404);
    const exported = await acme.client.get(`/v1/ledger/export?ticketId=${ticket.id}`);
    expect(exported.text).toBe("");
    expect((await globex.client.get(`/v1/tickets/${ticket.id}`)).body.title).toBe("Router down");
  });
});
