import type { Child } from "hono/jsx";
import { DateTime } from "luxon";
import type { Principal } from "../auth/principal.js";

/** What every page needs to know about its viewer. */
export interface Viewer {
  principal: Principal;
  csrfToken: string;
  /** The zone times are shown in (the viewer's choice; UTC until chosen). */
  zone: string;
}

export const isProviderViewer = (viewer: Viewer) => viewer.principal.kind !== "tenant";

/** Zones offered in the viewer's select; the tenant's own zone is added when not among them. */
export const commonZones = [
  "UTC",
  "Europe/London",
  "Europe/Berlin",
  "Europe/Amsterdam",
  "America/New_York",
  "America/Chicago",
  "America/Los_Angeles",
  "Asia/Kolkata",
  "Asia/Singapore",
  "Asia/Tokyo",
  "Australia/Sydney",
] as const;

/** An instant in the viewer's zone, as a <time> whose machine value is the UTC instant. */
export function When({ at, zone }: { at: string | Date | null | undefined; zone: string }) {
  if (!at) return <span class="muted">—</span>;
  const instant = typeof at === "string" ? DateTime.fromISO(at, { zone: "utc" }) : DateTime.fromJSDate(at);
  if (!instant.isValid) return <span>{String(at)}</span>;
  return (
    <time datetime={instant.toUTC().toISO() ?? ""}>
      {instant.setZone(zone).toFormat("yyyy-LL-dd HH:mm ZZZZ")}
    </time>
  );
}

/** Every console form: POST, with the session's CSRF token. */
export function Form(props: {
  action: string;
  csrf: string;
  children: Child;
  class?: string;
  label?: string;
}) {
  return (
    <form method="post" action={props.action} class={props.class} aria-label={props.label}>
      <input type="hidden" name="_csrf" value={props.csrf} />
      {props.children}
    </form>
  );
}

const providerNav = [
  ["/console", "Overview"],
  ["/console/tickets", "Tickets"],
  ["/console/connections", "Connections"],
  ["/console/dead-letters", "Dead letters"],
  ["/console/reports", "Carriers & SLA"],
] as const;

const tenantNav = [
  ["/console/tickets", "Tickets"],
  ["/console/connections", "Connections"],
] as const;

export function Page(props: { title: string; viewer: Viewer | null; current?: string; children: Child }) {
  const { viewer } = props;
  const nav = viewer ? (isProviderViewer(viewer) ? providerNav : tenantNav) : [];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ticket-sync-gateway`}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/htmx.min.js" defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">ticket-sync-gateway</span>
          {viewer && (
            <nav aria-label="Console">
              <ul>
                {nav.map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={props.current === href ? "page" : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {viewer && (
            <div class="who">
              <span>{describePrincipal(viewer.principal)}</span>
              <Form action="/console/zone" csrf={viewer.csrfToken} class="inline" label="Time zone">
                <label for="viewer-zone">Times in</label>
                <select id="viewer-zone" name="zone">
                  {zoneOptions(viewer.zone).map((zone) => (
                    <option value={zone} selected={zone === viewer.zone}>
                      {zone}
                    </option>
                  ))}
                </select>
                <button type="submit">Set</button>
              </Form>
              <Form action="/console/sign-out" csrf={viewer.csrfToken} class="inline" label="Sign out">
                <button type="submit">Sign out</button>
              </Form>
            </div>
          )}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function zoneOptions(current: string): string[] {
  return (commonZones as readonly string[]).includes(current) ? [...commonZones] : [current, ...commonZones];
}

function describePrincipal(principal: Principal): string {
  switch (principal.kind) {
    case "admin":
      return "Admin";
    case "operator":
      return `Operator ${principal.operatorId}`;
    case "tenant":
      return `Tenant ${principal.tenantId}`;
  }
}

/** A notice after an action (`?done=...`) or an error. */
export function Notice({ text, kind }: { text: string | undefined; kind: "ok" | "error" }) {
  if (!text) return null;
  return (
    <p class={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {text}
    </p>
  );
}

/** A data table with column headers, in a focusable region that scrolls sideways on narrow screens. */
export function Table(props: {
  caption?: string;
  columns: (string | false)[];
  empty: string;
  rows: Child[];
}) {
  const columns = props.columns.filter((column): column is string => column !== false);
  return (
    <div class="scroll" tabindex={0}>
      <table>
        {props.caption && <caption>{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colspan={columns.length}>{props.empty}</td>
            </tr>
          ) : (
            props.rows
          )}
        </tbody>
      </table>
    </div>
  );
}
