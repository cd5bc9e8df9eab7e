/**
 * The operator console and client portal at /console: server-rendered HTML (hono/jsx) over the same services
 * the API routes call, with the same principal and tenant rules. Forms POST with a CSRF token; htmx and the
 * stylesheet are served from this process (no CDN, works offline). These routes are not in the OpenAPI
 * document: they are pages, not API.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { stringify } from "csv-stringify/sync";
import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { HtmlEscapedString } from "hono/utils/html";
import { IANAZone } from "luxon";
import { z } from "zod";
import { PauseConnection } from "../../schemas/connection.js";
import { CreateDelegation } from "../../schemas/delegation.js";
import { SlaReportQuery } from "../../schemas/sla.js";
import {
  CreateComment,
  CreateTicket,
  TicketListQuery,
  TicketStatus,
  ticketStatuses,
} from "../../schemas/ticket.js";
import type { AppEnv } from "../app-env.js";
import type { Principal } from "../auth/principal.js";
import { isProvider } from "../auth/principal.js";
import { isAllowedTransition, isClientTransition } from "../domain/ticket-status.js";
import { GatewayError } from "../errors.js";
import { toGatewayError } from "../lib/problem.js";
import { etagOf, parseIfMatch, serviceContext } from "../routes/openapi.js";
import { listTenants } from "../services/access.js";
import type { ServiceContext } from "../services/context.js";
import {
  carrierReport,
  createDelegation,
  listTicketDelegations,
  ticketDelegationOla,
} from "../services/delegations.js";
import { listTicketLedger, verify } from "../services/ledger.js";
import { slaReport } from "../services/sla-reports.js";
import { addComment, createTicket, getTicket, listComments, updateTicket } from "../services/tickets.js";
import { testConnection } from "../sync/clients.js";
import { connectionSetup, listConnections, setConnectionPaused } from "../sync/connections.js";
import { getDeadLetter, listDeadLetters, replayDeadLetters, settleDeadLetter } from "../sync/dead-letters.js";
import { connectionHealthView } from "./health.js";
import type { Viewer } from "./layout.js";
import {
  DeadLetterPage,
  DeadLettersPage,
  ErrorPage,
  OverviewPage,
  ReportsPage,
  SignInPage,
} from "./ops-pages.js";
import { type ConnectionRowView, ConnectionsPage, TicketPage, TicketsPage } from "./pages.js";
import {
  clocksAtRisk,
  connectionJobFacts,
  deliveriesPerHour,
  jobFacts,
  openTicketCounts,
  slaOutcomes,
  tenantZones,
  ticketIdByVendorKey,
  ticketLinks,
  ticketListPage,
} from "./queries.js";
import {
  type ConsoleEnv,
  clearSessionCookie,
  loadSession,
  requireSession,
  SESSION_COOKIE,
  sameOrigin,
  setSessionCookie,
  setViewerZone,
  signIn,
  signOut,
} from "./session.js";

const require = createRequire(import.meta.url);
const stylesheet = readFileSync(new URL("./console.css", import.meta.url), "utf8");
const htmxPath = require.resolve("htmx.org/dist/htmx.min.js");
let htmxSource: string | null = null;

type C = Context<ConsoleEnv>;

/** The same service context the API routes build; the console's env only adds the session. */
const servicesFor = (c: C) => serviceContext(c as unknown as Context<AppEnv>);

/**
 * Pages are never cached, never framed (no clickjacking of an action button), post only to this origin and
 * run only this origin's scripts. Inline styles stay allowed: the SLA bars' widths and htmx's indicators.
 */
const pageHeaders: Record<string, string> = {
  "Cache-Control": "no-store",
  "Content-Security-Policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

function html(
  c: C,
  page: HtmlEscapedString | Promise<HtmlEscapedString>,
  status: 200 | 400 | 403 | 404 | 409 = 200,
) {
  for (const [name, value] of Object.entries(pageHeaders)) c.header(name, value);
  return c.html(
    Promise.resolve(page).then((p) => `<!doctype html>${p}`),
    status,
  );
}

function viewerOf(c: C): Viewer {
  const session = c.get("session");
  return { principal: c.get("principal"), csrfToken: session.csrfToken, zone: session.viewerZone ?? "UTC" };
}

/** Pages of the provider only: a tenant key gets 404, as the API answers for what it may not see. */
function requireProviderPage(principal: Principal): void {
  if (!isProvider(principal)) throw new GatewayError("NOT_FOUND", "No such page.");
}

/** After an action: back to the page with a notice, or with the refusal's reason. */
async function act(c: C, back: string, action: () => Promise<string>) {
  const separator = back.includes("?") ? "&" : "?";
  try {
    const done = await action();
    return c.redirect(`${back}${separator}done=${encodeURIComponent(done)}`, 303);
  } catch (error) {
    const problem = toGatewayError(error);
    if (problem.status >= 500 || problem.status === 404) throw error;
    return c.redirect(`${back}${separator}error=${encodeURIComponent(problem.message)}`, 303);
  }
}

const Message = z.object({ done: z.string().max(500).optional(), error: z.string().max(500).optional() });
const messages = (c: C) => {
  const parsed = Message.safeParse({ done: c.req.query("done"), error: c.req.query("error") });
  return parsed.success ? { notice: parsed.data.done, error: parsed.data.error } : {};
};

async function form(c: C): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  return Object.fromEntries(
    Object.entries(body).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

/** Parses a form with a zod schema; a bad form is a 400 like the API's. */
function parseForm<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new GatewayError(
      "VALIDATION_FAILED",
      parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    );
  }
  return parsed.data;
}

const idSegment = z.string().min(1).max(200);
const param = (c: C, name: string) => parseForm(idSegment, c.req.param(name));

async function tenantZone(ctx: ServiceContext, tenantId: string): Promise<string> {
  return (await tenantZones(ctx, [tenantId])).get(tenantId) ?? "UTC";
}

async function connectionRows(ctx: ServiceContext): Promise<ConnectionRowView[]> {
  const { items } = await listConnections(ctx, { limit: 200 });
  const facts = await connectionJobFacts(
    ctx.db,
    items.map((c) => c.id),
  );
  return items.map((c) => ({
    id: c.id,
    name: c.name,
    type: c.type,
    role: c.role,
    tenantId: c.tenantId,
    setup: connectionSetup(c),
    paused: c.paused,
    health: connectionHealthView(c, facts.get(c.id)!),
  }));
}

const TicketFilters = TicketListQuery.pick({ tenantId: true, status: true, priority: true }).extend({
  plan: z.string().min(1).max(200).optional(),
  sla: z.enum(["breached", "running", "paused", "met", "none"]).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  size: z.coerce.number().int().min(1).max(200).default(50),
});

export function consoleRoutes() {
  const app = new Hono<ConsoleEnv>();

  app.onError((error, c) => {
    const problem = toGatewayError(error);
    if (problem.status >= 500) {
      (c.var.logger ?? c.get("deps").logger).error(
        { err: error, requestId: c.get("requestId") },
        "console error",
      );
    }
    const session = c.var.session;
    const viewer = session ? viewerOf(c) : null;
    const detail = problem.status >= 500 ? "Something went wrong; it was logged." : problem.message;
    return html(
      c,
      ErrorPage({ viewer, status: problem.status, detail }) as HtmlEscapedString,
      problem.status as 400,
    );
  });

  app.get("/", (c) => c.redirect("/console", 302));

  app.get("/console/assets/console.css", (c) => {
    c.header("Content-Type", "text/css; charset=utf-8");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(stylesheet);
  });
  app.get("/console/assets/htmx.min.js", (c) => {
    htmxSource ??= readFileSync(htmxPath, "utf8");
    c.header("Content-Type", "text/javascript; charset=utf-8");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(htmxSource);
  });

  app.get("/console/sign-in", async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token && (await loadSession(c.get("deps"), token))) return c.redirect("/console", 303);
    return html(c, SignInPage({}) as HtmlEscapedString);
  });
  app.post("/console/sign-in", async (c) => {
    if (!sameOrigin(c)) throw new GatewayError("FORBIDDEN", "The sign-in form came from another site.");
    const key = (await form(c)).key?.trim() ?? "";
    const signed = key && key.length <= 500 ? await signIn(c.get("deps"), key) : null;
    if (!signed) {
      return html(c, SignInPage({ error: "That key is unknown or revoked." }) as HtmlEscapedString, 403);
    }
    setSessionCookie(c, signed.token);
    return c.redirect("/console", 303);
  });

  app.use("/console", requireSession());
  app.use("/console/*", requireSession());

  app.post("/console/sign-out", async (c) => {
    await signOut(c.get("deps"), c.get("session").id);
    clearSessionCookie(c);
    return c.redirect("/console/sign-in", 303);
  });

  app.post("/console/zone", async (c) => {
    const zone = (await form(c)).zone ?? "";
    if (!IANAZone.isValidZone(zone)) throw new GatewayError("VALIDATION_FAILED", "Unknown time zone.");
    await setViewerZone(c.get("deps"), c.get("session").id, zone);
    const referer = c.req.header("referer");
    const back = referer && sameOrigin(c) ? new URL(referer).pathname : "/console";
    return c.redirect(back.startsWith("/console") ? back : "/console", 303);
  });

  app.get("/console", async (c) => {
    const ctx = servicesFor(c);
    if (!isProvider(ctx.principal)) return c.redirect("/console/tickets", 303);
    const now = ctx.now();
    const [counts, clocks, jobsNow, connections, outcomes, deliveries] = await Promise.all([
      openTicketCounts(ctx),
      clocksAtRisk(ctx),
      jobFacts(ctx),
      connectionRows(ctx),
      slaOutcomes(ctx, new Date(now.getTime() - 30 * 86_400_000)),
      deliveriesPerHour(ctx, new Date(now.getTime() - 86_400_000)),
    ]);
    const tally = (key: (r: (typeof counts)[number]) => string) => {
      const totals = new Map<string, number>();
      for (const r of counts) totals.set(key(r), (totals.get(key(r)) ?? 0) + Number(r.count));
      return [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([label, count]) => ({ label, count }));
    };
    const health = new Map<string, number>();
    for (const connection of connections)
      health.set(connection.health.state, (health.get(connection.health.state) ?? 0) + 1);
    return html(
      c,
      OverviewPage({
        viewer: viewerOf(c),
        openByStatus: tally((r) => r.status),
        openByPriority: tally((r) => r.priority),
        clocks,
        deadLetters: jobsNow.deadLetters,
        oldestPendingAt: jobsNow.oldestPendingAt,
        connectionsByHealth: [...health].map(([label, count]) => ({ label, count })),
        slaOutcomes: outcomes.map((o) => ({
          label: `${o.plan} ${o.priority}`,
          met: Number(o.met),
          breached: Number(o.breached),
        })),
        deliveries,
      }) as HtmlEscapedString,
    );
  });

  app.get("/console/tickets", async (c) => {
    const ctx = servicesFor(c);
    const parsed = TicketFilters.safeParse(
      Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== "")),
    );
    const { page, size, ...filters } = parsed.success ? parsed.data : { page: 1, size: 50 };
    const provider = isProvider(ctx.principal);
    const tenantList = provider ? (await listTenants(ctx, { limit: 200 })).items : [];
    const listed = await ticketListPage(ctx, filters, page, size);
    return html(
      c,
      TicketsPage({
        viewer: viewerOf(c),
        rows: listed.rows,
        filters,
        page,
        size,
        pages: Math.max(1, Math.ceil(listed.total / size)),
        total: listed.total,
        tenantIds: tenantList.map((t) => t.id),
        plans: [...new Set(tenantList.map((t) => t.plan))].sort(),
        ...messages(c),
      }) as HtmlEscapedString,
    );
  });

  app.get("/console/tickets/find", async (c) => {
    const key = parseForm(z.string().trim().min(1).max(200), c.req.query("key") ?? "");
    const id = await ticketIdByVendorKey(servicesFor(c), key);
    if (!id)
      return c.redirect(
        `/console/tickets?error=${encodeURIComponent(`No ticket is linked to ${key}.`)}`,
        303,
      );
    return c.redirect(`/console/tickets/${encodeURIComponent(id)}`, 303);
  });

  app.post("/console/tickets", async (c) => {
    const ctx = servicesFor(c);
    const body = await form(c);
    let created = "";
    const response = await act(c, "/console/tickets", async () => {
      const input = parseForm(CreateTicket, {
        title: body.title,
        ...(body.description ? { description: body.description } : {}),
        ...(body.priority ? { priority: body.priority } : {}),
        ...(body.tenantId ? { tenantId: body.tenantId } : {}),
      });
      created = (await createTicket(ctx, input)).id;
      return `Ticket ${created} opened.`;
    });
    return created
      ? c.redirect(`/console/tickets/${encodeURIComponent(created)}?done=opened`, 303)
      : response;
  });

  app.get("/console/tickets/:id", async (c) => {
    const ctx = servicesFor(c);
    const id = param(c, "id");
    const ticket = await getTicket(ctx, id);
    const provider = isProvider(ctx.principal);
    const [comments, delegations, zone] = await Promise.all([
      listComments(ctx, id, { limit: 200 }),
      listTicketDelegations(ctx, id),
      tenantZone(ctx, ticket.tenantId),
    ]);
    const ledger = provider ? (await listTicketLedger(ctx, id, { limit: 200 })).items : [];
    const ola = provider ? await ticketDelegationOla(ctx, id) : new Map();
    const chainVerified = provider ? (await verify(ctx, ticket.tenantId)).ok : null;
    const carriers = provider
      ? (await listConnections(ctx, { limit: 200 })).items.filter(
          (con) => con.role === "carrier" && con.state === "active",
        )
      : [];
    const from = ticket.status;
    const statuses = ticketStatuses.filter(
      (to) => isAllowedTransition(from, to) && (provider || isClientTransition(from, to)),
    );
    return html(
      c,
      TicketPage({
        viewer: viewerOf(c),
        data: {
          ticket,
          tenantZone: zone,
          comments: comments.items,
          links: provider ? await ticketLinks(ctx.db, id) : [],
          delegations: delegations.items.map((d) => ({ ...d, ola: ola.get(d.id) ?? null })),
          ledger,
          chainVerified,
          carriers: carriers.map((con) => ({ id: con.id, name: con.name })),
          statuses,
          etag: etagOf(ticket.version),
          ...messages(c),
        },
      }) as HtmlEscapedString,
    );
  });

  app.post("/console/tickets/:id/comments", async (c) => {
    const ctx = servicesFor(c);
    const id = param(c, "id");
    const body = await form(c);
    return act(c, `/console/tickets/${encodeURIComponent(id)}`, async () => {
      const input = parseForm(CreateComment, {
        body: body.body,
        visibility: isProvider(ctx.principal) ? body.visibility : "public",
      });
      await addComment(ctx, id, input);
      return `${input.visibility === "internal" ? "Internal note" : "Comment"} added.`;
    });
  });

  app.post("/console/tickets/:id/status", async (c) => {
    const ctx = servicesFor(c);
    const id = param(c, "id");
    const body = await form(c);
    return act(c, `/console/tickets/${encodeURIComponent(id)}`, async () => {
      const status = parseForm(TicketStatus, body.status);
      // The form carries the ETag the page was drawn at: a change made meanwhile is not overwritten.
      const ifMatchVersion = parseIfMatch(body.ifMatch ?? "");
      try {
        await updateTicket(ctx, id, { status }, { ifMatchVersion });
      } catch (error) {
        if (toGatewayError(error).status !== 412) throw error;
        throw new GatewayError(
          "PRECONDITION_FAILED",
          `The ticket changed meanwhile, so its status was not changed to ${status}. Here is its current state: check it and try again.`,
        );
      }
      return `Status changed to ${status}.`;
    });
  });

  app.post("/console/tickets/:id/delegations", async (c) => {
    const ctx = servicesFor(c);
    requireProviderPage(ctx.principal);
    const id = param(c, "id");
    const body = await form(c);
    return act(c, `/console/tickets/${encodeURIComponent(id)}`, async () => {
      const input = parseForm(CreateDelegation, {
        connectionId: body.connectionId,
        ...(body.reason ? { reason: body.reason } : {}),
      });
      await createDelegation(ctx, id, input);
      return "Delegated; the carrier ticket is being opened.";
    });
  });

  app.get("/console/connections", async (c) => {
    const ctx = servicesFor(c);
    return html(
      c,
      ConnectionsPage({
        viewer: viewerOf(c),
        connections: await connectionRows(ctx),
        ...messages(c),
      }) as HtmlEscapedString,
    );
  });

  app.post("/console/connections/:id/test", async (c) => {
    const ctx = servicesFor(c);
    const id = param(c, "id");
    return act(c, "/console/connections", async () => {
      const result = await testConnection(ctx, id);
      if (!result.ok) throw new GatewayError("CONFLICT", `Test of ${id} failed: ${result.detail}`);
      return `Test of ${id} passed: ${result.detail}`;
    });
  });

  for (const action of ["pause", "resume"] as const) {
    app.post(`/console/connections/:id/${action}`, async (c) => {
      const ctx = servicesFor(c);
      const id = param(c, "id");
      const body = await form(c);
      return act(c, "/console/connections", async () => {
        const reason = action === "pause" ? parseForm(PauseConnection, { reason: body.reason }).reason : null;
        await setConnectionPaused(ctx, id, action === "pause", reason);
        return `${id} ${action === "pause" ? "paused" : "resumed"}.`;
      });
    });
  }

  const DeadLetterSource = z.enum(["inbox", "outbox"]).optional();
  app.get("/console/dead-letters", async (c) => {
    const ctx = servicesFor(c);
    requireProviderPage(ctx.principal);
    const source = DeadLetterSource.safeParse(c.req.query("source") || undefined);
    const src = source.success ? source.data : undefined;
    const { items } = await listDeadLetters(ctx, { limit: 200, ...(src ? { source: src } : {}) });
    return html(
      c,
      DeadLettersPage({ viewer: viewerOf(c), items, source: src, ...messages(c) }) as HtmlEscapedString,
    );
  });

  const DeadLetterId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
  app.get("/console/dead-letters/:id", async (c) => {
    const ctx = servicesFor(c);
    requireProviderPage(ctx.principal);
    const id = DeadLetterId.safeParse(c.req.param("id"));
    if (!id.success) throw new GatewayError("NOT_FOUND", "No such dead letter.");
    return html(
      c,
      DeadLetterPage({ viewer: viewerOf(c), letter: await getDeadLetter(ctx, id.data) }) as HtmlEscapedString,
    );
  });

  app.post("/console/dead-letters/replay", async (c) => {
    const ctx = servicesFor(c);
    requireProviderPage(ctx.principal);
    const body = await form(c);
    return act(c, "/console/dead-letters", async () => {
      const connectionId = parseForm(idSegment, body.connectionId);
      const { replayed } = await replayDeadLetters(ctx, { connectionId });
      return `${replayed} dead letters of ${connectionId} replayed.`;
    });
  });

  for (const action of ["replay", "skip"] as const) {
    app.post(`/console/dead-letters/:id/${action}`, async (c) => {
      const ctx = servicesFor(c);
      requireProviderPage(ctx.principal);
      const id = DeadLetterId.safeParse(c.req.param("id"));
      if (!id.success) throw new GatewayError("NOT_FOUND", "No such dead letter.");
      return act(c, "/console/dead-letters", async () => {
        await settleDeadLetter(ctx, id.data, action);
        return `Dead letter ${id.data} ${action === "replay" ? "replayed" : "skipped"}.`;
      });
    });
  }

  /** The report window: from/to as dates or instants; the last 30 days by default. */
  const reportWindow = (c: C) => {
    const now = servicesFor(c).now();
    const asInstant = (value: string | undefined, fallback: Date) => {
      if (!value) return fallback.toISOString();
      return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
    };
    return {
      from: asInstant(c.req.query("from"), new Date(now.getTime() - 30 * 86_400_000)),
      to: asInstant(c.req.query("to"), new Date(now.getTime() + 86_400_000)),
    };
  };

  app.get("/console/reports", async (c) => {
    const ctx = servicesFor(c);
    requireProviderPage(ctx.principal);
    const window = reportWindow(c);
    const query = SlaReportQuery.safeParse(window);
    if (!query.success)
      throw new GatewayError("VALIDATION_FAILED", "from and to must be dates (YYYY-MM-DD).");
    const [carriers, sla] = await Promise.all([carrierReport(ctx, query.data), slaReport(ctx, query.data)]);
    return html(
      c,
      ReportsPage({
        viewer: viewerOf(c),
        from: query.data.from,
        to: query.data.to,
        carriers: carriers.carriers,
        sla: sla.groups as unknown as Record<string, string | number | null>[],
      }) as HtmlEscapedString,
    );
  });

  app.get("/console/reports/sla.csv", async (c) => {
    const ctx = servicesFor(c);
    requireProviderPage(ctx.principal);
    const query = SlaReportQuery.safeParse(reportWindow(c));
    if (!query.success)
      throw new GatewayError("VALIDATION_FAILED", "from and to must be dates (YYYY-MM-DD).");
    const report = await slaReport(ctx, query.data);
    c.header("Content-Type", "text/csv; charset=utf-8");
    c.header("Content-Disposition", 'attachment; filename="sla-report.csv"');
    return c.body(stringify(report.groups, { header: true }));
  });

  return app;
}
