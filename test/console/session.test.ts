/**
 * The console's session, CSRF and isolation rules over app.request (no browser): what the browser suite
 * relies on, each refusal checked on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleSessions } from "../../src/db/schema/index.js";
import { pruneFinished } from "../../src/jobs/prune.js";
import { createLogger } from "../../src/lib/logger.js";
import {
  createOperator,
  createTenant,
  createTestApp,
  openTicket,
  TEST_ADMIN_TOKEN,
  type TestContext,
} from "../harness.js";

let ctx: TestContext;
let clock = Date.now();
const logged: string[] = [];

beforeAll(async () => {
  const logger = createLogger("info", {
    write: (line: string) => {
      logged.push(line);
    },
  });
  ctx = await createTestApp({ now: () => new Date(clock), logger });
});
afterAll(async () => ctx?.close());

interface Browser {
  cookie: string | null;
  csrf: string | null;
}

async function signIn(key: string): Promise<Browser & { response: Response }> {
  const response = await ctx.app.request("/console/sign-in", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost" },
    body: new URLSearchParams({ key }).toString(),
  });
  const cookie = /tsg_session=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")?.[1] ?? null;
  const browser = { cookie, csrf: null as string | null, response };
  if (cookie) {
    const page = await get(browser, "/console/tickets");
    browser.csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? null;
  }
  return browser;
}

function get(browser: Browser, path: string) {
  return ctx.app.request(path, {
    headers: browser.cookie ? { cookie: `tsg_session=${browser.cookie}` } : {},
  });
}

function post(
  browser: Browser,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return ctx.app.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: "http://localhost",
      ...(browser.cookie ? { cookie: `tsg_session=${browser.cookie}` } : {}),
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
}

describe("console serving", () => {
  it("redirects / to /console and /console to sign-in without a session", async () => {
    const root = await ctx.app.request("/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/console");
    const console = await ctx.app.request("/console");
    expect(console.status).toBe(303);
    expect(console.headers.get("location")).toBe("/console/sign-in");
  });

  it("serves the stylesheet and htmx from this process", async () => {
    const css = await ctx.app.request("/console/assets/console.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    const htmx = await ctx.app.request("/console/assets/htmx.min.js");
    expect(htmx.status).toBe(200);
    expect(await htmx.text()).toContain("htmx");
  });
});

describe("sign-in", () => {
  it("refuses an unknown key with 403 and sets no cookie", async () => {
    const browser = await signIn("tsg_t_not-a-real-key");
    expect(browser.response.status).toBe(403);
    expect(browser.cookie).toBeNull();
  });

  it("exchanges the admin token for an HttpOnly, SameSite=Strict session cookie scoped to /console", async () => {
    logged.length = 0;
    const browser = await signIn(TEST_ADMIN_TOKEN);
    expect(browser.response.status).toBe(303);
    const cookie = browser.response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/console/);
    expect(cookie).not.toMatch(/Secure/); // plain http here
    expect(cookie).not.toContain(TEST_ADMIN_TOKEN);
    const overview = await get(browser, "/console");
    expect(overview.status).toBe(200);
    expect(overview.headers.get("cache-control")).toBe("no-store");
    expect(overview.headers.get("x-frame-options")).toBe("DENY");
    expect(overview.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const page = await overview.text();
    expect(page).toContain("Overview");
    expect(page).not.toContain(TEST_ADMIN_TOKEN);
    // The token is stored hashed: the cookie value is not a row id.
    const rows = await ctx.database.db.select().from(consoleSessions);
    expect(rows.map((r) => r.id)).not.toContain(browser.cookie);
    expect(logged.join("\n")).not.toContain(TEST_ADMIN_TOKEN);
    expect(logged.join("\n")).not.toContain(browser.cookie!);
  });

  it("marks the cookie Secure over https", async () => {
    const response = await ctx.app.request("https://gateway.test/console/sign-in", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: TEST_ADMIN_TOKEN }).toString(),
    });
    expect(response.headers.get("set-cookie")).toMatch(/Secure/);
  });

  it("refuses a sign-in posted from another origin", async () => {
    const response = await ctx.app.request("/console/sign-in", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      body: new URLSearchParams({ key: TEST_ADMIN_TOKEN }).toString(),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("set-cookie")).toBeNull();
  });
});

describe("CSRF", () => {
  it("refuses a POST without the token, with a wrong token, or from another origin; accepts the right one", async () => {
    const browser = await signIn(TEST_ADMIN_TOKEN);
    expect(browser.csrf).toBeTruthy();
    expect((await post(browser, "/console/zone", { zone: "Europe/Berlin" })).status).toBe(403);
    expect((await post(browser, "/console/zone", { zone: "Europe/Berlin", _csrf: "nope" })).status).toBe(403);
    const crossSite = await post(
      browser,
      "/console/zone",
      { zone: "Europe/Berlin", _csrf: browser.csrf! },
      { origin: "https://evil.example" },
    );
    expect(crossSite.status).toBe(403);
    const ok = await post(browser, "/console/zone", { zone: "Europe/Berlin", _csrf: browser.csrf! });
    expect(ok.status).toBe(303);
    const page = await (await get(browser, "/console/tickets")).text();
    expect(page).toMatch(/<option value="Europe\/Berlin" selected/);
  });

  it("answers a bad zone with a 400 page, not a 500", async () => {
    const browser = await signIn(TEST_ADMIN_TOKEN);
    const res = await post(browser, "/console/zone", { zone: "Mars/Olympus", _csrf: browser.csrf! });
    expect(res.status).toBe(400);
  });
});

describe("session end", () => {
  it("sign-out deletes the session: the old cookie no longer opens a page", async () => {
    const browser = await signIn(TEST_ADMIN_TOKEN);
    const out = await post(browser, "/console/sign-out", { _csrf: browser.csrf! });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/tsg_session=;/);
    expect((await get(browser, "/console")).status).toBe(303);
  });

  it("revoking the key ends its sessions at the next request", async () => {
    const tenant = await createTenant(ctx);
    const browser = await signIn(tenant.apiKey);
    expect((await get(browser, "/console/tickets")).status).toBe(200);
    const revoked = await ctx.admin.delete(`/v1/tenants/${tenant.id}/keys/${tenant.keyId}`);
    expect(revoked.status, revoked.text).toBeLessThan(300);
    const after = await get(browser, "/console/tickets");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/console/sign-in");
  });

  it("expires after the default 8 hours", async () => {
    const browser = await signIn(TEST_ADMIN_TOKEN);
    expect((await get(browser, "/console")).status).toBe(200);
    clock += 8 * 3_600_000 + 1000;
    expect((await get(browser, "/console")).status).toBe(303);
  });

  it("the retention job deletes expired sessions and keeps live ones", async () => {
    const expired = await signIn(TEST_ADMIN_TOKEN);
    clock += 8 * 3_600_000 + 1000;
    const live = await signIn(TEST_ADMIN_TOKEN);
    const stored = async () => (await ctx.database.db.select().from(consoleSessions)).length;
    const before = await stored();
    const pruned = await pruneFinished(ctx.database.db, ctx.deps.config.sync.retention, new Date(clock));
    expect(pruned.consoleSessions).toBeGreaterThanOrEqual(1);
    expect(await stored()).toBe(before - pruned.consoleSessions);
    expect(
      (await ctx.database.db.select().from(consoleSessions)).every((s) => s.expiresAt.getTime() > clock),
    ).toBe(true);
    expect((await get(live, "/console")).status).toBe(200);
    expect((await get(expired, "/console")).status).toBe(303);
  });
});

describe("tenant isolation in the portal", () => {
  it("a tenant sees its own ticket with public comments only; another tenant's ticket and provider pages are 404", async () => {
    const mine = await createTenant(ctx, { name: "Mine" });
    const theirs = await createTenant(ctx, { name: "Theirs" });
    const ticket = await openTicket(mine.client, { title: "Printer on fire" });
    const other = await openTicket(theirs.client, { title: "Secret project" });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, {
      body: "Provider-only note",
      visibility: "internal",
    });
    await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, { body: "We are on it", visibility: "public" });

    const browser = await signIn(mine.apiKey);
    const own = await get(browser, `/console/tickets/${ticket.id}`);
    expect(own.status).toBe(200);
    const page = await own.text();
    expect(page).toContain("Printer on fire");
    expect(page).toContain("We are on it");
    expect(page).not.toContain("Provider-only note");
    expect(page).not.toContain("Ledger timeline");

    const list = await (await get(browser, "/console/tickets")).text();
    expect(list).toContain("Printer on fire");
    expect(list).not.toContain("Secret project");

    expect((await get(browser, `/console/tickets/${other.id}`)).status).toBe(404);
    for (const path of [
      "/console/dead-letters",
      "/console/dead-letters/1",
      "/console/reports",
      "/console/reports/sla.csv",
    ]) {
      expect((await get(browser, path)).status, path).toBe(404);
    }
    expect((await get(browser, "/console")).headers.get("location")).toBe("/console/tickets");
    const comment = await post(browser, `/console/tickets/${other.id}/comments`, {
      body: "hi",
      _csrf: browser.csrf!,
    });
    expect(comment.status).toBe(404);
    const skip = await post(browser, "/console/dead-letters/1/skip", { _csrf: browser.csrf! });
    expect(skip.status).toBe(404);
  });

  it("a tenant replies publicly and opens a ticket through the portal", async () => {
    const tenant = await createTenant(ctx, { name: "Replier" });
    const ticket = await openTicket(tenant.client);
    const browser = await signIn(tenant.apiKey);
    const reply = await post(browser, `/console/tickets/${ticket.id}/comments`, {
      body: "Still broken",
      visibility: "internal",
      _csrf: browser.csrf!,
    });
    expect(reply.status).toBe(303);
    const comments = await tenant.client.get(`/v1/tickets/${ticket.id}/comments`);
    expect(comments.body.items).toEqual([
      expect.objectContaining({ body: "Still broken", visibility: "public" }),
    ]);
    const opened = await post(browser, "/console/tickets", {
      title: "New one",
      priority: "P2",
      _csrf: browser.csrf!,
    });
    expect(opened.status).toBe(303);
    const listed = await tenant.client.get("/v1/tickets");
    expect(listed.body.items.map((t: { title: string }) => t.title)).toContain("New one");
  });

  it("an operator limited to one tenant does not see another's ticket", async () => {
    const a = await createTenant(ctx, { name: "A" });
    const b = await createTenant(ctx, { name: "B" });
    const ticketB = await openTicket(b.client, { title: "B's ticket" });
    const operator = await createOperator(ctx, [a.id]);
    const browser = await signIn(operator.apiKey);
    expect((await get(browser, `/console/tickets/${ticketB.id}`)).status).toBe(404);
    expect((await get(browser, "/console")).status).toBe(200);
  });
});

describe("bad input", () => {
  it.each([
    "/console/tickets?status=nope&priority=P9&sla=x",
    "/console/tickets/%00",
    "/console/tickets/find?key=",
    "/console/dead-letters/abc",
    "/console/dead-letters/99999999999999999999",
    "/console/dead-letters?source=nope",
    "/console/reports?from=yesterday&to=now",
    "/console/nope",
  ])("%s answers below 500", async (path) => {
    const browser = await signIn(TEST_ADMIN_TOKEN);
    const res = await get(browser, path);
    expect(res.status, `${path}: ${(await res.clone().text()).slice(0, 300)}`).toBeLessThan(500);
  });
});

describe("actions report back on the page", () => {
  it("a refused action returns to the page with the service's reason; a done one with a notice", async () => {
    const tenant = await createTenant(ctx, { name: "Actions" });
    const ticket = await openTicket(tenant.client);
    const browser = await signIn(TEST_ADMIN_TOKEN);
    const delegated = await post(browser, `/console/tickets/${ticket.id}/delegations`, {
      connectionId: "con_not_a_carrier",
      _csrf: browser.csrf!,
    });
    expect(delegated.status).toBe(303);
    const back = new URL(delegated.headers.get("location")!, "http://localhost");
    expect(back.pathname).toBe(`/console/tickets/${ticket.id}`);
    expect(back.searchParams.get("error")).toMatch(/carrier connection/);
    const page = await (await get(browser, `${back.pathname}${back.search}`)).text();
    expect(page).toMatch(/role="alert"[^>]*>[^<]*carrier connection/);

    const replayed = await post(browser, "/console/dead-letters/replay", {
      connectionId: "con_without_dead_letters",
      _csrf: browser.csrf!,
    });
    expect(new URL(replayed.headers.get("location")!, "http://localhost").searchParams.get("done")).toBe(
      "0 dead letters of con_without_dead_letters replayed.",
    );
  });

  it("a tenant may not make a provider's status move; the page says why", async () => {
    const tenant = await createTenant(ctx, { name: "Mover" });
    const ticket = await openTicket(tenant.client);
    const browser = await signIn(tenant.apiKey);
    const page = await (await get(browser, `/console/tickets/${ticket.id}`)).text();
    expect(page).not.toContain('<option value="in_progress">');
    const moved = await post(browser, `/console/tickets/${ticket.id}/status`, {
      status: "in_progress",
      ifMatch: drawnEtag(page),
      _csrf: browser.csrf!,
    });
    expect(new URL(moved.headers.get("location")!, "http://localhost").searchParams.get("error")).toMatch(
      /provider's act/,
    );
    expect((await tenant.client.get(`/v1/tickets/${ticket.id}`)).body.status).toBe("new");
  });

  it("a status change made meanwhile is not overwritten: the form's ETag is sent as If-Match", async () => {
    const tenant = await createTenant(ctx, { name: "Racer" });
    const ticket = await openTicket(tenant.client);
    const browser = await signIn(TEST_ADMIN_TOKEN);
    const page = await (await get(browser, `/console/tickets/${ticket.id}`)).text();
    const etag = drawnEtag(page);
    const elsewhere = await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "acknowledged" });
    expect(elsewhere.status, elsewhere.text).toBe(200);
    const stale = await post(browser, `/console/tickets/${ticket.id}/status`, {
      status: "in_progress",
      ifMatch: etag,
      _csrf: browser.csrf!,
    });
    const back = new URL(stale.headers.get("location")!, "http://localhost");
    expect(back.searchParams.get("error")).toMatch(/changed meanwhile/);
    expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.status).toBe("acknowledged");
    // Drawn again, the page carries the new ETag and the change goes through.
    const fresh = await (await get(browser, `${back.pathname}${back.search}`)).text();
    expect(fresh).toMatch(/role="alert"[^>]*>[^<]*changed meanwhile/);
    const moved = await post(browser, `/console/tickets/${ticket.id}/status`, {
      status: "in_progress",
      ifMatch: drawnEtag(fresh),
      _csrf: browser.csrf!,
    });
    expect(new URL(moved.headers.get("location")!, "http://localhost").searchParams.get("done")).toMatch(
      /in_progress/,
    );
    expect((await ctx.admin.get(`/v1/tickets/${ticket.id}`)).body.status).toBe("in_progress");
  });
});

describe("the ticket list", () => {
  it("pages by business time remaining with the filters kept: open clocks first, settled tickets after", async () => {
    const tenant = await createTenant(ctx, { name: "Pager", plan: "ombori-enterprise" });
    const opened: Record<string, string> = {};
    for (const priority of ["P3", "P1", "P4", "P2"] as const) {
      opened[priority] = (await openTicket(tenant.client, { title: `Pager ${priority}`, priority })).id;
    }
    const cancelled = await openTicket(tenant.client, { title: "Pager cancelled", priority: "P1" });
    expect((await tenant.client.patch(`/v1/tickets/${cancelled.id}`, { status: "cancelled" })).status).toBe(
      200,
    );
    const browser = await signIn(TEST_ADMIN_TOKEN);
    const listed = async (query: string) => {
      const page = await (await get(browser, `/console/tickets?tenantId=${tenant.id}&${query}`)).text();
      return {
        ids: [...page.matchAll(/<div class="muted small">(tkt_[^<]+)<\/div>/g)].map((m) => m[1]),
        next: /<a href="([^"]+)" rel="next">/.exec(page)?.[1]?.replaceAll("&amp;", "&"),
        text: page,
      };
    };
    const first = await listed("size=2");
    expect(first.ids).toEqual([opened.P1, opened.P2]);
    expect(first.text).toContain("Page 1 of 3");
    // The Next link keeps the tenant filter and the page size.
    expect(first.next).toContain(`tenantId=${tenant.id}`);
    const second = await (await get(browser, first.next!)).text();
    expect([...second.matchAll(/<div class="muted small">(tkt_[^<]+)<\/div>/g)].map((m) => m[1])).toEqual([
      opened.P3,
      opened.P4,
    ]);
    expect((await listed("size=2&page=3")).ids).toEqual([cancelled.id]);
    expect((await listed("sla=running")).ids).toEqual([opened.P1, opened.P2, opened.P3, opened.P4]);
    expect((await listed("sla=none")).ids).toEqual([cancelled.id]);
    expect((await listed("sla=running&priority=P2")).ids).toEqual([opened.P2]);
    expect((await listed("status=cancelled&sla=running")).ids).toEqual([]);
  });
});

/** The ETag the ticket page drew into its status form. */
function drawnEtag(page: string): string {
  const value = /name="ifMatch" value="([^"]+)"/.exec(page)?.[1];
  expect(value).toBeDefined();
  return value!.replaceAll("&quot;", '"');
}
