import { createHash } from "node:crypto";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createGuardedFetch,
  OutboundBlockedError,
  type OutboundTicket,
  PermanentHttpError,
  TransientHttpError,
} from "../../sdk/index.js";
import { AttachmentTooLargeError, createZendeskClient, type ZendeskClientOptions } from "../client.js";
import { ZendeskSettings } from "../config.js";
import { zendeskMappingContext } from "../mapping.js";
import {
  fixture,
  fixtureCommentAuthorId,
  fixtureCommentId,
  fixtureTicket,
  fixtureTicketId,
  fixtureUpdatedAt,
} from "./fixtures/index.js";
import {
  accountUrl,
  apiUrl,
  closedRefusal,
  createdTicketId,
  linkedCanonicalId,
  type SeenRequest,
  see,
  updateConflict,
  updateResponse,
  zendeskError,
  zendeskHandlers,
} from "./handlers.js";
import { expectValidRequests } from "./spec.js";

const seen: SeenRequest[] = [];
/** Every request of the file, for the contract check in afterAll. */
const allSeen: SeenRequest[] = [];
const server = setupServer(...zendeskHandlers(seen));

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  allSeen.push(...seen);
  seen.length = 0;
});
afterAll(() => {
  server.close();
  expectValidRequests(
    allSeen.map((request) => ({ method: request.method, path: request.url.pathname, body: request.body })),
  );
});

const baseSettings = {
  baseUrl: accountUrl,
  auth: { type: "basic", username: "sync@acme.example/token", password: "api-token-secret" },
  integrationUserId: 235323,
} as const;

function client(
  overrides: Record<string, unknown> = {},
  options: ZendeskClientOptions & { now?: () => Date } = {},
) {
  const settings = ZendeskSettings.parse({ ...baseSettings, ...overrides });
  return createZendeskClient(
    settings,
    {
      mapping: zendeskMappingContext(settings),
      timeoutMs: 2_000,
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 2_000 },
      ...(options.now ? { now: options.now } : {}),
    },
    options,
  );
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0Q",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since 09:00",
  priority: "P3",
  status: "new",
  requester: null,
  category: null,
  affectedService: null,
};

const methods = () => seen.map((request) => `${request.method} ${request.url.pathname}`);
const bodies = (method: string) =>
  seen.filter((request) => request.method === method).map((request) => request.body);

/** Answers GET /tickets/35436 with these tickets in turn (the last one repeats). */
function readsInTurn(...tickets: Record<string, unknown>[]) {
  let read = 0;
  server.use(
    http.get(apiUrl("/tickets/:ticketId"), async ({ request }) => {
      await see(seen, request);
      const answer = tickets[Math.min(read++, tickets.length - 1)]!;
      return HttpResponse.json({ ticket: fixtureTicket(answer) });
    }),
  );
}

describe("createTicket (create-or-link)", () => {
  it("links a ticket already carrying our external_id instead of POSTing", async () => {
    const ref = await client().createTicket({ ...ticket, canonicalId: linkedCanonicalId });
    expect(ref).toEqual({
      externalId: String(fixtureTicketId),
      externalKey: `#${fixtureTicketId}`,
      url: `${accountUrl}/agent/tickets/${fixtureTicketId}`,
      updatedAt: fixtureUpdatedAt,
      action: "linked",
    });
    expect(methods(), JSON.stringify(methods())).toEqual(["GET /api/v2/tickets"]);
    expect(seen[0]?.url.searchParams.get("external_id")).toBe(linkedCanonicalId);
    expect(seen[0]?.authorization).toBe(
      `Basic ${Buffer.from("sync@acme.example/token:api-token-secret").toString("base64")}`,
    );
  });

  it("POSTs the mapped ticket with our id as external_id when none carries it", async () => {
    const ref = await client({ brandId: 360001 }).createTicket({
      ...ticket,
      requester: { name: "Dana Ops", email: "dana@example.com" },
    });
    expect(ref).toMatchObject({ externalId: String(createdTicketId), action: "created" });
    expect(methods()).toEqual(["GET /api/v2/tickets", "POST /api/v2/tickets"]);
    expect(bodies("POST")[0], JSON.stringify(bodies("POST"))).toEqual({
      ticket: {
        subject: ticket.title,
        comment: { body: ticket.description, public: true },
        priority: "normal",
        external_id: ticket.canonicalId,
        brand_id: 360001,
        requester: { name: "Dana Ops", email: "dana@example.com" },
      },
    });
  });

  it("links what an ambiguous failed POST created instead of posting again", async () => {
    let landed = false;
    server.use(
      http.get(apiUrl("/tickets"), async ({ request }) => {
        await see(seen, request);
        const tickets = landed ? [fixtureTicket({ external_id: ticket.canonicalId })] : [];
        return HttpResponse.json({ tickets });
      }),
      http.post(apiUrl("/tickets"), async ({ request }) => {
        await see(seen, request);
        landed = true;
        return zendeskError(500, { error: "InternalServerError" });
      }),
    );
    const ref = await client().createTicket(ticket);
    expect(ref).toMatchObject({ externalId: String(fixtureTicketId), action: "linked" });
    expect(bodies("POST"), JSON.stringify(methods())).toHaveLength(1);
  });

  it("continues on a follow-up when our id is only on a closed ticket", async () => {
    server.use(
      http.get(apiUrl("/tickets"), async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json({
          tickets: [fixtureTicket({ external_id: ticket.canonicalId, status: "closed" })],
        });
      }),
    );
    const ref = await client().createTicket({ ...ticket, status: "in_progress" });
    expect(ref).toMatchObject({ externalId: String(createdTicketId), action: "created" });
    expect(bodies("POST")[0]).toMatchObject({
      ticket: { via_followup_source_id: fixtureTicketId, external_id: ticket.canonicalId, status: "open" },
    });
  });
});

describe("updateTicket (safe_update)", () => {
  it("PUTs only what differs, with safe_update and the updated_stamp it read", async () => {
    readsInTurn({ assignee_id: null });
    await client().updateTicket(String(fixtureTicketId), {
      title: "Help, my printer is on fire!",
      priority: "P1",
      status: "resolved",
    });
    expect(methods()).toEqual([
      `GET /api/v2/tickets/${fixtureTicketId}`,
      `PUT /api/v2/tickets/${fixtureTicketId}`,
    ]);
    expect(bodies("PUT")[0], JSON.stringify(bodies("PUT"))).toEqual({
      ticket: {
        priority: "urgent",
        status: "solved",
        // Solving needs an assignee; the ticket had none.
        assignee_id: 235323,
        safe_update: true,
        updated_stamp: fixtureUpdatedAt,
      },
    });
  });

  it("writes our canonical id as external_id when asked to (the engine's link job)", async () => {
    await client().updateTicket(String(fixtureTicketId), { correlationId: ticket.canonicalId });
    expect(bodies("PUT")[0]).toMatchObject({ ticket: { external_id: ticket.canonicalId } });
  });

  it("on a 409 re-reads, merges onto the fresh ticket and retries", async () => {
    // An agent set the priority to urgent and changed the ticket between our read and our write.
    readsInTurn({}, { priority: "urgent", updated_at: "2011-05-05T10:39:30Z" });
    let puts = 0;
    server.use(
      http.put(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        await see(seen, request);
        const body = await request.json();
        if (puts++ === 0) return zendeskError(409, updateConflict);
        return HttpResponse.json(updateResponse(body));
      }),
    );
    const ref = await client().updateTicket(String(fixtureTicketId), {
      priority: "P1",
      status: "pending_customer",
    });
    expect(ref.action).toBe("updated");
    expect(bodies("PUT"), JSON.stringify(bodies("PUT"))).toEqual([
      {
        ticket: { priority: "urgent", status: "pending", safe_update: true, updated_stamp: fixtureUpdatedAt },
      },
      // Priority already holds our value: only the status is re-applied, on the new stamp.
      { ticket: { status: "pending", safe_update: true, updated_stamp: "2011-05-05T10:39:30Z" } },
    ]);
  });

  it("gives up after a bounded number of conflicts with a retryable error", async () => {
    server.use(
      http.put(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        await see(seen, request);
        return zendeskError(409, updateConflict);
      }),
    );
    const error = await client({}, { maxConflictRetries: 2 })
      .updateTicket(String(fixtureTicketId), { status: "pending_customer" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientHttpError);
    expect(error).toMatchObject({ status: 409, retryable: true, maybeProcessed: false });
    expect(bodies("PUT")).toHaveLength(3);
  });

  it("creates a follow-up when reopening a closed twin, and returns it as created", async () => {
    readsInTurn({ status: "closed", external_id: ticket.canonicalId });
    const ref = await client().updateTicket(String(fixtureTicketId), {
      status: "in_progress",
      priority: "P2",
    });
    expect(ref).toMatchObject({ externalId: String(createdTicketId), action: "created" });
    expect(methods()).toEqual([
      `GET /api/v2/tickets/${fixtureTicketId}`,
      "GET /api/v2/tickets",
      "POST /api/v2/tickets",
    ]);
    expect(bodies("POST")[0], JSON.stringify(bodies("POST"))).toEqual({
      ticket: {
        via_followup_source_id: fixtureTicketId,
        external_id: ticket.canonicalId,
        subject: "Help, my printer is on fire!",
        comment: {
          body: `Reopened by the service provider as a follow-up of #${fixtureTicketId}.`,
          public: false,
        },
        priority: "high",
        status: "open",
        requester_id: 20978392,
      },
    });
  });

  it("re-links to the follow-up an earlier attempt created instead of creating another", async () => {
    readsInTurn({ status: "closed", external_id: ticket.canonicalId });
    server.use(
      http.get(apiUrl("/tickets"), async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json({
          tickets: [
            fixtureTicket({ status: "closed", external_id: ticket.canonicalId }),
            fixtureTicket({ id: 35500, status: "open", external_id: ticket.canonicalId }),
          ],
        });
      }),
    );
    const ref = await client().updateTicket(String(fixtureTicketId), { status: "in_progress" });
    expect(ref).toMatchObject({ externalId: "35500", action: "created" });
    expect(bodies("POST")).toEqual([]);
  });

  it("on a closed twin writes only subject and priority when nothing reopens it", async () => {
    readsInTurn({ status: "closed" });
    await client().updateTicket(String(fixtureTicketId), {
      title: "Printer fixed",
      status: "closed",
      category: "x",
    });
    expect(bodies("PUT")).toEqual([
      { ticket: { subject: "Printer fixed", safe_update: true, updated_stamp: fixtureUpdatedAt } },
    ]);
  });

  it("follows up when the ticket is closed between our read and our write (422)", async () => {
    readsInTurn({ external_id: ticket.canonicalId }, { status: "closed", external_id: ticket.canonicalId });
    server.use(
      http.put(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        await see(seen, request);
        return zendeskError(422, closedRefusal);
      }),
    );
    const ref = await client().updateTicket(String(fixtureTicketId), { status: "pending_customer" });
    expect(ref).toMatchObject({ externalId: String(createdTicketId), action: "created" });
    expect(methods().filter((method) => method.startsWith("PUT"))).toHaveLength(1);
    expect(bodies("POST")[0]).toMatchObject({
      ticket: { via_followup_source_id: fixtureTicketId, status: "pending" },
    });
  });

  it("does not write when nothing differs", async () => {
    const ref = await client().updateTicket(String(fixtureTicketId), {
      status: "in_progress",
      priority: "P2",
    });
    expect(ref.action).toBe("updated");
    expect(bodies("PUT")).toEqual([]);
  });
});

describe("addComment", () => {
  const since = new Date("2009-07-20T22:55:00Z");

  it("on a retry returns our comment already written and does not write again", async () => {
    const result = await client({ integrationUserId: fixtureCommentAuthorId }).addComment(
      String(fixtureTicketId),
      { canonicalId: "cmt_01", body: "Thanks for your help!", visibility: "public" },
      { attempt: 2, since },
    );
    expect(result).toEqual({ externalId: String(fixtureCommentId) });
    expect(methods(), JSON.stringify(methods())).toEqual([`GET /api/v2/tickets/${fixtureTicketId}/comments`]);
    expect(Object.fromEntries(seen[0]!.url.searchParams)).toEqual({
      "page[size]": "100",
      sort: "-created_at",
    });
  });

  it.each([
    ["another author", { integrationUserId: 999 }, "public"],
    ["other visibility", { integrationUserId: fixtureCommentAuthorId }, "internal"],
  ] as const)("on a retry writes when the matching body has %s", async (_case, overrides, visibility) => {
    await client(overrides).addComment(
      String(fixtureTicketId),
      { canonicalId: "cmt_01", body: "Thanks for your help!", visibility },
      { attempt: 2, since },
    );
    expect(bodies("PUT")).toHaveLength(1);
  });

  it("writes a public reply with explicit public and attribution, and returns the Comment event id", async () => {
    const result = await client().addComment(
      String(fixtureTicketId),
      { canonicalId: "cmt_02", body: "Engineer dispatched.", visibility: "public", authorName: "Dana Ops" },
      { attempt: 1, since: new Date() },
    );
    expect(methods()).toEqual([`PUT /api/v2/tickets/${fixtureTicketId}`]);
    expect(bodies("PUT")[0]).toEqual({
      ticket: { comment: { body: "On behalf of Dana Ops:\nEngineer dispatched.", public: true } },
    });
    expect(result).toEqual({ externalId: "206091192547" });
  });

  it.each([
    ["an internal comment", "internal", {}],
    [
      "a public comment on a publicCommentsAsInternal connection",
      "public",
      { publicCommentsAsInternal: true },
    ],
  ] as const)("never sends %s public", async (_case, visibility, overrides) => {
    await client(overrides).addComment(
      String(fixtureTicketId),
      { canonicalId: "cmt_03", body: "Check the licence pool", visibility, uploadTokens: ["tok_1"] },
      { attempt: 1, since: new Date() },
    );
    expect(bodies("PUT")[0]).toEqual({
      ticket: { comment: { body: "Check the licence pool", public: false, uploads: ["tok_1"] } },
    });
  });
});

describe("getTicket", () => {
  it("reads ticket, comments, requester and the last writer", async () => {
    const external = await client({ fieldMapping: { category: 27642 } }).getTicket(String(fixtureTicketId));
    expect(external).toMatchObject({
      externalId: String(fixtureTicketId),
      title: "Help, my printer is on fire!",
      description: "The fire is very colorful.",
      status: "open",
      canonicalStatus: "in_progress",
      priority: "high",
      canonicalPriority: "P2",
      correlationId: "ahg35h3jh",
      requester: { name: "Abel Tuter", email: "abel.tuter@example.com", phone: "+1 555 0100" },
      updatedAt: fixtureUpdatedAt,
      updatedBy: "235323",
      version: "1304553600",
      fields: { category: "745", affectedService: null },
    });
    expect(external.comments).toEqual([
      {
        externalId: String(fixtureCommentId),
        body: "Thanks for your help!",
        visibility: "public",
        author: String(fixtureCommentAuthorId),
        createdAt: "2009-07-20T22:55:29Z",
        attachments: [
          {
            externalId: "498483",
            fileName: "crash.log",
            contentType: "text/plain",
            sizeBytes: 2532,
            contentUrl: "https://company.zendesk.com/attachments/crash.log",
          },
        ],
      },
    ]);
    const audits = seen.find((request) => request.url.pathname.endsWith("/audits"));
    expect(Object.fromEntries(audits!.url.searchParams)).toEqual({ sort_order: "desc", per_page: "1" });
  });

  it("leaves updatedBy unknown when the newest audit is older than updated_at", async () => {
    server.use(
      http.get(apiUrl("/tickets/:ticketId/audits"), async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json({
          audits: [{ id: 1, author_id: 20978392, created_at: "2009-07-20T22:55:29Z", events: [] }],
        });
      }),
    );
    expect((await client().getTicket(String(fixtureTicketId))).updatedBy).toBeNull();
  });

  it("surfaces a missing ticket as a permanent 404", async () => {
    const error = await client()
      .getTicket("1")
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 404, retryable: false });
  });
});

describe("listChangedSince (incremental export)", () => {
  const now = new Date("2024-05-01T10:00:00Z");
  const nowSeconds = now.getTime() / 1000;

  it("starts from start_time, continues with after_cursor, and keeps the cursor once caught up", async () => {
    const pages: Record<string, unknown> = {
      "start_time=1714557000": {
        tickets: [
          { id: 1, updated_at: "2024-05-01T09:50:00Z" },
          { id: 2, updated_at: "2024-05-01T09:51:00Z" },
        ],
        after_cursor: "c1",
        end_of_stream: false,
      },
      "cursor=c1": {
        tickets: [{ id: 3, updated_at: "2024-05-01T09:52:00Z" }],
        after_cursor: "c2",
        end_of_stream: true,
      },
      "cursor=c2": { tickets: [], after_cursor: "c2", end_of_stream: true },
    };
    server.use(
      http.get(apiUrl("/incremental/tickets/cursor"), async ({ request }) => {
        await see(seen, request);
        const params = new URL(request.url).searchParams;
        const key = params.has("cursor")
          ? `cursor=${params.get("cursor")}`
          : `start_time=${params.get("start_time")}`;
        const page = pages[key];
        return page === undefined
          ? zendeskError(400, { error: "InvalidValue", description: key })
          : HttpResponse.json(page);
      }),
    );
    const zd = client({}, { now: () => now });
    const page1 = await zd.listChangedSince("2024-05-01T09:50:00Z", 2);
    expect(page1).toEqual({
      items: [
        { externalId: "1", updatedAt: "2024-05-01T09:50:00Z" },
        { externalId: "2", updatedAt: "2024-05-01T09:51:00Z" },
      ],
      nextCursor: "cursor:c1",
    });
    expect(seen[0]?.url.searchParams.get("per_page")).toBe("2");
    const page2 = await zd.listChangedSince(page1.nextCursor, 2);
    expect(page2).toEqual({
      items: [{ externalId: "3", updatedAt: "2024-05-01T09:52:00Z" }],
      nextCursor: "cursor:c2",
    });
    const page3 = await zd.listChangedSince(page2.nextCursor, 2);
    expect(page3).toEqual({ items: [], nextCursor: "cursor:c2" });
  });

  it("never asks for a start_time within the last minute", async () => {
    await client({}, { now: () => now }).listChangedSince("2024-05-01T09:59:30Z", 10);
    expect(seen[0]?.url.searchParams.get("start_time")).toBe(String(nowSeconds - 60));
  });

  it("reads the recorded export page and skips tickets of other brands", async () => {
    const all = await client().listChangedSince(null, 100);
    expect(seen[0]?.url.searchParams.get("start_time")).toBe("0");
    expect(all.items).toEqual([{ externalId: "35436", updatedAt: fixtureUpdatedAt }]);
    expect(all.nextCursor).toBe("cursor:MTU3NjYxMzUzOS4wfHw0Njd8");
    const branded = await client({ brandId: 1 }).listChangedSince(null, 100);
    expect(branded).toEqual({ items: [], nextCursor: "cursor:MTU3NjYxMzUzOS4wfHw0Njd8" });
  });
});

describe("rate limits", () => {
  /** A clock that only moves when the limiter sleeps, so waits are exact and instant. */
  function virtualTime() {
    let clockMs = Date.parse("2024-05-01T10:00:00Z");
    const waits: number[] = [];
    return {
      waits,
      now: () => new Date(clockMs),
      sleep: async (ms: number) => {
        waits.push(ms);
        clockMs += ms;
      },
    };
  }

  it("waits for the reset once the account budget is spent instead of meeting a 429", async () => {
    const time = virtualTime();
    let remaining = 2;
    server.use(
      http.get(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        await see(seen, request);
        remaining -= 1;
        return HttpResponse.json(fixture("ticket-response"), {
          headers: {
            "X-Rate-Limit": "700",
            "X-Rate-Limit-Remaining": String(remaining),
            "ratelimit-remaining": String(remaining),
            "ratelimit-reset": "7",
          },
        });
      }),
    );
    const zd = client({}, time);
    await zd.updateTicket(String(fixtureTicketId), {});
    expect(time.waits).toEqual([]);
    await zd.updateTicket(String(fixtureTicketId), {});
    expect(time.waits).toEqual([]);
    // The last response said 0 remaining with 7 s to reset: the third read waits 7 s.
    await zd.updateTicket(String(fixtureTicketId), {});
    expect(time.waits).toEqual([7_000]);
  });

  it("honours an endpoint budget only for that endpoint", async () => {
    const time = virtualTime();
    server.use(
      http.get(apiUrl("/tickets"), async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json(
          { tickets: [] },
          { headers: { "Zendesk-RateLimit-Tickets-Index": "total=100; remaining=0; resets=41" } },
        );
      }),
    );
    const zd = client({}, time);
    await zd.createTicket(ticket);
    expect(time.waits).toEqual([]);
    await zd.getTicket(String(fixtureTicketId));
    expect(time.waits).toEqual([]);
    await zd.createTicket(ticket);
    expect(time.waits).toEqual([41_000]);
  });

  it("keeps the incremental export to 10 requests a minute", async () => {
    const time = virtualTime();
    const zd = client({}, time);
    for (let call = 0; call < 11; call++) await zd.listChangedSince("cursor:x", 10);
    expect(time.waits).toEqual([60_000]);
    expect(seen).toHaveLength(11);
  });

  it("retries a 503 and then succeeds", async () => {
    let failures = 1;
    server.use(
      http.get(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        if (failures-- > 0) {
          await see(seen, request);
          return new HttpResponse("<html>Service Unavailable</html>", { status: 503 });
        }
        return undefined;
      }),
    );
    const external = await client().getTicket(String(fixtureTicketId));
    expect(external.externalId).toBe(String(fixtureTicketId));
    expect(methods().filter((method) => method === `GET /api/v2/tickets/${fixtureTicketId}`)).toHaveLength(2);
  });

  it("waits at least Retry-After after a 429", async () => {
    const attemptsAt: number[] = [];
    server.use(
      http.put(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length === 1) {
          await see(seen, request);
          return new HttpResponse("Too Many Requests", { status: 429, headers: { "Retry-After": "1" } });
        }
        return undefined;
      }),
    );
    const ref = await client().updateTicket(String(fixtureTicketId), { priority: "P1" });
    expect(ref.action).toBe("updated");
    expect(attemptsAt).toHaveLength(2);
    expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(990);
  });

  it("does not retry a 400 and reports the vendor's body without credentials", async () => {
    server.use(
      http.put(apiUrl("/tickets/:ticketId"), async ({ request }) => {
        await see(seen, request);
        return zendeskError(400, { error: "InvalidValue", description: "priority: extreme is not valid" });
      }),
    );
    const error = await client()
      .updateTicket(String(fixtureTicketId), { priority: "P1" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 400, attempts: 1, retryable: false });
    expect((error as PermanentHttpError).responseBody).toContain("priority: extreme is not valid");
    expect(JSON.stringify(error) + String(error)).not.toContain("api-token-secret");
    expect(methods().filter((method) => method.startsWith("PUT"))).toHaveLength(1);
  });
});

describe("attachments", () => {
  const content = new TextEncoder().encode("line 1\nline 2\n".repeat(4_000));
  const sha256 = createHash("sha256").update(content).digest("hex");

  function chunks(bytes: Uint8Array, size = 8_192): AsyncIterable<Uint8Array> {
    return {
      async *[Symbol.asyncIterator]() {
        for (let offset = 0; offset < bytes.byteLength; offset += size)
          yield bytes.slice(offset, offset + size);
      },
    };
  }

  it("streams an upload to POST /api/v2/uploads and records size and sha256", async () => {
    let received: Uint8Array | null = null;
    server.use(
      http.post(apiUrl("/uploads"), async ({ request }) => {
        await see(seen, request);
        received = new Uint8Array(await request.arrayBuffer());
        return HttpResponse.json(fixture("upload-response"), { status: 201 });
      }),
    );
    const uploaded = await client().uploadAttachment(chunks(content), {
      fileName: "crash.log",
      contentType: "text/plain",
    });
    expect(uploaded).toEqual({
      token: "LXJdriewLBP8JrtzzkN7Ne4k6",
      attachment: expect.objectContaining({ externalId: "1503729607981", fileName: "crash.png" }),
      sizeBytes: content.byteLength,
      sha256,
    });
    expect(received).toEqual(content);
    expect(seen[0]?.url.searchParams.get("filename")).toBe("crash.log");
    expect(seen[0]?.contentType).toBe("text/plain");
  });

  it("stops an upload over the size cap", async () => {
    server.use(
      http.post(apiUrl("/uploads"), async ({ request }) => {
        // The client aborts the body mid-stream; the handler sees a failed read, as a server would.
        await request.arrayBuffer().catch(() => null);
        return HttpResponse.json(fixture("upload-response"), { status: 201 });
      }),
    );
    const error = await client()
      .uploadAttachment(chunks(content), {
        fileName: "crash.log",
        contentType: "text/plain",
        sizeLimit: 10_000,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AttachmentTooLargeError);
    expect(error).toMatchObject({ retryable: false });
  });

  it("downloads with credentials only from the account's own origin, hashed and capped", async () => {
    const authorizations: (string | null)[] = [];
    server.use(
      http.get(`${accountUrl}/attachments/token/abc/`, ({ request }) => {
        authorizations.push(request.headers.get("authorization"));
        return new HttpResponse(content, { headers: { "content-type": "text/plain" } });
      }),
      http.get("https://files.zdusercontent.example/abc", ({ request }) => {
        authorizations.push(request.headers.get("authorization"));
        return new HttpResponse(content, { headers: { "content-type": "text/plain" } });
      }),
    );
    const zd = client();
    for (const contentUrl of [
      `${accountUrl}/attachments/token/abc/?name=a.log`,
      "https://files.zdusercontent.example/abc",
    ]) {
      const download = await zd.downloadAttachment({ contentUrl, sizeBytes: null });
      const read = new Uint8Array(await new Response(download.stream).arrayBuffer());
      expect(read.byteLength).toBe(content.byteLength);
      expect(await download.completed).toEqual({ sizeBytes: content.byteLength, sha256 });
    }
    expect(authorizations[0]).toMatch(/^Basic /);
    expect(authorizations[1]).toBeNull();
    await expect(
      zd.downloadAttachment({ contentUrl: `${accountUrl}/attachments/token/abc/`, sizeBytes: 1_000_000_000 }),
    ).rejects.toBeInstanceOf(AttachmentTooLargeError);
    const capped = await zd.downloadAttachment(
      { contentUrl: `${accountUrl}/attachments/token/abc/`, sizeBytes: null },
      { sizeLimit: 100 },
    );
    await expect(new Response(capped.stream).arrayBuffer()).rejects.toThrow();
    await expect(capped.completed).rejects.toBeInstanceOf(AttachmentTooLargeError);
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "https://[::ffff:a9fe:a9fe]/abc",
    "https://10.0.0.8/abc?token=s3cret",
    "https://0x7f.1/abc",
  ])("refuses a content_url at an internal address (%s) through the guarded fetch", async (contentUrl) => {
    // content_url comes from the vendor's response, so it is hostile input like any tenant URL.
    const settings = ZendeskSettings.parse(baseSettings);
    const zd = createZendeskClient(settings, {
      mapping: zendeskMappingContext(settings),
      fetch: createGuardedFetch({}),
      timeoutMs: 2_000,
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 2_000 },
    });
    const error = await zd
      .downloadAttachment({ contentUrl, sizeBytes: null })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundBlockedError);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).not.toContain("s3cret");
  });
});

describe("testConnection", () => {
  it("is ok for the configured admin user", async () => {
    expect(await client().testConnection()).toMatchObject({ ok: true });
  });

  it("flags an integrationUserId that is not the signed-in user", async () => {
    const result = await client({ integrationUserId: 42 }).testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("integrationUserId is 42");
  });

  it("reports bad credentials without throwing", async () => {
    server.use(
      http.get(apiUrl("/users/me"), () => zendeskError(401, { error: "Couldn't authenticate you" })),
    );
    const result = await client().testConnection();
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toContain("401");
  });
});
