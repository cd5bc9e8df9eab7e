/**
 * The console in a real browser (Debian's Chromium driven by playwright-core) against a listening gateway
 * whose data is made through the API and a ServiceNow simulator. The full suite runs on PostgreSQL; on
 * PGlite a smoke test (sign-in, one page) keeps the second pass short. With CONSOLE_SCREENSHOTS=1 each page
 * is saved to docs/console/ (1280 px, and the portal at phone width).
 */
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createServiceNowSimulator,
  type ServiceNowSimulator,
} from "../../connectors/servicenow/simulator.js";
import { createTmf621Simulator, type Tmf621Simulator } from "../../connectors/tmf621/simulator.js";
import { tmf621Contracts } from "../../connectors/tmf621/test/contract.js";
import { createSyncTestApp, type Listening, listen, type SyncTestContext } from "../e2e/sync-harness.js";
import { createOperator, createTenant, engine, openTicket, TEST_ADMIN_TOKEN } from "../harness.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const launchArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const screenshots = process.env.CONSOLE_SCREENSHOTS === "1";
const screenshotDir = new URL("../../docs/console/", import.meta.url);
const axeSource = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const webhookSecret = "servicenow-webhook-secret-0123456789";

let ctx: SyncTestContext;
let sim: ServiceNowSimulator;
let simServer: Listening;
let browser: Browser;
const simOptions: Parameters<typeof createServiceNowSimulator>[0] = {};
/** Closed after the gateway's test app, with the simulator. */
const extraServers: Listening[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run installs it)`);
  }
  ctx = await createSyncTestApp();
  sim = createServiceNowSimulator(simOptions);
  simServer = await listen(sim.app);
  sim.setInstanceUrl(simServer.url);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: launchArgs, headless: true });
  if (screenshots) mkdirSync(screenshotDir, { recursive: true });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all(extraServers.map((server) => server.close()));
  await simServer?.close();
  await ctx?.close();
});

async function signedIn(
  key: string,
  width = 1280,
  // axe-core is injected as an inline script, which the console's policy refuses; the smoke test keeps it.
  bypassCSP = true,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP });
  const page = await context.newPage();
  await page.goto(`${ctx.gatewayUrl}/console`);
  expect(new URL(page.url()).pathname).toBe("/console/sign-in");
  await page.getByLabel("Key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState("load");
  expect(new URL(page.url()).pathname).not.toBe("/console/sign-in");
  return { context, page };
}

/** axe-core in the page: no serious or critical violation. */
async function expectAccessible(page: Page) {
  await page.addScriptTag({ path: axeSource });
  const violations = await page.evaluate(async () => {
    const result = await (
      globalThis as unknown as {
        axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { html: string }[] }[] }> };
      }
    ).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html) }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, `${page.url()}: ${JSON.stringify(serious, null, 2)}`).toEqual([]);
}

async function shoot(page: Page, name: string) {
  if (screenshots)
    await page.screenshot({ path: new URL(`${name}.png`, screenshotDir).pathname, fullPage: true });
}

describe("console smoke (every database)", () => {
  it("signs in with the admin token, renders the overview under its CSP, navigates with htmx, and signs out", async () => {
    const { context, page } = await signedIn(TEST_ADMIN_TOKEN, 1280, false);
    const refusals: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) refusals.push(message.text());
    });
    await page.reload();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Overview");
    expect(await page.evaluate(() => typeof (globalThis as { htmx?: unknown }).htmx)).toBe("object");
    await page.getByRole("link", { name: "Tickets" }).click();
    await page.waitForURL(`${ctx.gatewayUrl}/console/tickets`);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Tickets");
    expect(refusals).toEqual([]);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "tsg_session")!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/console" });
    expect(page.url()).not.toContain(TEST_ADMIN_TOKEN);
    expect(await page.content()).not.toContain(TEST_ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForLoadState("load");
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await page.goto(`${ctx.gatewayUrl}/console/tickets`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await context.close();
  }, 60_000);
});

describe.skipIf(engine !== "postgres")("console in the browser (PostgreSQL pass)", () => {
  let tenantA: Awaited<ReturnType<typeof createTenant>>;
  let tenantB: Awaited<ReturnType<typeof createTenant>>;
  let connectionId: string;
  let ticketA: { id: string };
  let ticketB: { id: string };
  let deadTicket: { id: string };
  let incidentNumber: string;
  let deadSysId: string;
  let deadRecord: Record<string, string>;
  let carrier: Tmf621Simulator;
  let carrierServer: Listening;
  let carrierId: string;
  const settle = async () => {
    await Promise.all([sim.settled(), carrier.settled()]);
  };
  const incidentOf = (ticketId: string) =>
    [...sim.state.incidents.values()].find((row) => row["correlation_id"] === ticketId);

  beforeAll(async () => {
    tenantA = await createTenant(ctx, { name: "Acme", plan: "ombori-enterprise", timezone: "Europe/Berlin" });
    tenantB = await createTenant(ctx, { name: "Globex" });
    const res = await ctx.admin.post("/v1/connections", {
      type: "servicenow",
      name: "Acme ServiceNow",
      role: "servicedesk",
      tenantId: tenantA.id,
      settings: {
        baseUrl: simServer.url,
        auth: {
          type: "basic",
          username: sim.integrationUser.username,
          password: sim.integrationUser.password,
        },
        webhookSecret,
      },
    });
    expect(res.status, res.text).toBe(201);
    connectionId = res.body.id;
    simOptions.webhook = { url: res.body.webhookUrl, secret: webhookSecret };
    carrier = createTmf621Simulator({ contract: tmf621Contracts() });
    carrierServer = await listen(carrier.app);
    extraServers.push(carrierServer);
    carrier.setOrigin(carrierServer.url);
    const carrierRes = await ctx.admin.post("/v1/connections", {
      type: "tmf621",
      name: "Carrier One",
      role: "carrier",
      carrier: {
        ola: {
          calendar: {
            timezone: "UTC",
            hours: Object.fromEntries(
              ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, [["00:00", "24:00"]]]),
            ),
          },
          targets: { P1: { acknowledgeMinutes: 15, restoreMinutes: 240 } },
        },
      },
      settings: {
        baseUrl: `${carrierServer.url}/tmf-api/troubleTicket/v5`,
        auth: { type: "bearer", token: "simulator-token" },
        version: "v5",
        webhookSecret: "tmf-carrier-path-secret-000000",
      },
    });
    expect(carrierRes.status, carrierRes.text).toBe(201);
    carrierId = carrierRes.body.id;
    ticketA = await openTicket(tenantA.client, { title: "Router down in Berlin", priority: "P1" });
    await tenantA.client.post(`/v1/tickets/${ticketA.id}/comments`, {
      body: "Lights are red",
      visibility: "public",
    });
    await ctx.admin.post(`/v1/tickets/${ticketA.id}/comments`, {
      body: "Suspect the PSU",
      visibility: "internal",
    });
    ticketB = await openTicket(tenantB.client, { title: "Globex secret outage" });
    deadTicket = await openTicket(tenantA.client, { title: "Blocked link", priority: "P3" });
    await ctx.drain({ settle });
    incidentNumber = incidentOf(ticketA.id)!["number"]!;
    // The vendor record vanishes: the update answers 404, a permanent failure, and dead-letters.
    deadSysId = incidentOf(deadTicket.id)!["sys_id"]!;
    deadRecord = sim.state.incidents.get(deadSysId)!;
    sim.state.incidents.delete(deadSysId);
    await ctx.admin.patch(`/v1/tickets/${deadTicket.id}`, { title: "Blocked link, renamed" });
    await ctx.drain({ settle });
    const dead = await ctx.admin.get(`/v1/dead-letters?ticketId=${deadTicket.id}`);
    expect(dead.body.items, dead.text).toHaveLength(1);
  }, 120_000);

  it("provider pages render the real data and pass axe", async () => {
    const { context, page } = await signedIn(TEST_ADMIN_TOKEN);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toMatch(/1\s*dead letters open/);
    expect(await page.locator("svg[role=img]").count()).toBeGreaterThan(0);
    await expectAccessible(page);
    await shoot(page, "overview");

    await page.goto(`${ctx.gatewayUrl}/console/tickets`);
    await expect(page.getByRole("link", { name: "Router down in Berlin" }).count()).resolves.toBe(1);
    await expect(page.getByRole("link", { name: "Globex secret outage" }).count()).resolves.toBe(1);
    await expectAccessible(page);
    await shoot(page, "tickets");

    // Find by the ServiceNow incident number.
    await page.getByLabel(/Vendor key/).fill(incidentNumber);
    await page.getByRole("button", { name: "Find" }).click();
    await page.waitForLoadState("load");
    expect(new URL(page.url()).pathname).toBe(`/console/tickets/${ticketA.id}`);
    const ticketText = (await page.locator("main").textContent()) ?? "";
    expect(ticketText).toContain("Lights are red");
    expect(ticketText).toContain("Suspect the PSU");
    expect(ticketText).toContain("chain verified");
    expect(ticketText).toContain("ticket.created");
    expect(ticketText).toContain("sync.sent");
    expect(ticketText).toMatch(/attempt \d+ · \d+ ms/);
    await expect(page.getByRole("link", { name: incidentNumber }).count()).resolves.toBe(1);
    await expectAccessible(page);
    await shoot(page, "ticket");

    // An internal note through the form lands as internal.
    await page.getByRole("textbox", { name: "Comment", exact: true }).fill("Engineer dispatched");
    await page.getByLabel("internal").check();
    await page.getByRole("button", { name: "Add comment" }).click();
    await page.waitForLoadState("load");
    const comments = await ctx.admin.get(`/v1/tickets/${ticketA.id}/comments`);
    expect(comments.body.items).toContainEqual(
      expect.objectContaining({ body: "Engineer dispatched", visibility: "internal" }),
    );
    // A status change through the form.
    await page.getByLabel("Change status to").selectOption("in_progress");
    await page.getByRole("button", { name: "Change status" }).click();
    await page.waitForLoadState("load");
    expect((await ctx.admin.get(`/v1/tickets/${ticketA.id}`)).body.status).toBe("in_progress");

    // Delegate to the carrier from the page; the carrier ticket is opened by a job at the simulator.
    await page.getByRole("combobox", { name: "Delegate to", exact: true }).selectOption(carrierId);
    await page.getByRole("textbox", { name: "Reason", exact: true }).fill("Carrier circuit fault");
    await page.getByRole("button", { name: "Delegate", exact: true }).click();
    await page.waitForLoadState("load");
    await ctx.drain({ settle });
    const [delegation] = (await ctx.admin.get(`/v1/tickets/${ticketA.id}/delegations`)).body.items;
    expect(delegation, "delegation").toMatchObject({ connectionId: carrierId });
    expect(delegation.carrierTicketId).toBeTruthy();
    await page.reload();
    const delegated = (await page.locator("main").textContent()) ?? "";
    expect(delegated).toContain(delegation.carrierTicketId);
    expect(delegated).toContain(delegation.state);
    // The OLA times against the carrier's P1 targets (15 min to acknowledge, 4 h to restore), with marks.
    const olaRow = page
      .locator("table", { has: page.locator("caption", { hasText: /^Delegations/ }) })
      .locator("tbody tr", { hasText: delegation.carrierTicketId });
    const olaCells = await olaRow.locator("td").allTextContents();
    expect(olaCells.at(-2)).toMatch(/^0 h \d+ min of 0 h 15 min (met|running)$/);
    expect(olaCells.at(-1)).toMatch(/^0 h \d+ min of 4 h 0 min running$/);
    await shoot(page, "ticket-delegated");

    await page.goto(`${ctx.gatewayUrl}/console/reports`);
    const reports = (await page.locator("main").textContent()) ?? "";
    expect(reports).toContain("SLA report");
    expect(reports).toContain("Carrier One"); // the delegation above, in the OLA report
    await expectAccessible(page);
    await shoot(page, "reports");
    const csv = await page.request.get(
      `${ctx.gatewayUrl}${await page.getByRole("link", { name: /CSV/ }).getAttribute("href")}`,
    );
    expect(csv.headers()["content-type"]).toContain("text/csv");
    expect(await csv.text()).toMatch(/^group,tickets/);
    await context.close();
  }, 90_000);

  it("refuses a POST without the CSRF token", async () => {
    const { context, page } = await signedIn(TEST_ADMIN_TOKEN);
    const refused = await page.request.post(`${ctx.gatewayUrl}/console/zone`, {
      form: { zone: "Asia/Tokyo" },
    });
    expect(refused.status()).toBe(403);
    await context.close();
  }, 60_000);

  it("connections: status, webhook URL, setup steps, pause and resume, test", async () => {
    const { context, page } = await signedIn(TEST_ADMIN_TOKEN);
    await page.goto(`${ctx.gatewayUrl}/console/connections`);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain(`${ctx.gatewayUrl}/webhooks/${connectionId}`);
    // ServiceNow's own setup, from its connector: the business rule, with this connection's URL and user.
    const setup = page.locator("section", { has: page.getByRole("heading", { name: /Acme ServiceNow/ }) });
    await setup.getByText("Vendor-side setup").click();
    const steps = (await setup.locator("ol.setup").textContent()) ?? "";
    expect(steps).toContain(`ticket_sync.webhook_url = ${ctx.gatewayUrl}/webhooks/${connectionId}`);
    expect(steps).toContain("Business rule");
    expect(steps).toContain(`gs.getUserName() != '${sim.integrationUser.username}'`);
    // The carrier's: the hub listener, its URL's path secret masked. No secret anywhere on the page.
    const carrierSteps =
      (await page
        .locator("section", { has: page.getByRole("heading", { name: /Carrier One/ }) })
        .locator("ol.setup")
        .textContent()) ?? "";
    expect(carrierSteps).toContain(`${ctx.gatewayUrl}/webhooks/${carrierId}/{path-secret}/listener/`);
    const html = await page.content();
    for (const secret of [webhookSecret, "tmf-carrier-path-secret-000000", sim.integrationUser.password])
      expect(html).not.toContain(secret);
    // The page shows the stored connection health (the `connection.health` job's damped state) and the live
    // dead-letter count, as the API reports them.
    const { health } = (await ctx.admin.get(`/v1/connections/${connectionId}`)).body;
    expect(health.deadLetters).toBe(1);
    const healthCard = page.locator("section", {
      has: page.getByRole("heading", { name: /Acme ServiceNow/ }),
    });
    const cardText = (await healthCard.textContent()) ?? "";
    expect(cardText).toContain(health.state);
    expect(cardText).toMatch(/Dead letters\s*1/);
    await expectAccessible(page);
    await shoot(page, "connections");
    const card = () =>
      page.locator("section", { has: page.getByRole("heading", { name: /Acme ServiceNow/ }) });
    await card().getByRole("button", { name: "Test" }).click();
    await page.waitForLoadState("load");
    await expect(page.getByRole("status").textContent()).resolves.toContain("passed");
    await card().getByLabel("Reason").fill("Vendor maintenance");
    await card().getByRole("button", { name: "Pause" }).click();
    await page.waitForLoadState("load");
    expect((await ctx.admin.get(`/v1/connections/${connectionId}`)).body).toMatchObject({
      state: "paused",
      paused: { reason: "Vendor maintenance" },
    });
    expect((await page.locator("main").textContent()) ?? "").toContain("Vendor maintenance");
    await card().getByRole("button", { name: "Resume" }).click();
    await page.waitForLoadState("load");
    expect((await ctx.admin.get(`/v1/connections/${connectionId}`)).body.state).toBe("active");
    await context.close();
  }, 60_000);

  it("a replay from the dead-letter page lands at the simulator", async () => {
    const { context, page } = await signedIn(TEST_ADMIN_TOKEN);
    await page.goto(`${ctx.gatewayUrl}/console/dead-letters`);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain("ticket.update");
    expect(text).toContain(deadTicket.id);
    await expectAccessible(page);
    await shoot(page, "dead-letters");
    const id = (await ctx.admin.get(`/v1/dead-letters?ticketId=${deadTicket.id}`)).body.items[0].id;
    await page.goto(`${ctx.gatewayUrl}/console/dead-letters/${id}`);
    expect((await page.locator("main").textContent()) ?? "").toContain("Attempts");
    await expectAccessible(page);

    sim.state.incidents.set(deadSysId, deadRecord); // the vendor side is fixed
    await page.getByRole("button", { name: "Replay" }).click();
    await page.waitForLoadState("load");
    await expect(page.getByRole("status").textContent()).resolves.toContain("replayed");
    await ctx.drain({ settle });
    expect(sim.state.incidents.get(deadSysId)!["short_description"]).toBe("Blocked link, renamed");
    expect((await ctx.admin.get(`/v1/dead-letters?ticketId=${deadTicket.id}`)).body.items).toHaveLength(0);
    await context.close();
  }, 60_000);

  it("bulk replay: every dead letter of a connection is replayed from the dead-letter page and lands at the simulator", async () => {
    // Two vendor records vanish; the two updates dead-letter.
    const titles = ["Bulk one", "Bulk two"];
    const opened = [];
    for (const title of titles) opened.push(await openTicket(tenantA.client, { title, priority: "P3" }));
    await ctx.drain({ settle });
    const removed = opened.map((t) => {
      const sysId = incidentOf(t.id)!["sys_id"]!;
      const record = sim.state.incidents.get(sysId)!;
      sim.state.incidents.delete(sysId);
      return { sysId, record };
    });
    for (const [i, t] of opened.entries())
      await ctx.admin.patch(`/v1/tickets/${t.id}`, { title: `${titles[i]}, renamed` });
    await ctx.drain({ settle });
    const dead = async () =>
      (await ctx.admin.get(`/v1/dead-letters?connectionId=${connectionId}`)).body.items as unknown[];
    expect(await dead()).toHaveLength(2);

    const { context, page } = await signedIn(TEST_ADMIN_TOKEN);
    await page.goto(`${ctx.gatewayUrl}/console/dead-letters`);
    for (const { sysId, record } of removed) sim.state.incidents.set(sysId, record); // fixed at the vendor
    await page.getByLabel("Replay every dead letter of").selectOption(connectionId);
    await page.getByRole("button", { name: "Replay all" }).click();
    await page.waitForLoadState("load");
    await expect(page.getByRole("status").textContent()).resolves.toContain(
      `2 dead letters of ${connectionId} replayed.`,
    );
    await ctx.drain({ settle });
    for (const [i, { sysId }] of removed.entries())
      expect(sim.state.incidents.get(sysId)!["short_description"]).toBe(`${titles[i]}, renamed`);
    expect(await dead()).toHaveLength(0);
    await page.reload();
    expect((await page.locator("main").textContent()) ?? "").toContain("No dead letters.");
    await context.close();
  }, 60_000);

  it("an operator key scoped to one tenant signs in, sees that tenant's work only, and signs out", async () => {
    const operator = await createOperator(ctx, [tenantA.id]);
    const { context, page } = await signedIn(operator.apiKey);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Overview");
    expect(await page.content()).not.toContain(operator.apiKey);
    await page.goto(`${ctx.gatewayUrl}/console/tickets`);
    const list = (await page.locator("main").textContent()) ?? "";
    expect(list).toContain("Router down in Berlin");
    expect(list).not.toContain("Globex secret outage");
    expect((await page.goto(`${ctx.gatewayUrl}/console/tickets/${ticketB.id}`))?.status()).toBe(404);
    expect((await page.goto(`${ctx.gatewayUrl}/console/tickets/${ticketA.id}`))?.status()).toBe(200);
    expect((await page.locator("main").textContent()) ?? "").toContain("Suspect the PSU"); // internal notes
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForLoadState("load");
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await context.close();
  }, 60_000);

  it("the portal: a tenant sees its own tickets and public comments, nothing of another tenant, no provider page", async () => {
    const { context, page } = await signedIn(tenantA.apiKey);
    expect(new URL(page.url()).pathname).toBe("/console/tickets");
    const list = (await page.locator("main").textContent()) ?? "";
    expect(list).toContain("Router down in Berlin");
    expect(list).not.toContain("Globex secret outage");
    await expectAccessible(page);
    await shoot(page, "portal-tickets");

    await page.getByRole("link", { name: "Router down in Berlin" }).click();
    await page.waitForLoadState("load");
    const ticket = (await page.locator("main").textContent()) ?? "";
    expect(ticket).toContain("Lights are red");
    expect(ticket).not.toContain("Suspect the PSU");
    expect(ticket).not.toContain("Engineer dispatched");
    expect(ticket).not.toContain("Ledger timeline");
    expect(ticket).not.toContain(carrierId);
    expect(ticket).not.toContain("Carrier ticket");
    await expectAccessible(page);
    await shoot(page, "portal-ticket");
    await page.getByRole("textbox", { name: "Reply", exact: true }).fill("Thanks, waiting");
    await page.getByRole("button", { name: "Reply" }).click();
    await page.waitForLoadState("load");
    expect((await page.locator("main").textContent()) ?? "").toContain("Thanks, waiting");

    for (const path of [
      `/console/tickets/${ticketB.id}`,
      "/console/dead-letters",
      "/console/dead-letters/1",
      "/console/reports",
    ]) {
      const response = await page.goto(`${ctx.gatewayUrl}${path}`);
      expect(response?.status(), path).toBe(404);
    }
    await page.goto(`${ctx.gatewayUrl}/console/connections`);
    const own = (await page.locator("main").textContent()) ?? "";
    expect(own).toContain("Acme ServiceNow");
    expect(own).not.toContain("Carrier One");
    await page.getByText("Vendor-side setup").click();
    expect((await page.locator("ol.setup").textContent()) ?? "").toContain(
      `ticket_sync.webhook_url = ${ctx.gatewayUrl}/webhooks/${connectionId}`,
    );
    expect(await page.content()).not.toContain(webhookSecret);
    await expectAccessible(page);
    await shoot(page, "portal-connections");
    await context.close();

    // Phone width: the same portal page, usable without horizontal scrolling of the page itself.
    const phone = await signedIn(tenantA.apiKey, 375);
    await phone.page.goto(`${ctx.gatewayUrl}/console/tickets/${ticketA.id}`);
    const overflow = await phone.page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: Record<string, number> } })
        .document.documentElement;
      return root["scrollWidth"]! - root["clientWidth"]!;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await shoot(phone.page, "portal-ticket-phone");
    await phone.context.close();
  }, 90_000);

  it("keyboard: the skip link leads into the page; times follow the viewer's zone with the tenant's shown; provider pages fit a phone", async () => {
    const { context, page } = await signedIn(TEST_ADMIN_TOKEN);
    await page.goto(`${ctx.gatewayUrl}/console/tickets/${ticketA.id}`);
    const focused = () =>
      page.evaluate(() => {
        const active = (globalThis as unknown as { document: { activeElement: HtmlLike | null } }).document
          .activeElement;
        return { text: active?.textContent?.trim() ?? "", inMain: active?.closest("main") != null };
      });
    await page.keyboard.press("Tab");
    expect((await focused()).text).toBe("Skip to content");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    expect((await focused()).inMain).toBe(true);

    // The viewer picks New York; the tenant's clocks run in Berlin, shown beside each due instant.
    await page.getByLabel("Times in").selectOption("America/New_York");
    await page.getByRole("button", { name: "Set", exact: true }).click();
    await page.waitForLoadState("load");
    expect(new URL(page.url()).pathname).toBe(`/console/tickets/${ticketA.id}`);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain("(zone Europe/Berlin)");
    expect(text).toMatch(/due \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T \(\d{4}-\d\d-\d\d \d\d:\d\d GMT\+[12]\)/);
    await shoot(page, "ticket-zones");
    await context.close();

    const phone = await signedIn(TEST_ADMIN_TOKEN, 375);
    for (const path of [
      "/console",
      "/console/tickets",
      `/console/tickets/${ticketA.id}`,
      "/console/connections",
      "/console/dead-letters",
      "/console/reports",
    ]) {
      await phone.page.goto(`${ctx.gatewayUrl}${path}`);
      const measure = () =>
        phone.page.evaluate(() => {
          const { document } = globalThis as unknown as {
            document: {
              documentElement: { scrollWidth: number; clientWidth: number };
              querySelectorAll(
                s: string,
              ): ArrayLike<{ outerHTML: string; getBoundingClientRect(): { right: number } }>;
            };
          };
          const root = document.documentElement;
          // The elements reaching past the screen outside a scrolling table, to name the culprit.
          const wide = Array.from(document.querySelectorAll("body *"))
            .filter(
              (e) =>
                // The element reaches past the screen, or its text does (text overflow leaves its box as is).
                (e.getBoundingClientRect().right > root.clientWidth + 0.5 ||
                  (e as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth >
                    (e as unknown as { clientWidth: number }).clientWidth + 0.5) &&
                !(e as unknown as { closest(s: string): unknown }).closest(".scroll"),
            )
            .map((e) => e.outerHTML.slice(0, 120));
          return { by: root.scrollWidth - root.clientWidth, wide: wide.slice(0, 3) };
        });
      // Polled for a few seconds: a layout still settling after load is not an overflow; a lasting one is.
      let last = await measure();
      await expect
        .poll(
          async () => {
            last = await measure();
            return last.by;
          },
          { timeout: 5000 },
        )
        .toBeLessThanOrEqual(0)
        .catch(() => expect(last.by, `${path}: ${last.wide.join("\n")}`).toBeLessThanOrEqual(0));
    }
    await shoot(phone.page, "reports-phone");
    await phone.context.close();
  }, 90_000);
});

/** The little of a DOM element the keyboard test reads. */
interface HtmlLike {
  textContent: string | null;
  closest(selector: string): unknown;
}
