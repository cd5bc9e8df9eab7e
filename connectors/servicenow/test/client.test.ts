import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type OutboundTicket, PermanentHttpError, type ServicedeskClient } from "../../sdk/index.js";
import { createServiceNowClient } from "../client.js";
import { ServiceNowSettings } from "../config.js";
import { createFixtureSysId, fixture, getFixtureSysId, linkedCanonicalId } from "./fixtures/index.js";
import {
  incidentTableUrl,
  instanceUrl,
  journalTableUrl,
  type SeenRequest,
  see,
  serviceNowError,
  serviceNowHandlers,
} from "./handlers.js";
import { testMappingContext } from "./priority-stub.js";

const seen: SeenRequest[] = [];
const server = setupServer(...serviceNowHandlers(seen));

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
});
afterAll(() => server.close());

const baseSettings = {
  baseUrl: instanceUrl,
  auth: { type: "basic", username: "svc.ticketsync", password: "secret-password" },
  assignmentGroup: "287ebd7da9fe198100f92cc8d1d2154e",
} as const;

function client(overrides: Record<string, unknown> = {}): ServicedeskClient {
  return createServiceNowClient(ServiceNowSettings.parse({ ...baseSettings, ...overrides }), {
    mapping: testMappingContext,
    timeoutMs: 2_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 2_000 },
  });
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0Q",
  title: "Unable to connect to office wifi",
  description: null,
  priority: "P3",
  status: "new",
  requester: null,
  category: null,
  affectedService: null,
};

const methods = () => seen.map((request) => `${request.method} ${request.url.pathname}`);

describe("createTicket (create-or-link)", () => {
  it("links a record already carrying our correlation_id instead of POSTing", async () => {
    const ref = await client().createTicket({ ...ticket, canonicalId: linkedCanonicalId });
    expect(ref).toEqual({
      externalId: createFixtureSysId,
      externalKey: "INC0010002",
      url: `${instanceUrl}/incident.do?sys_id=${createFixtureSysId}`,
      updatedAt: "2016-01-22T14:28:24Z",
      action: "linked",
    });
    expect(methods(), JSON.stringify(methods())).toEqual(["GET /api/now/table/incident"]);
    expect(seen[0]?.query).toBe(`correlation_id=${linkedCanonicalId}^ORDERBYsys_created_on`);
    expect(seen[0]?.authorization).toBe(
      `Basic ${Buffer.from("svc.ticketsync:secret-password").toString("base64")}`,
    );
  });

  it("POSTs the mapped incident when no record carries the id", async () => {
    const ref = await client().createTicket(ticket);
    expect(ref.action).toBe("created");
    expect(methods()).toEqual(["GET /api/now/table/incident", "POST /api/now/table/incident"]);
    expect(seen[1]?.body, JSON.stringify(seen[1]?.body)).toEqual({
      ...fixture("incident-create-request"),
      description: "",
      correlation_id: ticket.canonicalId,
      correlation_display: "ticket-sync-gateway",
    });
  });

  it("links what an ambiguous failed POST created instead of throwing", async () => {
    let landed = false;
    server.use(
      http.get(incidentTableUrl, async ({ request }) => {
        await see(seen, request);
        if (!landed) return HttpResponse.json(fixture("incident-list-empty-response"));
        return HttpResponse.json(fixture("incident-list-by-correlation-response"));
      }),
      http.post(incidentTableUrl, async ({ request }) => {
        await see(seen, request);
        landed = true;
        return serviceNowError(500, "Internal server error");
      }),
    );
    const ref = await client().createTicket(ticket);
    expect(ref.action).toBe("linked");
    expect(
      methods().filter((method) => method.startsWith("POST")),
      JSON.stringify(methods()),
    ).toHaveLength(1);
  });
});

describe("retries", () => {
  it("retries a 503 and then succeeds", async () => {
    let failures = 1;
    server.use(
      http.get(`${incidentTableUrl}/:sysId`, async ({ request }) => {
        if (failures-- > 0) {
          await see(seen, request);
          return new HttpResponse("<html>Service Unavailable</html>", { status: 503 });
        }
        return undefined;
      }),
    );
    const external = await client().getTicket(getFixtureSysId);
    expect(external.externalKey).toBe("INC0000046");
    expect(
      methods().filter((method) => method === `GET /api/now/table/incident/${getFixtureSysId}`),
    ).toHaveLength(2);
  });

  it("waits at least Retry-After after a 429", async () => {
    const attemptsAt: number[] = [];
    server.use(
      http.patch(`${incidentTableUrl}/:sysId`, async ({ request }) => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length === 1) {
          await see(seen, request);
          return HttpResponse.json(fixture("ratelimit-429-response"), {
            status: 429,
            headers: { "Retry-After": "1" },
          });
        }
        return undefined;
      }),
    );
    const ref = await client().updateTicket(getFixtureSysId, { priority: "P1" });
    expect(ref.action).toBe("updated");
    expect(attemptsAt).toHaveLength(2);
    expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(990);
  });

  it("does not retry a 400 and reports the vendor's body", async () => {
    server.use(
      http.patch(`${incidentTableUrl}/:sysId`, async ({ request }) => {
        await see(seen, request);
        return serviceNowError(400, "Invalid value", "impact: 7 is not a valid choice");
      }),
    );
    const error = await client()
      .updateTicket(getFixtureSysId, { priority: "P1" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 400, attempts: 1, retryable: false });
    expect((error as PermanentHttpError).responseBody).toContain("impact: 7 is not a valid choice");
    expect(String(error)).not.toContain("secret-password");
    expect(methods()).toEqual([`PATCH /api/now/table/incident/${getFixtureSysId}`]);
  });
});

describe("updateTicket", () => {
  it("PATCHes only the mapped changes, with resolution fields on resolve", async () => {
    await client().updateTicket(getFixtureSysId, {
      status: "resolved",
      resolutionNote: "Replaced the access point",
    });
    expect(seen[0]?.body).toEqual({
      state: "6",
      hold_reason: "",
      close_code: "Solution provided",
      close_notes: "Replaced the access point",
    });
  });
});

describe("getTicket", () => {
  it("reads the record, its journal and its caller", async () => {
    const external = await client().getTicket(getFixtureSysId);
    expect(external).toMatchObject({
      externalKey: "INC0000046",
      canonicalStatus: "new",
      canonicalPriority: "P3",
      requester: { name: "Abel Tuter", email: "abel.tuter@example.com", phone: "+1 555 0100" },
      updatedAt: "2015-11-01T22:37:27Z",
    });
    expect(external.comments).toHaveLength(3);
    const journalQuery = seen.find((request) => request.url.href.startsWith(journalTableUrl))?.query;
    expect(journalQuery).toBe(
      `element_id=${getFixtureSysId}^elementINcomments,work_notes^ORDERBYsys_created_on`,
    );
  });

  it("surfaces a missing record as a permanent 404", async () => {
    const error = await client()
      .getTicket("0123456789abcdef0123456789abcdef")
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 404, retryable: false });
  });
});

describe("addComment", () => {
  const ownComment = {
    canonicalId: "cmt_01",
    body: "We are looking into the SFA licence server.",
    visibility: "public",
    authorName: "Dana Ops",
  } as const;

  it("on a retry returns the journal entry already written and does not write again", async () => {
    const result = await client().addComment(getFixtureSysId, ownComment, {
      attempt: 2,
      since: new Date("2015-11-01T22:37:20Z"),
    });
    expect(result).toEqual({ externalId: "2a7d5e0b1b0a2010a8f5ed3bdc4bcb03" });
    expect(methods(), JSON.stringify(methods())).toEqual(["GET /api/now/table/sys_journal_field"]);
    expect(seen[0]?.query).toBe(
      `element_id=${getFixtureSysId}^element=comments^sys_created_on>=2015-11-01 22:36:50^ORDERBYsys_created_on`,
    );
  });

  it("on a retry writes when the earlier attempt left nothing", async () => {
    await client().addComment(
      getFixtureSysId,
      { ...ownComment, body: "Licence server restarted." },
      { attempt: 2, since: new Date("2015-11-01T22:37:20Z") },
    );
    const patches = seen.filter((request) => request.method === "PATCH");
    expect(patches.map((request) => request.body)).toEqual([
      { comments: "[Dana Ops] Licence server restarted." },
    ]);
  });

  it("does not match an identical body written by someone else", async () => {
    await client({ integrationUser: "someone.else" }).addComment(getFixtureSysId, ownComment, {
      attempt: 2,
      since: new Date("2015-11-01T22:37:20Z"),
    });
    expect(seen.filter((request) => request.method === "PATCH")).toHaveLength(1);
  });

  it("on the first attempt writes without reading first, as a work note when internal", async () => {
    await client().addComment(
      getFixtureSysId,
      { canonicalId: "cmt_02", body: "Check licence pool", visibility: "internal" },
      { attempt: 1, since: new Date() },
    );
    expect(methods()[0]).toBe(`PATCH /api/now/table/incident/${getFixtureSysId}`);
    expect(seen[0]?.body).toEqual({ work_notes: "Check licence pool" });
  });
});

describe("listChangedSince", () => {
  const ids = {
    a: "0000000000000000000000000000000a",
    b: "0000000000000000000000000000000b",
    c: "0000000000000000000000000000000c",
    d: "0000000000000000000000000000000d",
  };

  function answerWith(pages: Record<string, { sys_id: string; sys_updated_on: string }[]>) {
    server.use(
      http.get(incidentTableUrl, async ({ request }) => {
        await see(seen, request);
        const params = new URL(request.url).searchParams;
        const result = pages[params.get("sysparm_query") ?? ""];
        if (result === undefined)
          return serviceNowError(400, `unexpected query ${params.get("sysparm_query")}`);
        return HttpResponse.json({ result });
      }),
    );
  }

  it("re-reads the boundary second so a same-second update is not lost", async () => {
    const first = [
      { sys_id: ids.a, sys_updated_on: "2024-05-01 10:00:00" },
      { sys_id: ids.b, sys_updated_on: "2024-05-01 10:00:05" },
      { sys_id: ids.c, sys_updated_on: "2024-05-01 10:00:05" },
    ];
    // d was updated in 10:00:05 too, after the first poll read that second.
    const second = [first[1]!, first[2]!, { sys_id: ids.d, sys_updated_on: "2024-05-01 10:00:05" }];
    answerWith({
      "sys_updated_on>=2024-05-01 10:00:00^ORDERBYsys_updated_on^ORDERBYsys_id": first,
      "sys_updated_on>=2024-05-01 10:00:05^ORDERBYsys_updated_on^ORDERBYsys_id": second,
    });
    const sn = client();
    const page1 = await sn.listChangedSince("2024-05-01T10:00:00Z", 3);
    expect(page1.nextCursor).toBe("2024-05-01T10:00:05Z");
    const page2 = await sn.listChangedSince(page1.nextCursor, 10);
    const seenKeys = new Set(page1.items.map((item) => `${item.externalId}@${item.updatedAt}`));
    const fresh = page2.items.filter((item) => !seenKeys.has(`${item.externalId}@${item.updatedAt}`));
    expect(fresh).toEqual([{ externalId: ids.d, updatedAt: "2024-05-01T10:00:05Z" }]);
    expect(seen[0]?.url.searchParams.get("sysparm_limit")).toBe("3");
    expect(seen[0]?.url.searchParams.get("sysparm_fields")).toBe("sys_id,sys_updated_on");
  });

  it("walks a second holding more updates than a page by sys_id", async () => {
    const crowded = [
      { sys_id: ids.a, sys_updated_on: "2024-05-01 10:00:00" },
      { sys_id: ids.b, sys_updated_on: "2024-05-01 10:00:00" },
    ];
    answerWith({
      "sys_updated_on>=2024-05-01 10:00:00^ORDERBYsys_updated_on^ORDERBYsys_id": crowded,
      [`sys_updated_on=2024-05-01 10:00:00^sys_id>${ids.b}^ORDERBYsys_id`]: [
        { sys_id: ids.c, sys_updated_on: "2024-05-01 10:00:00" },
      ],
      "sys_updated_on>2024-05-01 10:00:00^ORDERBYsys_updated_on^ORDERBYsys_id": [
        { sys_id: ids.d, sys_updated_on: "2024-05-01 10:00:09" },
      ],
    });
    const sn = client();
    const page1 = await sn.listChangedSince("2024-05-01T10:00:00Z", 2);
    expect(page1.nextCursor).toBe(`2024-05-01T10:00:00Z|${ids.b}`);
    const page2 = await sn.listChangedSince(page1.nextCursor, 2);
    expect(page2.items.map((item) => item.externalId)).toEqual([ids.c, ids.d]);
    expect(page2.nextCursor).toBe("2024-05-01T10:00:09Z");
  });

  it("keeps paging past a page that ACLs emptied", async () => {
    server.use(
      http.get(incidentTableUrl, async ({ request }) => {
        await see(seen, request);
        const offset = new URL(request.url).searchParams.get("sysparm_offset");
        if (offset === "0") {
          return HttpResponse.json(
            { result: [] },
            { headers: { Link: `<${incidentTableUrl}?sysparm_offset=2&sysparm_limit=2>;rel="next"` } },
          );
        }
        return HttpResponse.json({ result: [{ sys_id: ids.c, sys_updated_on: "2024-05-01 10:01:00" }] });
      }),
    );
    const page = await client().listChangedSince("2024-05-01T10:00:00Z", 2);
    expect(page.items).toEqual([{ externalId: ids.c, updatedAt: "2024-05-01T10:01:00Z" }]);
    expect(seen.map((request) => request.url.searchParams.get("sysparm_offset"))).toEqual(["0", "2"]);
  });

  it("ANDs the connection's inbound query and starts from the beginning on a null cursor", async () => {
    answerWith({
      "assignment_group=287ebd7da9fe198100f92cc8d1d2154e^ORDERBYsys_updated_on^ORDERBYsys_id": [],
    });
    const page = await client({
      inboundQuery: "assignment_group=287ebd7da9fe198100f92cc8d1d2154e",
    }).listChangedSince(null, 5);
    expect(page).toEqual({ items: [], nextCursor: "1970-01-01T00:00:00Z" });
  });
});

describe("testConnection", () => {
  it("is ok when the table and the journal are readable", async () => {
    expect(await client().testConnection()).toMatchObject({ ok: true });
  });

  it("reports bad credentials without throwing", async () => {
    server.use(
      http.get(incidentTableUrl, () =>
        serviceNowError(401, "User Not Authenticated", "Required to provide Auth information"),
      ),
    );
    const result = await client().testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("401");
  });
});
