import type { z } from "zod";
import type { SetupStep } from "../../connectors/sdk/index.js";
import type { ClockView, TicketSla } from "../../schemas/sla.js";
import { priorityLevels, type Ticket, ticketStatuses } from "../../schemas/ticket.js";
import type { OlaMeasure } from "../sync/carrier.js";
import type { ConnectionHealthView } from "./health.js";
import { Form, isProviderViewer, Notice, Page, Table, type Viewer, When } from "./layout.js";
import { nextDue } from "./queries.js";

type Clock = z.infer<typeof ClockView>;
type Sla = z.infer<typeof TicketSla>;

const clockNames = ["response", "update", "resolution"] as const;

function duration(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  const abs = Math.abs(seconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  return `${sign}${h} h ${m} min`;
}

/** Remaining business time as a bar (a day of business time fills it) with the due instant in the tenant's zone. */
export function ClockBar({
  clock,
  tenantZone,
  viewer,
}: {
  clock: Clock | null;
  tenantZone: string;
  viewer: Viewer;
}) {
  if (!clock || clock.remainingBusinessSeconds === null) return <span class="muted">no running clock</span>;
  const remaining = clock.remainingBusinessSeconds;
  const fill = Math.max(0, Math.min(1, remaining / (8 * 3600)));
  const tone = clock.state === "breached" || remaining <= 0 ? "bad" : fill < 0.25 ? "warn" : "ok";
  return (
    <div class="clock">
      <div class="bar" role="img" aria-label={`${duration(remaining)} business time left`}>
        <span class={`fill ${tone}`} style={`width:${Math.round(fill * 100)}%`} />
      </div>
      <span>
        {clock.state === "breached" ? "breached" : `${duration(remaining)} left`}
        {clock.dueAt && (
          <>
            {" · due "}
            <When at={clock.dueAt} zone={viewer.zone} />
            {viewer.zone !== tenantZone && (
              <>
                {" ("}
                <When at={clock.dueAt} zone={tenantZone} />
                {")"}
              </>
            )}
          </>
        )}
      </span>
    </div>
  );
}

export interface TicketRowView {
  ticket: Ticket;
  sla: Sla;
  tenantZone: string;
}

export interface TicketFilters {
  tenantId?: string | undefined;
  status?: string | undefined;
  priority?: string | undefined;
  plan?: string | undefined;
  sla?: string | undefined;
}

function Select(props: {
  id: string;
  label: string;
  name: string;
  value: string | undefined;
  options: readonly string[];
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name}>
        <option value="">any</option>
        {props.options.map((option) => (
          <option value={option} selected={option === props.value}>
            {option}
          </option>
        ))}
      </select>
    </div>
  );
}

export function TicketsPage(props: {
  viewer: Viewer;
  rows: TicketRowView[];
  filters: TicketFilters;
  page: number;
  size: number;
  pages: number;
  total: number;
  tenantIds: string[];
  plans: string[];
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const { viewer } = props;
  const provider = isProviderViewer(viewer);
  const pageHref = (page: number) => {
    const query = new URLSearchParams(
      Object.entries(props.filters).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    query.set("page", String(page));
    if (props.size !== 50) query.set("size", String(props.size));
    return `/console/tickets?${query}`;
  };
  return (
    <Page title={provider ? "Tickets" : "Your tickets"} viewer={viewer} current="/console/tickets">
      <Notice text={props.notice} kind="ok" />
      <Notice text={props.error} kind="error" />
      <form method="get" action="/console/tickets/find" class="inline" aria-label="Find by vendor key">
        <div class="field">
          <label for="find-key">Vendor key (INC0010001, HELP-1, Zendesk number)</label>
          <input id="find-key" name="key" required maxlength={200} />
        </div>
        <button type="submit">Find</button>
      </form>
      <form method="get" action="/console/tickets" class="filters" aria-label="Filter tickets">
        {provider && (
          <Select
            id="f-tenant"
            label="Tenant"
            name="tenantId"
            value={props.filters.tenantId}
            options={props.tenantIds}
          />
        )}
        <Select
          id="f-status"
          label="Status"
          name="status"
          value={props.filters.status}
          options={ticketStatuses}
        />
        <Select
          id="f-priority"
          label="Priority"
          name="priority"
          value={props.filters.priority}
          options={priorityLevels}
        />
        {provider && (
          <Select id="f-plan" label="Plan" name="plan" value={props.filters.plan} options={props.plans} />
        )}
        <Select
          id="f-sla"
          label="SLA state"
          name="sla"
          value={props.filters.sla}
          options={["breached", "running", "paused", "met", "none"]}
        />
        <button type="submit">Filter</button>
      </form>
      <Table
        caption={`Sorted by business time remaining, least first; then settled tickets, latest update first. ${props.total} tickets.`}
        columns={["Ticket", provider && "Tenant", "Priority", "Status", "SLA", "Updated"]}
        empty="No tickets match."
        rows={props.rows.map(({ ticket, sla, tenantZone }) => (
          <tr>
            <td>
              <a href={`/console/tickets/${encodeURIComponent(ticket.id)}`}>{ticket.title}</a>
              <div class="muted small">{ticket.id}</div>
            </td>
            {provider && <td>{ticket.tenantId}</td>}
            <td>{ticket.priority}</td>
            <td>{ticket.status}</td>
            <td>
              <ClockBar clock={nextDue(sla)} tenantZone={tenantZone} viewer={viewer} />
            </td>
            <td>
              <When at={ticket.updatedAt} zone={viewer.zone} />
            </td>
          </tr>
        ))}
      />
      {props.pages > 1 && (
        <nav aria-label="Pages" class="pages">
          {props.page > 1 && (
            <a href={pageHref(props.page - 1)} rel="prev">
              Previous
            </a>
          )}
          <span aria-current="page">
            Page {props.page} of {props.pages}
          </span>
          {props.page < props.pages && (
            <a href={pageHref(props.page + 1)} rel="next">
              Next
            </a>
          )}
        </nav>
      )}
      {!provider && (
        <section aria-labelledby="open-heading">
          <h2 id="open-heading">Open a ticket</h2>
          <Form action="/console/tickets" csrf={viewer.csrfToken} class="stack" label="Open a ticket">
            <div class="field">
              <label for="new-title">Title</label>
              <input id="new-title" name="title" required maxlength={500} />
            </div>
            <div class="field">
              <label for="new-description">Description</label>
              <textarea id="new-description" name="description" rows={4} />
            </div>
            <div class="field">
              <label for="new-priority">Priority</label>
              <select id="new-priority" name="priority">
                {priorityLevels.map((p) => (
                  <option value={p} selected={p === "P3"}>
                    {p}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit">Open ticket</button>
          </Form>
        </section>
      )}
    </Page>
  );
}

export interface TicketPageData {
  ticket: Ticket & { sla: Sla };
  tenantZone: string;
  comments: {
    id: string;
    body: string;
    visibility: string;
    side: string;
    author: { type: string; id: string | null };
    createdAt: string;
  }[];
  links: {
    connectionId: string;
    externalId: string | null;
    externalKey: string | null;
    url: string | null;
  }[];
  delegations: {
    id: string;
    connectionId: string;
    state: string;
    carrierTicketId: string | null;
    carrierStatus: string | null;
    acknowledgedAt: string | null;
    resolvedAt: string | null;
    createdAt: string;
    /** The provider's OLA view; null in the portal. */
    ola: { acknowledge: OlaMeasure; restore: OlaMeasure } | null;
  }[];
  ledger: {
    sequence: number;
    occurredAt: string;
    kind: string;
    direction: string;
    connectionId: string | null;
    actor: { type: string; id: string | null };
    detail: Record<string, unknown>;
  }[];
  chainVerified: boolean | null;
  carriers: { id: string; name: string }[];
  statuses: readonly string[];
  /** The ticket's ETag as drawn: the status form sends it back as If-Match. */
  etag: string;
  notice?: string | undefined;
  error?: string | undefined;
}

/** Attempt, status and latency when the ledger entry recorded them (sync steps do). */
function stepFacts(detail: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, label] of [
    ["attempt", "attempt"],
    ["httpStatus", "HTTP"],
    ["status", "status"],
    ["latencyMs", "ms"],
    ["durationMs", "ms"],
  ] as const) {
    const value = detail[key];
    if (typeof value === "number" || typeof value === "string")
      parts.push(label === "ms" ? `${value} ms` : `${label} ${value}`);
  }
  return parts.join(" · ");
}

/** Business time taken against the OLA target, with its mark (met, breached, running). */
function OlaCell({ measure }: { measure: OlaMeasure }) {
  const taken = duration(measure.businessSeconds);
  if (measure.targetSeconds === null) return <span class="muted">{taken} · no target</span>;
  const tone = measure.state === "breached" ? "bad" : measure.state === "met" ? "ok" : "warn";
  return (
    <span>
      {taken} of {duration(measure.targetSeconds)} <span class={`badge ${tone}`}>{measure.state}</span>
    </span>
  );
}

export function TicketPage({ viewer, data }: { viewer: Viewer; data: TicketPageData }) {
  const { ticket } = data;
  const provider = isProviderViewer(viewer);
  const base = `/console/tickets/${encodeURIComponent(ticket.id)}`;
  return (
    <Page title={ticket.title} viewer={viewer} current="/console/tickets">
      <Notice text={data.notice} kind="ok" />
      <Notice text={data.error} kind="error" />
      <dl class="facts">
        <dt>Ticket</dt>
        <dd>{ticket.id}</dd>
        <dt>Tenant</dt>
        <dd>
          {ticket.tenantId} <span class="muted">(zone {data.tenantZone})</span>
        </dd>
        <dt>Status</dt>
        <dd>{ticket.status}</dd>
        <dt>Priority</dt>
        <dd>{ticket.priority}</dd>
        <dt>Plan</dt>
        <dd>{ticket.sla.plan ?? "—"}</dd>
        <dt>Opened</dt>
        <dd>
          <When at={ticket.createdAt} zone={viewer.zone} />
        </dd>
      </dl>
      {ticket.description && <p class="description">{ticket.description}</p>}

      <h2>SLA clocks</h2>
      <Table
        columns={["Clock", "State", "Remaining", "Met"]}
        empty=""
        rows={clockNames.map((name) => {
          const clock = ticket.sla[name];
          return (
            <tr>
              <th scope="row">{name}</th>
              <td>{clock.state}</td>
              <td>
                {clock.state === "running" || clock.state === "paused" || clock.state === "breached" ? (
                  <ClockBar clock={clock} tenantZone={data.tenantZone} viewer={viewer} />
                ) : (
                  "—"
                )}
              </td>
              <td>
                <When at={clock.metAt} zone={viewer.zone} />
              </td>
            </tr>
          );
        })}
      />

      <h2>Comments</h2>
      <ol class="comments">
        {data.comments.length === 0 && <li class="muted">No comments yet.</li>}
        {data.comments.map((comment) => (
          <li class={comment.visibility === "internal" ? "internal" : ""}>
            <div class="meta">
              {comment.author.type}
              {comment.author.id ? ` ${comment.author.id}` : ""} · {comment.side} ·{" "}
              <strong>{comment.visibility}</strong> · <When at={comment.createdAt} zone={viewer.zone} />
            </div>
            <p>{comment.body}</p>
          </li>
        ))}
      </ol>
      <Form action={`${base}/comments`} csrf={viewer.csrfToken} class="stack" label="Add a comment">
        <div class="field">
          <label for="comment-body">{provider ? "Comment" : "Reply"}</label>
          <textarea id="comment-body" name="body" rows={3} required maxlength={20000} />
        </div>
        {provider ? (
          <fieldset>
            <legend>Visibility</legend>
            <label>
              <input type="radio" name="visibility" value="public" checked /> public
            </label>
            <label>
              <input type="radio" name="visibility" value="internal" /> internal
            </label>
          </fieldset>
        ) : (
          <input type="hidden" name="visibility" value="public" />
        )}
        <button type="submit">{provider ? "Add comment" : "Reply"}</button>
      </Form>

      {data.statuses.length > 0 && (
        <Form action={`${base}/status`} csrf={viewer.csrfToken} class="inline" label="Change status">
          <input type="hidden" name="ifMatch" value={data.etag} />
          <div class="field">
            <label for="new-status">Change status to</label>
            <select id="new-status" name="status">
              {data.statuses.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </div>
          <button type="submit">Change status</button>
        </Form>
      )}

      {provider && (
        <>
          <h2>Vendor records</h2>
          <ul>
            {data.links.length === 0 && <li class="muted">Not linked to any vendor record.</li>}
            {data.links.map((link) => (
              <li>
                {link.connectionId}:{" "}
                {link.url ? (
                  <a href={link.url} rel="noreferrer noopener">
                    {link.externalKey ?? link.externalId}
                  </a>
                ) : (
                  (link.externalKey ?? link.externalId ?? "pending")
                )}
              </li>
            ))}
          </ul>
        </>
      )}

      <h2>Delegations</h2>
      <Table
        caption={provider ? "Delegations with OLA business time against the carrier's targets" : undefined}
        columns={[
          provider && "Carrier",
          "State",
          provider && "Carrier ticket",
          "Delegated",
          "Acknowledged",
          "Resolved",
          provider && "OLA acknowledge",
          provider && "OLA restore",
        ]}
        empty="None."
        rows={data.delegations.map((d) => (
          <tr>
            {provider && <td>{d.connectionId}</td>}
            <td>{d.state}</td>
            {provider && (
              <td>
                {d.carrierTicketId ?? "—"}
                {d.carrierStatus ? ` (${d.carrierStatus})` : ""}
              </td>
            )}
            <td>
              <When at={d.createdAt} zone={viewer.zone} />
            </td>
            <td>
              <When at={d.acknowledgedAt} zone={viewer.zone} />
            </td>
            <td>
              <When at={d.resolvedAt} zone={viewer.zone} />
            </td>
            {d.ola && (
              <>
                <td>
                  <OlaCell measure={d.ola.acknowledge} />
                </td>
                <td>
                  <OlaCell measure={d.ola.restore} />
                </td>
              </>
            )}
          </tr>
        ))}
      />
      {provider && data.carriers.length > 0 && (
        <Form
          action={`${base}/delegations`}
          csrf={viewer.csrfToken}
          class="inline"
          label="Delegate to a carrier"
        >
          <div class="field">
            <label for="carrier">Delegate to</label>
            <select id="carrier" name="connectionId">
              {data.carriers.map((c) => (
                <option value={c.id}>{c.name}</option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="delegate-reason">Reason</label>
            <input id="delegate-reason" name="reason" maxlength={2000} />
          </div>
          <button type="submit">Delegate</button>
        </Form>
      )}

      {provider && (
        <>
          <h2>
            Ledger timeline {data.chainVerified === true && <span class="badge ok">chain verified</span>}
            {data.chainVerified === false && <span class="badge bad">chain broken</span>}
          </h2>
          <Table
            columns={["#", "When", "Step", "Direction", "Connection", "Actor", "Attempt · status · latency"]}
            empty=""
            rows={data.ledger.map((entry) => (
              <tr>
                <td>{entry.sequence}</td>
                <td>
                  <When at={entry.occurredAt} zone={viewer.zone} />
                </td>
                <td>{entry.kind}</td>
                <td>{entry.direction}</td>
                <td>{entry.connectionId ?? "—"}</td>
                <td>
                  {entry.actor.type}
                  {entry.actor.id ? ` ${entry.actor.id}` : ""}
                </td>
                <td>{stepFacts(entry.detail) || "—"}</td>
              </tr>
            ))}
          />
        </>
      )}
    </Page>
  );
}

export interface ConnectionRowView {
  id: string;
  name: string;
  type: string;
  role: string;
  tenantId: string | null;
  setup: { webhookUrl: string; steps: readonly SetupStep[] };
  paused: { reason: string | null; by: string | null; at: string | null } | null;
  health: ConnectionHealthView;
}

/** What the vendor's admin sets up so its events reach the gateway, as the connection's connector says. */
function SetupSteps({ connection }: { connection: ConnectionRowView }) {
  return (
    <details>
      <summary>Vendor-side setup</summary>
      <ol class="setup">
        {connection.setup.steps.map((step) => (
          <li>
            <strong>{step.title}.</strong> {step.detail}
            {step.code && <pre>{step.code}</pre>}
            <div class="muted small">
              docs/connectors/{connection.type}.md#{step.docAnchor}
            </div>
          </li>
        ))}
        <li>
          <strong>Test.</strong> Press “Test” here: it checks reachability and credentials.
        </li>
      </ol>
    </details>
  );
}

export function ConnectionsPage(props: {
  viewer: Viewer;
  connections: ConnectionRowView[];
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const { viewer } = props;
  return (
    <Page title="Connections" viewer={viewer} current="/console/connections">
      <Notice text={props.notice} kind="ok" />
      <Notice text={props.error} kind="error" />
      {props.connections.length === 0 && <p>No connections.</p>}
      {props.connections.map((c) => {
        const base = `/console/connections/${encodeURIComponent(c.id)}`;
        return (
          <section class="card" aria-labelledby={`con-${c.id}`}>
            <h2 id={`con-${c.id}`}>
              {c.name} <span class={`badge ${c.health.state}`}>{c.health.state}</span>
            </h2>
            <dl class="facts">
              <dt>Id</dt>
              <dd>{c.id}</dd>
              <dt>Type</dt>
              <dd>
                {c.type} ({c.role}){c.tenantId ? ` · tenant ${c.tenantId}` : ""}
              </dd>
              <dt>Backlog</dt>
              <dd>{c.health.backlog} jobs waiting</dd>
              <dt>Dead letters</dt>
              <dd>{c.health.deadLetters}</dd>
              <dt>Last success</dt>
              <dd>
                <When at={c.health.lastSuccessAt} zone={viewer.zone} />
              </dd>
              <dt>Last error</dt>
              <dd>
                {c.health.lastFailureReason ?? "—"}
                {c.health.lastFailureAt && (
                  <>
                    {" · "}
                    <When at={c.health.lastFailureAt} zone={viewer.zone} />
                  </>
                )}
              </dd>
              {c.paused && (
                <>
                  <dt>Paused</dt>
                  <dd>
                    {c.paused.reason ?? "no reason"} by {c.paused.by ?? "?"} ·{" "}
                    <When at={c.paused.at} zone={viewer.zone} />
                  </dd>
                </>
              )}
              <dt>Webhook URL</dt>
              <dd>
                <code>{c.setup.webhookUrl}</code>
              </dd>
            </dl>
            <SetupSteps connection={c} />
            <div class="actions">
              <Form action={`${base}/test`} csrf={viewer.csrfToken} class="inline" label={`Test ${c.name}`}>
                <button type="submit">Test</button>
              </Form>
              {c.paused ? (
                <Form
                  action={`${base}/resume`}
                  csrf={viewer.csrfToken}
                  class="inline"
                  label={`Resume ${c.name}`}
                >
                  <button type="submit">Resume</button>
                </Form>
              ) : (
                <Form
                  action={`${base}/pause`}
                  csrf={viewer.csrfToken}
                  class="inline"
                  label={`Pause ${c.name}`}
                >
                  <label for={`reason-${c.id}`}>Reason</label>
                  <input id={`reason-${c.id}`} name="reason" required maxlength={500} />
                  <button type="submit">Pause</button>
                </Form>
              )}
            </div>
          </section>
        );
      })}
    </Page>
  );
}
