import { createHash } from "node:crypto";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { OutboundTicket } from "../../sdk/index.js";
import { InvalidResponseError, PermanentHttpError, TransientHttpError } from "../../sdk/index.js";
import { createJsmClient, type JsmClient, TransitionNotAvailableError } from "../client.js";
import { JsmSettings } from "../config.js";
import { jsmMappingContext } from "../mapping.js";
import { AttachmentTooLargeError } from "../transport.js";
import { fixture, integrationAccountId, linkedCanonicalId } from "./fixtures/index.js";
import {
  api,
  jiraError,
  jsmHandlers,
  type SeenRequest,
  searchHit,
  see,
  serviceDeskApi,
  siteUrl,
} from "./handlers.js";

const seen: SeenRequest[] = [];
const server = setupServer(...jsmHandlers(seen));

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
});
afterAll(() => server.close());

const baseSettings = {
  baseUrl: siteUrl,
  auth: { type: "basic", username: "svc.ticketsync@example.com", password: "secret-api-token" },
  serviceDeskId: "1",
  requestTypeId: "10",
  projectKey: "HELP",
  correlationFieldId: "customfield_10050",
  integrationAccountId,
} as const;

function client(overrides: Record<string, unknown> = {}, now?: () => Date): JsmClient {
  const settings = JsmSettings.parse({ ...baseSettings, ...overrides });
  return createJsmClient(settings, {
    mapping: jsmMappingContext(settings),
    timeoutMs: 2_000,
    retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 2_000 },
    ...(now === undefined ? {} : { now }),
  });
}

const ticket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0Q",
  title: "Unable to connect to office wifi",
  description: "Floor 3, since **09:00**",
  priority: "P2",
  status: "new",
  requester: null,
  category: null,
  affectedService: null,
};

const calls = () => seen.map((request) => `${request.method} ${request.url.pathname}`);
const show = (value: unknown) => JSON.stringify(value, null, 1);

describe("createTicket: create-or-link through JQL", () => {
  it("links an issue already carrying our id and does not POST", async () => {
    const ref = await client().createTicket({ ...ticket, canonicalId: linkedCanonicalId });
    expect(ref).toEqual({
      externalId: "10001",
      externalKey: "HELP-1",
      url: `${siteUrl}/browse/HELP-1`,
      updatedAt: "2024-05-01T02:30:05.123Z",
      action: "linked",
    });
    expect(calls(), show(calls())).toEqual(["POST /rest/api/3/search/jql"]);
    expect(seen[0]?.body).toEqual({
      jql: `cf[10050] ~ "\\"${linkedCanonicalId}\\"" ORDER BY created ASC`,
      fields: ["customfield_10050", "updated", "status"],
      maxResults: 10,
    });
    expect(seen[0]?.headers.get("authorization")).toBe(
      `Basic ${Buffer.from("svc.ticketsync@example.com:secret-api-token").toString("base64")}`,
    );
  });

  it("does not link a text match whose value is not exactly ours", async () => {
    server.use(
      http.post(`${api}/search/jql`, async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json({
          issues: [searchHit("10009", "HELP-9", `${ticket.canonicalId}-old`)],
          isLast: true,
        });
      }),
    );
    const ref = await client().createTicket(ticket);
    expect(ref.action).toBe("created");
    expect(calls()).toContain("POST /rest/servicedeskapi/request");
  });

  it("creates a customer request, then sets correlation id, priority and the exact description", async () => {
    const ref = await client().createTicket(ticket);
    expect(ref).toMatchObject({ externalId: "107001", externalKey: "HELP-1", action: "created" });
    expect(calls(), show(calls())).toEqual([
      "POST /rest/api/3/search/jql",
      "POST /rest/servicedeskapi/request",
      "PUT /rest/api/3/issue/107001",
      "GET /rest/api/3/issue/107001",
    ]);
    expect(seen[1]?.body, show(seen[1]?.body)).toEqual({
      serviceDeskId: "1",
      requestTypeId: "10",
      requestFieldValues: { summary: ticket.title, description: "Floor 3, since *09:00*" },
    });
    expect(seen[2]?.body, show(seen[2]?.body)).toEqual({
      fields: {
        customfield_10050: ticket.canonicalId,
        priority: { name: "High" },
        description: {
          type: "doc",
          version: 1,
          content: [
            {
              type: "paragraph",
              content: [
                { type: "text", text: "Floor 3, since " },
                { type: "text", text: "09:00", marks: [{ type: "strong" }] },
              ],
            },
          ],
        },
      },
    });
  });

  it("creates an issue with the correlation field in the create, and transitions when not new", async () => {
    const ref = await client({ createAs: "issue", issueTypeName: "Task" }).createTicket({
      ...ticket,
      status: "pending_customer",
    });
    expect(ref).toMatchObject({ externalId: "10000", externalKey: "HELP-1", action: "created" });
    const create = seen.find((request) => request.url.pathname === "/rest/api/3/issue");
    expect(create?.body).toMatchObject({
      fields: {
        project: { key: "HELP" },
        issuetype: { name: "Task" },
        customfield_10050: ticket.canonicalId,
      },
    });
    // The fixture issue already waits for the customer, so no transition is posted.
    expect(calls().filter((call) => call.startsWith("POST") && call.endsWith("/transitions"))).toEqual([]);
  });

  it("links a request whose create failed ambiguously instead of creating it twice", async () => {
    let posted = 0;
    server.use(
      http.post(`${serviceDeskApi}/request`, async ({ request }) => {
        await see(seen, request);
        posted++;
        return jiraError(502, ["Bad gateway"]);
      }),
      http.post(`${api}/search/jql`, async ({ request }) => {
        await see(seen, request);
        const { jql } = (await request.json()) as { jql: string };
        if (!jql.includes("creator = currentUser()")) return HttpResponse.json({ issues: [], isLast: true });
        return HttpResponse.json({
          issues: [
            {
              id: "10077",
              key: "HELP-77",
              fields: { summary: "Someone else's request", updated: "2024-05-01T02:00:00.000+0000" },
            },
            {
              id: "10078",
              key: "HELP-78",
              fields: { summary: ticket.title, updated: "2024-05-01T02:00:00.000+0000" },
            },
          ],
          isLast: true,
        });
      }),
    );
    const ref = await client().createTicket(ticket);
    expect(ref).toMatchObject({ externalId: "10078", action: "linked" });
    expect(posted).toBe(1);
    const orphanSearch = seen.find((request) => show(request.body).includes("currentUser"));
    expect((orphanSearch!.body as { jql: string }).jql).toBe(
      'project = "HELP" AND creator = currentUser() AND created >= "-15m" AND cf[10050] is EMPTY ORDER BY created DESC',
    );
    expect(seen.find((request) => request.method === "PUT")?.url.pathname).toBe("/rest/api/3/issue/10078");
  });

  it("finishes a created request on retry when setting its correlation id failed", async () => {
    server.use(
      http.put(
        `${api}/issue/:issueIdOrKey`,
        async ({ request }) => {
          await see(seen, request);
          return jiraError(400, [], { customfield_10050: "Field 'customfield_10050' cannot be set." });
        },
        { once: true },
      ),
    );
    const jsm = client();
    await expect(jsm.createTicket(ticket)).rejects.toBeInstanceOf(PermanentHttpError);
    const ref = await jsm.createTicket(ticket);
    expect(ref).toMatchObject({ externalId: "107001", action: "created" });
    expect(
      calls().filter((call) => call === "POST /rest/servicedeskapi/request"),
      show(calls()),
    ).toHaveLength(1);
  });
});

describe("updateTicket: status through transitions looked up by target status", () => {
  it("posts the transition leading to the target, with the resolution its screen requires", async () => {
    await client().updateTicket("10001", { status: "resolved" });
    expect(calls(), show(calls())).toEqual([
      "GET /rest/api/3/issue/10001",
      "GET /rest/api/3/issue/10001/transitions",
      "POST /rest/api/3/issue/10001/transitions",
      "GET /rest/api/3/issue/10001",
    ]);
    expect(seen[1]?.url.searchParams.get("expand")).toBe("transitions.fields");
    expect(seen[2]?.body).toEqual({ transition: { id: "51" }, fields: { resolution: { name: "Done" } } });
  });

  it("follows the connection's status names", async () => {
    await client({ mapping: { status: { outbound: { on_hold: "Waiting for support" } } } }).updateTicket(
      "10001",
      {
        status: "on_hold",
      },
    );
    expect(seen.find((request) => request.method === "POST")?.body).toEqual({ transition: { id: "31" } });
  });

  it("does nothing when the issue is already there", async () => {
    await client().updateTicket("10001", { status: "pending_customer" });
    expect(calls()).not.toContain("GET /rest/api/3/issue/10001/transitions");
  });

  it("refuses an unreachable status as permanent, without posting", async () => {
    const error = await client()
      .updateTicket("10001", { status: "closed" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransitionNotAvailableError);
    expect(error).toMatchObject({ retryable: false });
    expect(String(error)).toContain('no transition to "Closed"');
    expect(calls().filter((call) => call.startsWith("POST"))).toEqual([]);
  });

  it("adds the resolution note once, as a comment after the transition", async () => {
    await client().updateTicket("10001", { status: "resolved", resolutionNote: "Replaced the access point" });
    const comment = seen.find(
      (request) => request.url.pathname.endsWith("/comment") && request.method === "POST",
    );
    expect(comment?.body).toEqual({ body: "Replaced the access point", public: true });
  });

  it("writes changed fields with PUT and only those", async () => {
    await client().updateTicket("HELP-1", { title: "Renamed", priority: "P1", correlationId: "tkt_9" });
    expect(seen[0]).toMatchObject({ method: "PUT" });
    expect(seen[0]?.body).toEqual({
      fields: { summary: "Renamed", priority: { name: "Highest" }, customfield_10050: "tkt_9" },
    });
  });

  it("rejects an external id that is neither an id nor a key", async () => {
    await expect(client().updateTicket("../admin", { title: "x" })).rejects.toBeInstanceOf(TypeError);
    expect(seen).toEqual([]);
  });
});

describe("addComment: visibility through the servicedesk API", () => {
  const comment = { canonicalId: "cmt_1", body: "Engineer *dispatched*", visibility: "public" } as const;

  it.each([
    ["public", {}, true],
    ["internal", {}, false],
    ["public", { publicCommentsAsInternal: true }, false],
  ] as const)("sends a %s comment (settings %j) with public=%s", async (visibility, overrides, isPublic) => {
    const result = await client(overrides).addComment(
      "10001",
      { ...comment, visibility },
      { attempt: 1, since: new Date() },
    );
    expect(result).toEqual({ externalId: "1000" });
    expect(calls()).toEqual(["POST /rest/servicedeskapi/request/10001/comment"]);
    expect(seen[0]?.body).toEqual({ body: "Engineer \\*dispatched\\*", public: isPublic });
  });

  it("on a retry returns our identical comment written since the first attempt, without posting", async () => {
    const result = await client().addComment(
      "10001",
      {
        canonicalId: "cmt_2",
        body: "We are looking into the **supplier** service.",
        visibility: "public",
        authorName: "Dana Ops",
      },
      { attempt: 2, since: new Date("2024-05-01T02:19:30Z") },
    );
    expect(result).toEqual({ externalId: "10102" });
    expect(calls(), show(calls())).toEqual(["GET /rest/api/3/issue/10001/comment"]);
  });

  it.each([
    ["an internal copy when public is wanted", { visibility: "internal" }, "2024-05-01T02:19:30Z"],
    ["a comment written before the first attempt", {}, "2024-05-01T02:30:00Z"],
    ["a different body", { body: "Something else" }, "2024-05-01T02:19:30Z"],
  ] as const)("on a retry writes when it finds only %s", async (_case, change, since) => {
    await client().addComment(
      "10001",
      {
        canonicalId: "cmt_2",
        body: "We are looking into the **supplier** service.",
        visibility: "public",
        authorName: "Dana Ops",
        ...change,
      },
      { attempt: 2, since: new Date(since) },
    );
    expect(calls()).toContain("POST /rest/servicedeskapi/request/10001/comment");
  });

  it("does not take an identical comment by someone else for ours", async () => {
    await client({ integrationAccountId: "someone-else" }).addComment(
      "10001",
      {
        canonicalId: "cmt_2",
        body: "We are looking into the **supplier** service.",
        visibility: "public",
        authorName: "Dana Ops",
      },
      { attempt: 2, since: new Date("2024-05-01T02:19:30Z") },
    );
    expect(calls()).toContain("POST /rest/servicedeskapi/request/10001/comment");
  });
});

describe("getTicket", () => {
  it("reads the issue with the changelog and every page of comments", async () => {
    server.use(
      http.get(`${api}/issue/:issueIdOrKey/comment`, async ({ request }) => {
        await see(seen, request);
        const page = fixture<{ comments: unknown[] }>("comments-help-1");
        const startAt = Number(new URL(request.url).searchParams.get("startAt"));
        return HttpResponse.json({
          startAt,
          maxResults: 2,
          total: 3,
          comments: page.comments.slice(startAt, startAt + 2),
        });
      }),
    );
    const external = await client({
      fieldMapping: [{ fieldId: "customfield_10060", canonical: "category", type: "select" }],
    }).getTicket("10001");
    expect(external).toMatchObject({
      externalKey: "HELP-1",
      canonicalStatus: "pending_customer",
      mappedFields: { category: "Network" },
    });
    expect(external.comments.map((comment) => comment.externalId)).toEqual(["10100", "10101", "10102"]);
    const read = seen[0]!.url.searchParams;
    expect(read.get("fields")).toBe(
      "summary,description,status,priority,reporter,created,updated,attachment,customfield_10050,customfield_10060",
    );
    expect(read.get("expand")).toBe("changelog");
    expect(seen.slice(1).map((request) => request.url.searchParams.get("startAt"))).toEqual(["0", "2"]);
  });

  it("surfaces a missing issue as a permanent 404", async () => {
    server.use(
      http.get(`${api}/issue/:issueIdOrKey`, () =>
        jiraError(404, ["Issue does not exist or you do not have permission to see it."]),
      ),
    );
    await expect(client().getTicket("HELP-404")).rejects.toMatchObject({ status: 404, retryable: false });
  });
});

describe("listChangedSince: JQL on updated, paged with nextPageToken", () => {
  type Hit = { id: string; key: string; updated: string };
  function answer(pages: Hit[][]) {
    server.use(
      http.post(`${api}/search/jql`, async ({ request }) => {
        await see(seen, request);
        const { nextPageToken } = (await request.clone().json()) as { nextPageToken?: string };
        const index = nextPageToken === undefined ? 0 : Number(nextPageToken.replace("page-", ""));
        const issues = (pages[index] ?? []).map((hit) => ({
          id: hit.id,
          key: hit.key,
          fields: { updated: hit.updated },
        }));
        return HttpResponse.json(
          index + 1 < pages.length
            ? { issues, nextPageToken: `page-${index + 1}`, isLast: false }
            : { issues, isLast: true },
        );
      }),
    );
  }
  const searches = () => seen.filter((request) => request.url.pathname === "/rest/api/3/search/jql");
  const now = () => new Date("2024-05-01T12:00:00Z");

  it("bounds JQL a minute early in the user's zone, ANDs the inbound query, pages and drops what the cursor passed", async () => {
    answer([
      [
        { id: "1", key: "HELP-1", updated: "2024-05-01T10:59:30.000+0000" },
        { id: "2", key: "HELP-2", updated: "2024-05-01T11:00:05.000+0000" },
      ],
      [
        { id: "3", key: "HELP-3", updated: "2024-05-01T13:00:07.500+0200" },
        { id: "4", key: "HELP-4", updated: "2024-05-01T11:02:00.000+0000" },
      ],
    ]);
    const page = await client({ inboundQuery: '"Organizations" = Acme' }, now).listChangedSince(
      "2024-05-01T11:00:05Z",
      10,
    );
    expect(page, show(page)).toEqual({
      items: [
        { externalId: "2", updatedAt: "2024-05-01T11:00:05.000Z" },
        { externalId: "3", updatedAt: "2024-05-01T11:00:07.500Z" },
        { externalId: "4", updatedAt: "2024-05-01T11:02:00.000Z" },
      ],
      nextCursor: "2024-05-01T11:02:00.000Z",
    });
    // myself.json says Europe/Berlin (UTC+2 in May): 10:59 UTC is 12:59 there.
    expect(searches()[0]?.body).toEqual({
      jql: 'project = "HELP" AND ("Organizations" = Acme) AND updated >= "2024/05/01 12:59" ORDER BY updated ASC, key ASC',
      fields: ["updated"],
      maxResults: 50,
    });
    expect(searches()[1]?.body).toMatchObject({ nextPageToken: "page-1" });
    expect(calls().filter((call) => call === "GET /rest/api/3/myself")).toHaveLength(1);
  });

  it("uses jqlTimeZone without asking Jira, and starts unbounded by date from a null cursor", async () => {
    answer([[]]);
    const jsm = client({ jqlTimeZone: "Asia/Tokyo" }, now);
    expect(await jsm.listChangedSince(null, 5)).toEqual({
      items: [],
      nextCursor: "1970-01-01T00:00:00.000Z",
    });
    expect((searches()[0]!.body as { jql: string }).jql).toBe(
      'project = "HELP" ORDER BY updated ASC, key ASC',
    );
    await jsm.listChangedSince("2024-05-01T11:00:00Z", 5);
    expect((searches()[1]!.body as { jql: string }).jql).toContain('updated >= "2024/05/01 19:59"');
    expect(calls()).not.toContain("GET /rest/api/3/myself");
  });

  it("stops at the limit and holds the cursor a search-lag behind now", async () => {
    answer([
      [
        { id: "5", key: "HELP-5", updated: "2024-05-01T11:58:00.000+0000" },
        { id: "6", key: "HELP-6", updated: "2024-05-01T11:59:30.000+0000" },
        { id: "7", key: "HELP-7", updated: "2024-05-01T11:59:50.000+0000" },
      ],
    ]);
    const page = await client({ jqlTimeZone: "UTC" }, now).listChangedSince("2024-05-01T11:50:00Z", 2);
    expect(page.items.map((item) => item.externalId)).toEqual(["5", "6"]);
    // 11:59:30 is inside the last minute, which Jira's index may not show in full yet.
    expect(page.nextCursor).toBe("2024-05-01T11:59:00.000Z");
  });

  it("walks an instant holding more updates than a page by key", async () => {
    const crowded = [
      { id: "8", key: "HELP-8", updated: "2024-05-01T11:00:00.000+0000" },
      { id: "9", key: "HELP-9", updated: "2024-05-01T11:00:00.000+0000" },
      { id: "10", key: "HELP-10", updated: "2024-05-01T11:00:00.000+0000" },
    ];
    answer([crowded]);
    const jsm = client({ jqlTimeZone: "UTC" }, now);
    const first = await jsm.listChangedSince("2024-05-01T11:00:00Z", 2);
    expect(first).toEqual({
      items: [
        { externalId: "8", updatedAt: "2024-05-01T11:00:00.000Z" },
        { externalId: "9", updatedAt: "2024-05-01T11:00:00.000Z" },
      ],
      nextCursor: "2024-05-01T11:00:00.000Z|HELP-9",
    });
    const second = await jsm.listChangedSince(first.nextCursor, 2);
    expect(second.items.map((item) => item.externalId)).toEqual(["10"]);
  });

  it("refuses a malformed cursor", async () => {
    await expect(client().listChangedSince("yesterday", 5)).rejects.toBeInstanceOf(RangeError);
  });
});

describe("rate limits and errors", () => {
  it("waits at least Retry-After after a 429", async () => {
    const attemptsAt: number[] = [];
    server.use(
      http.put(`${api}/issue/:issueIdOrKey`, () => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length === 1) {
          return HttpResponse.json(
            { errorMessages: ["Rate limit exceeded."], errors: {} },
            { status: 429, headers: { "Retry-After": "1", "RateLimit-Reason": "jira-burst-based" } },
          );
        }
        return new HttpResponse(null, { status: 204 });
      }),
    );
    await client().updateTicket("10001", { title: "After the limit" });
    expect(attemptsAt).toHaveLength(2);
    expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(990);
  });

  it("pauses while X-RateLimit-Remaining is 0, until X-RateLimit-Reset", async () => {
    const clock = new Date("2024-05-01T12:00:00Z");
    server.use(
      http.get(`${api}/myself`, async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json(fixture("myself"), {
          headers: { "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2024-05-01T12:00:00.400Z" },
        });
      }),
    );
    const jsm = client({}, () => clock);
    const started = performance.now();
    const result = await jsm.testConnection();
    expect(result.ok, result.detail).toBe(true);
    // The field list waited for the reset; the request-type check after it did not wait again.
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("does not retry a 400 and keeps Jira's message, without credentials", async () => {
    server.use(
      http.put(`${api}/issue/:issueIdOrKey`, async ({ request }) => {
        await see(seen, request);
        return jiraError(400, [], { priority: "Specify a valid 'id' or 'name' for Priority" });
      }),
    );
    const error = await client()
      .updateTicket("10001", { priority: "P1" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentHttpError);
    expect(error).toMatchObject({ status: 400, attempts: 1, retryable: false });
    expect((error as PermanentHttpError).responseBody).toContain(
      "Specify a valid 'id' or 'name' for Priority",
    );
    expect(String(error)).not.toContain("secret-api-token");
    expect(calls()).toEqual(["PUT /rest/api/3/issue/10001"]);
  });

  it("refuses a 2xx body that is not what Jira documents as InvalidResponseError", async () => {
    server.use(
      http.get(`${api}/issue/:issueIdOrKey`, () =>
        HttpResponse.json({ id: "10001", key: "HELP-1", fields: {} }),
      ),
    );
    const error = await client()
      .getTicket("10001")
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(String(error)).toContain("fields.status");
  });

  it("retries 5xx on reads and gives up with a transient error", async () => {
    server.use(http.get(`${api}/issue/:issueIdOrKey`, () => jiraError(503, ["Service unavailable"])));
    const error = await client()
      .getTicket("10001")
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientHttpError);
    expect(error).toMatchObject({ attempts: 3, retryable: true });
  });
});

describe("OAuth 2.0 (3LO) through api.atlassian.com", () => {
  const cloudId = "11223344-a1b2-3b33-c444-def123456789";
  const gateway = `https://api.atlassian.com/ex/jira/${cloudId}`;
  const tokenUrl = "https://auth.atlassian.com/oauth/token";

  it("sends the bearer token to the cloud gateway and refreshes once on a 401", async () => {
    const grants: string[] = [];
    const tokens = ["access-1", "access-2"];
    const presented: (string | null)[] = [];
    server.use(
      http.post(tokenUrl, async ({ request }) => {
        const form = new URLSearchParams(await request.text());
        grants.push(`${form.get("grant_type")}:${form.get("refresh_token")}`);
        return HttpResponse.json({
          access_token: tokens.shift(),
          expires_in: 3600,
          refresh_token: "refresh-2",
          token_type: "Bearer",
        });
      }),
      http.get(`${gateway}/rest/api/3/issue/:issueIdOrKey`, ({ request }) => {
        presented.push(request.headers.get("authorization"));
        if (request.headers.get("authorization") === "Bearer access-1")
          return jiraError(401, ["Unauthorized"]);
        return HttpResponse.json(fixture("issue-get-help-1"));
      }),
      http.get(`${gateway}/rest/api/3/issue/:issueIdOrKey/comment`, () =>
        HttpResponse.json(fixture("comments-help-1")),
      ),
    );
    const external = await client({
      cloudId,
      auth: {
        type: "oauth2",
        tokenUrl,
        clientId: "client",
        clientSecret: "secret",
        refreshToken: "refresh-1",
      },
    }).getTicket("10001");
    expect(external.url).toBe(`${siteUrl}/browse/HELP-1`);
    expect(presented).toEqual(["Bearer access-1", "Bearer access-2"]);
    expect(grants).toEqual(["refresh_token:refresh-1", "refresh_token:refresh-2"]);
  });
});

describe("attachments", () => {
  const chunks = ["hello ", "streamed ", "world"].map((part) => new TextEncoder().encode(part));
  const source = () =>
    (async function* () {
      for (const chunk of chunks) yield chunk;
    })();

  it("streams a multipart upload to the issue with X-Atlassian-Token and hashes it", async () => {
    let received: {
      token: string | null;
      type: string | null;
      fileName: string | undefined;
      text: string;
    } | null = null;
    server.use(
      http.post(`${api}/issue/:issueIdOrKey/attachments`, async ({ request }) => {
        const form = await request.formData();
        const file = form.get("file") as File;
        received = {
          token: request.headers.get("x-atlassian-token"),
          type: request.headers.get("content-type"),
          fileName: file.name,
          text: await file.text(),
        };
        return HttpResponse.json([
          { ...fixture<unknown[]>("attachment-add-response")[0]!, id: "10555", filename: file.name },
        ]);
      }),
    );
    const uploaded = await client({ createAs: "issue", issueTypeName: "Task" }).uploadAttachment("HELP-1", {
      fileName: 'log "1".txt',
      contentType: "text/plain",
      visibility: "public",
      open: source,
    });
    expect(received).toEqual({
      token: "no-check",
      type: expect.stringMatching(/^multipart\/form-data; boundary=----ticket-sync-[0-9a-f]{24}$/),
      fileName: 'log "1".txt',
      text: "hello streamed world",
    });
    expect(uploaded).toEqual({
      externalId: "10555",
      fileName: 'log "1".txt',
      contentType: "text/plain",
      sizeBytes: 20,
      sha256: createHash("sha256").update("hello streamed world").digest("hex"),
      createdAt: "2022-04-30T11:01:54.000Z",
    });
  });

  it("refuses a file declared larger than the cap before sending anything", async () => {
    await expect(
      client({ maxAttachmentBytes: 10 }).uploadAttachment("HELP-1", {
        fileName: "big.bin",
        contentType: null,
        visibility: "internal",
        sizeBytes: 11,
        open: source,
      }),
    ).rejects.toBeInstanceOf(AttachmentTooLargeError);
    expect(seen).toEqual([]);
  });

  it("stops streaming at the cap when the size was not declared", async () => {
    server.use(
      http.post(`${api}/issue/:issueIdOrKey/attachments`, async ({ request }) => {
        // The client aborts the body at the cap; reading it fails here, as it would at Jira.
        await request.arrayBuffer().catch(() => undefined);
        return HttpResponse.json([]);
      }),
    );
    const error = await client({ createAs: "issue", issueTypeName: "Task", maxAttachmentBytes: 10 })
      .uploadAttachment("HELP-1", {
        fileName: "big.bin",
        contentType: null,
        visibility: "public",
        open: source,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AttachmentTooLargeError);
    expect(error).toMatchObject({ retryable: false });
  });
});

describe("testConnection", () => {
  it("is ok when the account, fields and request type check out", async () => {
    expect(await client().testConnection()).toEqual({
      ok: true,
      detail: "signed in as Ticket Sync Integration; customfield_10050 and 0 mapped field(s) found",
    });
  });

  it("reports a wrong account and a missing field without throwing", async () => {
    const result = await client({
      integrationAccountId: "someone-else",
      correlationFieldId: "customfield_99999",
    }).testConnection();
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("not integrationAccountId someone-else");
    expect(result.detail).toContain("correlation field customfield_99999 does not exist");
  });

  it("reports bad credentials", async () => {
    server.use(http.get(`${api}/myself`, () => jiraError(401, ["Unauthorized"])));
    const result = await client().testConnection();
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toContain("check the credentials");
  });
});
