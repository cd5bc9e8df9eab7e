import { Form, Notice, Page, Table, type Viewer, When } from "./layout.js";

export function SignInPage(props: { error?: string | undefined }) {
  return (
    <Page title="Sign in" viewer={null}>
      <Notice text={props.error} kind="error" />
      <p>
        Sign in with the admin token, an operator key or a tenant key. It is exchanged for a session; the key
        itself is not kept in the browser.
      </p>
      <form method="post" action="/console/sign-in" class="stack" aria-label="Sign in">
        <div class="field">
          <label for="key">Key</label>
          <input id="key" name="key" type="password" autocomplete="off" required maxlength={500} />
        </div>
        <button type="submit">Sign in</button>
      </form>
    </Page>
  );
}

export function ErrorPage(props: { viewer: Viewer | null; status: number; detail: string }) {
  return (
    <Page
      title={props.status === 404 ? "Not found" : props.status === 403 ? "Refused" : "Error"}
      viewer={props.viewer}
    >
      <p role="alert">{props.detail}</p>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Page>
  );
}

/** Replay and skip of one dead letter. */
function SettleActions({ id, viewer }: { id: number; viewer: Viewer }) {
  return (
    <>
      {(["replay", "skip"] as const).map((action) => (
        <Form
          action={`/console/dead-letters/${id}/${action}`}
          csrf={viewer.csrfToken}
          class="inline"
          label={`${action === "replay" ? "Replay" : "Skip"} dead letter ${id}`}
        >
          <button type="submit">{action === "replay" ? "Replay" : "Skip"}</button>
        </Form>
      ))}
    </>
  );
}

export interface DeadLetterView {
  id: number;
  source: string;
  connectionId: string;
  ticketId: string | null;
  externalId: string | null;
  tenantId: string | null;
  kind: string;
  attempts: number;
  lastError: string | null;
  lastHttpStatus: number | null;
  reason: string | null;
  deadAt: string | null;
}

export function DeadLettersPage(props: {
  viewer: Viewer;
  items: DeadLetterView[];
  source: string | undefined;
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const { viewer } = props;
  const connections = [...new Set(props.items.map((d) => d.connectionId))];
  return (
    <Page title="Dead letters" viewer={viewer} current="/console/dead-letters">
      <Notice text={props.notice} kind="ok" />
      <Notice text={props.error} kind="error" />
      <nav aria-label="Dead letter source" class="tabs">
        <a href="/console/dead-letters" aria-current={props.source ? undefined : "page"}>
          All
        </a>
        <a
          href="/console/dead-letters?source=inbox"
          aria-current={props.source === "inbox" ? "page" : undefined}
        >
          Inbox
        </a>
        <a
          href="/console/dead-letters?source=outbox"
          aria-current={props.source === "outbox" ? "page" : undefined}
        >
          Outbox
        </a>
      </nav>
      <Table
        columns={["#", "Source", "Job", "Connection", "Ticket / record", "Reason", "Died", "Actions"]}
        empty="No dead letters."
        rows={props.items.map((d) => (
          <tr>
            <td>
              <a href={`/console/dead-letters/${d.id}`}>{d.id}</a>
            </td>
            <td>{d.source}</td>
            <td>{d.kind}</td>
            <td>{d.connectionId}</td>
            <td>
              {d.ticketId ? (
                <a href={`/console/tickets/${encodeURIComponent(d.ticketId)}`}>{d.ticketId}</a>
              ) : (
                (d.externalId ?? "—")
              )}
            </td>
            <td>
              {d.reason ?? "—"}
              <div class="muted small">
                {d.lastHttpStatus ? `HTTP ${d.lastHttpStatus}: ` : ""}
                {d.lastError ?? ""} ({d.attempts} attempts)
              </div>
            </td>
            <td>
              <When at={d.deadAt} zone={viewer.zone} />
            </td>
            <td class="actions">
              <SettleActions id={d.id} viewer={viewer} />
            </td>
          </tr>
        ))}
      />
      {connections.length > 0 && (
        <Form
          action="/console/dead-letters/replay"
          csrf={viewer.csrfToken}
          class="inline"
          label="Bulk replay"
        >
          <div class="field">
            <label for="bulk-connection">Replay every dead letter of</label>
            <select id="bulk-connection" name="connectionId">
              {connections.map((id) => (
                <option value={id}>{id}</option>
              ))}
            </select>
          </div>
          <button type="submit">Replay all</button>
        </Form>
      )}
    </Page>
  );
}

export function DeadLetterPage(props: {
  viewer: Viewer;
  letter: DeadLetterView & {
    payload: Record<string, unknown>;
    notice: Record<string, unknown> | null;
    attemptHistory: { sequence: number; kind: string; occurredAt: string; detail: Record<string, unknown> }[];
  };
}) {
  const { viewer, letter } = props;
  return (
    <Page title={`Dead letter ${letter.id}`} viewer={viewer} current="/console/dead-letters">
      <dl class="facts">
        <dt>Job</dt>
        <dd>
          {letter.kind} ({letter.source})
        </dd>
        <dt>Connection</dt>
        <dd>{letter.connectionId}</dd>
        <dt>Reason</dt>
        <dd>{letter.reason ?? "—"}</dd>
        <dt>Last error</dt>
        <dd>{letter.lastError ?? "—"}</dd>
      </dl>
      <div class="actions">
        <SettleActions id={letter.id} viewer={viewer} />
      </div>
      <h2>Attempts</h2>
      <Table
        columns={["#", "When", "Step", "Detail"]}
        empty=""
        rows={letter.attemptHistory.map((a) => (
          <tr>
            <td>{a.sequence}</td>
            <td>
              <When at={a.occurredAt} zone={viewer.zone} />
            </td>
            <td>{a.kind}</td>
            <td>
              <code class="wrap">{JSON.stringify(a.detail)}</code>
            </td>
          </tr>
        ))}
      />
      <h2>Payload</h2>
      <pre>{JSON.stringify(letter.payload, null, 2)}</pre>
      {letter.notice && (
        <>
          <h2>Stored notice</h2>
          <pre>{JSON.stringify(letter.notice, null, 2)}</pre>
        </>
      )}
    </Page>
  );
}

/** A horizontal bar chart as inline SVG: one labelled row per item, stacked segments. */
export function BarChart(props: {
  title: string;
  rows: { label: string; segments: { value: number; tone: string; name: string }[] }[];
}) {
  const rowHeight = 22;
  const labelWidth = 110;
  const width = 420;
  const max = Math.max(1, ...props.rows.map((r) => r.segments.reduce((s, seg) => s + seg.value, 0)));
  const scale = (width - labelWidth - 40) / max;
  const height = Math.max(rowHeight, props.rows.length * rowHeight);
  const summary = props.rows
    .map((r) => `${r.label}: ${r.segments.map((s) => `${s.value} ${s.name}`).join(", ")}`)
    .join("; ");
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      {props.rows.length === 0 ? (
        <p class="muted">No data yet.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${props.title}: ${summary}`}>
          {props.rows.map((row, i) => {
            let x = labelWidth;
            const total = row.segments.reduce((s, seg) => s + seg.value, 0);
            return (
              <g>
                <text x={0} y={i * rowHeight + 15} class="chart-label">
                  {row.label}
                </text>
                {row.segments.map((seg) => {
                  const w = seg.value * scale;
                  const rect = (
                    <rect
                      x={x}
                      y={i * rowHeight + 3}
                      width={w}
                      height={rowHeight - 6}
                      class={`seg ${seg.tone}`}
                    />
                  );
                  x += w;
                  return rect;
                })}
                <text x={x + 4} y={i * rowHeight + 15} class="chart-label">
                  {total}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}

export function OverviewPage(props: {
  viewer: Viewer;
  openByStatus: { label: string; count: number }[];
  openByPriority: { label: string; count: number }[];
  clocks: { atRisk: number; breached: number };
  deadLetters: number;
  oldestPendingAt: Date | null;
  connectionsByHealth: { label: string; count: number }[];
  slaOutcomes: { label: string; met: number; breached: number }[];
  deliveries: { hour: string; count: number }[];
}) {
  const { viewer } = props;
  const counts = (
    rows: { label: string; count: number }[],
    tone: (label: string) => string = () => "count",
  ) => rows.map((r) => ({ label: r.label, segments: [{ value: r.count, tone: tone(r.label), name: "" }] }));
  const healthTone = (state: string) =>
    state === "failing" ? "bad" : state === "degraded" || state === "paused" ? "warn" : "ok";
  return (
    <Page title="Overview" viewer={viewer} current="/console">
      <ul class="tiles">
        <li>
          <span class="big">{props.openByStatus.reduce((s, r) => s + r.count, 0)}</span> open tickets
        </li>
        <li>
          <span class="big">{props.clocks.atRisk}</span> SLA clocks at risk
        </li>
        <li>
          <span class="big">{props.clocks.breached}</span> SLA clocks breached
        </li>
        <li>
          <a href="/console/dead-letters">
            <span class="big">{props.deadLetters}</span> dead letters open
          </a>
        </li>
        <li>
          Oldest pending job: <When at={props.oldestPendingAt} zone={viewer.zone} />
        </li>
      </ul>
      <div class="charts">
        <BarChart title="Open tickets by priority" rows={counts(props.openByPriority)} />
        <BarChart title="Open tickets by state" rows={counts(props.openByStatus)} />
        <BarChart title="Connections by health" rows={counts(props.connectionsByHealth, healthTone)} />
        <BarChart
          title="Resolution SLA, last 30 days (met / breached) per plan and priority"
          rows={props.slaOutcomes.map((r) => ({
            label: r.label,
            segments: [
              { value: r.met, tone: "ok", name: "met" },
              { value: r.breached, tone: "bad", name: "breached" },
            ],
          }))}
        />
        <BarChart
          title="Deliveries per hour, last 24 hours"
          rows={props.deliveries.map((d) => ({
            label: d.hour.slice(11, 16),
            segments: [{ value: d.count, tone: "ok", name: "deliveries" }],
          }))}
        />
      </div>
    </Page>
  );
}

type ReportGroup = Record<string, string | number | null>;

export function ReportsPage(props: {
  viewer: Viewer;
  from: string;
  to: string;
  carriers: ReportGroup[];
  sla: ReportGroup[];
  error?: string | undefined;
}) {
  const { viewer } = props;
  const csv = `/console/reports/sla.csv?from=${encodeURIComponent(props.from)}&to=${encodeURIComponent(props.to)}`;
  const table = (caption: string, rows: ReportGroup[]) => {
    const columns = rows[0] ? Object.keys(rows[0]) : [];
    return (
      <Table
        caption={caption}
        columns={columns}
        empty="Nothing in this window."
        rows={rows.map((row) => (
          <tr>
            {columns.map((c) => (
              <td>{row[c] ?? "—"}</td>
            ))}
          </tr>
        ))}
      />
    );
  };
  return (
    <Page title="Carriers and SLA" viewer={viewer} current="/console/reports">
      <Notice text={props.error} kind="error" />
      <form method="get" action="/console/reports" class="filters" aria-label="Report window">
        <div class="field">
          <label for="r-from">From (UTC date)</label>
          <input id="r-from" name="from" type="date" value={props.from.slice(0, 10)} />
        </div>
        <div class="field">
          <label for="r-to">To (UTC date)</label>
          <input id="r-to" name="to" type="date" value={props.to.slice(0, 10)} />
        </div>
        <button type="submit">Show</button>
      </form>
      <h2>Carriers and OLA</h2>
      {table("Delegations per carrier", props.carriers)}
      <h2>SLA report</h2>
      <p>
        <a href={csv} download="sla-report.csv">
          Download the SLA report as CSV
        </a>
      </p>
      {table("SLA per priority", props.sla)}
    </Page>
  );
}
