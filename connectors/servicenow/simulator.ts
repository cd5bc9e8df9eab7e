import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Context, Hono } from "hono";
import { type CommonFault, createSimulatorKit, readCredentials } from "../sdk/testing/simulator-kit.js";
import { toServiceNowDateTime } from "./mapping.js";

export type { FaultMatch } from "../sdk/testing/simulator-kit.js";

// An in-memory ServiceNow instance for the Table API calls the connector makes, for tests,
// local development and demos. It follows the documented behaviour where we know it and
// fails loudly where the real instance would silently ignore a mistake (see `queryError`).
// https://www.servicenow.com/docs/r/australia/api-reference/rest-apis/c_TableAPI.html

export interface SimulatorCredentials {
  username: string;
  password: string;
}

export interface SimulatorWebhookOptions {
  /** Where the business rule posts, i.e. the gateway's webhook URL for the connection. */
  url: string;
  /** Sent as `Authorization: Bearer <secret>`. */
  secret: string;
  /**
   * Also notify changes made by the integration user, like a business rule without the
   * recommended `gs.getUserName() != '<integration user>'` condition. Default false.
   */
  includeIntegrationUser?: boolean;
}

export interface ServiceNowSimulatorOptions {
  /** The only account accepted by Basic auth. Default `svc.ticketsync` / `simulator-password`. */
  integrationUser?: SimulatorCredentials;
  /** Base of links in responses and Link headers; set it once the listening port is known. */
  instanceUrl?: string;
  webhook?: SimulatorWebhookOptions;
  now?: () => Date;
  /** Delivers webhooks. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * A fault consumed by the next `times` matching Table API requests (or webhooks). `timeout` is an overloaded
 * instance; `drop-webhooks` a lost business rule call (RESTMessageV2 has no retry).
 */
export type SimulatorFault = CommonFault;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  user: string | null;
}

/** The JSON our business rule posts (docs/connectors/servicenow.md). */
export interface BusinessRulePayload {
  sys_id: string;
  number: string;
  sys_updated_on: string;
  sys_mod_count: string;
  operation: "insert" | "update";
}

export interface WebhookDelivery {
  payload: BusinessRulePayload;
  /** Response status, or null when the delivery failed. */
  status: number | null;
  error?: string;
}

/** Rows hold database values: strings, references as bare sys_ids. */
export type SimulatorRow = Record<string, string>;

export interface SimulatorState {
  incidents: Map<string, SimulatorRow>;
  journal: SimulatorRow[];
  /** `task_time_worked` rows. */
  timeWorked: SimulatorRow[];
  users: Map<string, SimulatorRow>;
}

export interface ServiceNowSimulator {
  app: Hono;
  state: SimulatorState;
  /** Push faults here; each is removed once used `times` times. */
  faults: SimulatorFault[];
  /** Every Table API request received, in order. */
  requests: RecordedRequest[];
  webhooks: { delivered: WebhookDelivery[]; dropped: BusinessRulePayload[] };
  integrationUser: SimulatorCredentials;
  setInstanceUrl(url: string): void;
  /** A human edit in ServiceNow: fields as the form would save them (journal fields append). */
  simulateAgentUpdate(
    sysId: string,
    fields: Record<string, string>,
    options?: { user?: string },
  ): SimulatorRow;
  /** A human saving time worked on an incident (seconds), as the form's timer does. */
  simulateAgentTimeWorked(
    sysId: string,
    entry: { seconds: number; comments?: string },
    options?: { user?: string },
  ): SimulatorRow;
  /** A human creating an incident in ServiceNow. */
  simulateAgentInsert(fields: Record<string, string>, options?: { user?: string }): SimulatorRow;
  /** Resolves when every webhook delivery started so far has finished. */
  settled(): Promise<void>;
}

/** Seeded sys_user rows; the caller matches the docs' example records. */
export const simulatorUsers = {
  agent: { sys_id: "681b365ec0a80164000fb0b05854a0cd", user_name: "agent.smith", name: "Agent Smith" },
  caller: { sys_id: "46c6f9efa9fe198101ddf5eed9adf6e7", user_name: "abel.tuter", name: "Abel Tuter" },
} as const;

const referenceTables: Record<string, string> = {
  task: "task",
  user: "sys_user",
  caller_id: "sys_user",
  assigned_to: "sys_user",
  opened_by: "sys_user",
  resolved_by: "sys_user",
  closed_by: "sys_user",
  assignment_group: "sys_user_group",
  company: "core_company",
  cmdb_ci: "cmdb_ci",
  location: "cmn_location",
  problem_id: "problem",
  parent_incident: "incident",
  sys_domain: "sys_user_group",
};
const journalFields = new Set(["comments", "work_notes"]);
const writeOnlyFields = new Set(["comments", "work_notes", "comments_and_work_notes"]);

// ServiceNow's own baseline Priority Lookup Rules (impact row, urgency column), which the
// instance applies on save. This is vendor behaviour to simulate, not our P1–P4 translation.
const baselinePriorityLookup = [
  ["1", "2", "3"],
  ["2", "3", "4"],
  ["3", "4", "5"],
];

function incidentTemplate(): SimulatorRow {
  return {
    active: "true",
    activity_due: "",
    additional_assignee_list: "",
    approval: "not requested",
    assigned_to: "",
    assignment_group: "",
    business_service: "",
    caller_id: "",
    category: "inquiry",
    child_incidents: "0",
    close_code: "",
    close_notes: "",
    closed_at: "",
    closed_by: "",
    cmdb_ci: "",
    comments: "",
    comments_and_work_notes: "",
    company: "",
    contact_type: "",
    correlation_display: "",
    correlation_id: "",
    description: "",
    escalation: "0",
    hold_reason: "",
    impact: "3",
    incident_state: "1",
    knowledge: "false",
    location: "",
    made_sla: "true",
    notify: "1",
    number: "",
    opened_at: "",
    opened_by: "",
    parent_incident: "",
    priority: "5",
    problem_id: "",
    reassignment_count: "0",
    reopen_count: "0",
    resolved_at: "",
    resolved_by: "",
    severity: "3",
    short_description: "",
    state: "1",
    subcategory: "",
    sys_class_name: "incident",
    sys_created_by: "",
    sys_created_on: "",
    sys_domain: "global",
    sys_domain_path: "/",
    sys_id: "",
    sys_mod_count: "0",
    sys_tags: "",
    sys_updated_by: "",
    sys_updated_on: "",
    urgency: "3",
    time_worked: "",
    watch_list: "",
    work_notes: "",
    work_notes_list: "",
  };
}

const journalFieldNames = new Set([
  "sys_id",
  "element",
  "element_id",
  "name",
  "value",
  "sys_created_on",
  "sys_created_by",
]);
const timeWorkedFieldNames = new Set([
  "sys_id",
  "task",
  "user",
  "time_worked",
  "time_in_seconds",
  "comments",
  "sys_created_on",
  "sys_created_by",
  "sys_updated_on",
]);
const userFieldNames = new Set(["sys_id", "user_name", "name", "email", "phone", "active", "time_zone"]);
const incidentFieldNames = new Set(Object.keys(incidentTemplate()));

/** Raised for requests the real instance would reject; rendered as the Table API error envelope. */
class TableApiError extends Error {
  constructor(
    readonly status: 400 | 403 | 404,
    readonly title: string,
    readonly detail: string | null,
  ) {
    super(detail === null ? title : `${title}: ${detail.trim()}`);
  }
}

interface Condition {
  field: string;
  operator: string;
  value: string;
}
interface EncodedQuery {
  /** AND of OR-groups. */
  groups: Condition[][];
  orderBy: { field: string; descending: boolean }[];
}

/**
 * Parses the subset of encoded-query syntax the connector uses: `=`, `!=`, `>`, `>=`, `<`,
 * `<=`, `IN`, `LIKE`, `STARTSWITH`, `^`, `^OR`, `ORDERBY`, `ORDERBYDESC`. The real instance
 * ignores invalid parts and returns more rows; the simulator answers 400 so mistakes show.
 */
function parseEncodedQuery(query: string, fields: ReadonlySet<string>): EncodedQuery {
  const parsed: EncodedQuery = { groups: [], orderBy: [] };
  const queryError = (detail: string) => new TableApiError(400, "Invalid query", `simulator: ${detail}`);
  for (const term of query.split("^")) {
    if (term === "") continue;
    if (term.startsWith("ORDERBYDESC") || term.startsWith("ORDERBY")) {
      const descending = term.startsWith("ORDERBYDESC");
      const field = term.slice(descending ? "ORDERBYDESC".length : "ORDERBY".length);
      if (!fields.has(field)) throw queryError(`unknown ORDERBY field ${field}`);
      parsed.orderBy.push({ field, descending });
      continue;
    }
    if (term.startsWith("NQ")) throw queryError("^NQ is not supported");
    const isOr = term.startsWith("OR");
    const match = /^([a-z0-9_]+?)(>=|<=|!=|=|>|<|IN|LIKE|STARTSWITH)(.*)$/s.exec(isOr ? term.slice(2) : term);
    if (match === null) throw queryError(`cannot read condition ${term}`);
    const [, field = "", operator = "", value = ""] = match;
    if (!fields.has(field)) throw queryError(`unknown field ${field}`);
    const condition = { field, operator, value };
    const lastGroup = parsed.groups.at(-1);
    if (isOr && lastGroup !== undefined) lastGroup.push(condition);
    else parsed.groups.push([condition]);
  }
  return parsed;
}

function matches(row: SimulatorRow, condition: Condition): boolean {
  const actual = row[condition.field] ?? "";
  const { value } = condition;
  switch (condition.operator) {
    case "=":
      return actual === value;
    case "!=":
      return actual !== value;
    // Date-times "YYYY-MM-DD HH:MM:SS" and hex sys_ids order correctly as strings.
    case ">":
      return actual > value;
    case ">=":
      return actual >= value;
    case "<":
      return actual < value;
    case "<=":
      return actual <= value;
    case "IN":
      return value.split(",").includes(actual);
    case "LIKE":
      return actual.includes(value);
    case "STARTSWITH":
      return actual.startsWith(value);
    default:
      return false;
  }
}

function runQuery(rows: SimulatorRow[], query: EncodedQuery): SimulatorRow[] {
  const selected = rows.filter((row) =>
    query.groups.every((group) => group.some((condition) => matches(row, condition))),
  );
  return selected.sort((a, b) => {
    for (const { field, descending } of query.orderBy) {
      const left = a[field] ?? "";
      const right = b[field] ?? "";
      if (left !== right) return (left < right ? -1 : 1) * (descending ? -1 : 1);
    }
    return 0;
  });
}

/** Creates a simulated instance. Serve `app` with @hono/node-server or call `app.request` directly. */
export function createServiceNowSimulator(options: ServiceNowSimulatorOptions = {}): ServiceNowSimulator {
  const integrationUser = options.integrationUser ?? {
    username: "svc.ticketsync",
    password: "simulator-password",
  };
  const now = options.now ?? (() => new Date());
  let instanceUrl = (options.instanceUrl ?? "http://servicenow.simulator").replace(/\/+$/, "");
  const state: SimulatorState = { incidents: new Map(), journal: [], timeWorked: [], users: new Map() };
  const kit = createSimulatorKit<SimulatorFault, RecordedRequest, SimulatorWebhookOptions>(options);
  const webhooks: ServiceNowSimulator["webhooks"] = { delivered: [], dropped: [] };
  let nextNumber = 10_001;

  const seedUser = (sysId: string, userName: string, name: string) =>
    state.users.set(sysId, {
      sys_id: sysId,
      user_name: userName,
      name,
      email: `${userName}@example.com`,
      phone: "",
      active: "true",
      time_zone: "GMT",
    });
  seedUser(randomSysId(), integrationUser.username, "Ticket Sync Integration");
  seedUser(simulatorUsers.agent.sys_id, simulatorUsers.agent.user_name, simulatorUsers.agent.name);
  seedUser(simulatorUsers.caller.sys_id, simulatorUsers.caller.user_name, simulatorUsers.caller.name);

  function emitWebhook(row: SimulatorRow, operation: BusinessRulePayload["operation"], user: string): void {
    const webhook = kit.webhookTarget();
    if (webhook === undefined) return;
    if (user === integrationUser.username && webhook.includeIntegrationUser !== true) return;
    const payload: BusinessRulePayload = {
      sys_id: row["sys_id"] ?? "",
      number: row["number"] ?? "",
      sys_updated_on: row["sys_updated_on"] ?? "",
      sys_mod_count: row["sys_mod_count"] ?? "",
      operation,
    };
    if (kit.dropWebhook()) {
      webhooks.dropped.push(payload);
      return;
    }
    // The business rule's sn_ws.RESTMessageV2 executeAsync(): fire and forget, no retry.
    kit.deliver(
      webhook.url,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${webhook.secret}` },
        body: JSON.stringify(payload),
      },
      (outcome) => webhooks.delivered.push({ payload, ...outcome }),
    );
  }

  /** Applies a save as the instance would: journal fields append, priority is derived, sys_ fields are the system's. */
  function save(
    existing: SimulatorRow | null,
    body: Record<string, unknown>,
    user: string,
  ): { row: SimulatorRow; operation: BusinessRulePayload["operation"] } {
    const timestamp = toServiceNowDateTime(now());
    const row: SimulatorRow = existing === null ? incidentTemplate() : { ...existing };
    const journalEntries: { element: string; value: string }[] = [];
    for (const [field, raw] of Object.entries(body)) {
      if (typeof raw === "object" && raw !== null) continue;
      const value = raw === null || raw === undefined ? "" : String(raw);
      if (journalFields.has(field)) {
        if (value.trim() !== "") journalEntries.push({ element: field, value });
        continue;
      }
      // sys_ fields, number and the derived priority are not writable; unknown fields are ignored like the real instance.
      if (
        field.startsWith("sys_") ||
        field === "number" ||
        field === "priority" ||
        writeOnlyFields.has(field)
      )
        continue;
      if (field in row) row[field] = value;
    }

    const impact = Number(row["impact"]) - 1;
    const urgency = Number(row["urgency"]) - 1;
    row["priority"] = baselinePriorityLookup[impact]?.[urgency] ?? row["priority"] ?? "5";
    const incidentState = row["state"] ?? "1";
    row["incident_state"] = incidentState;
    if (incidentState !== "3") row["hold_reason"] = "";
    if (
      (incidentState === "6" || incidentState === "7") &&
      (row["close_code"] === "" || row["close_notes"] === "")
    ) {
      throw new TableApiError(
        403,
        "Operation Failed",
        "Data Policy Exception: \n  The following fields are mandatory: Resolution code, Resolution notes\n",
      );
    }
    if (incidentState === "6" && existing?.["state"] !== "6") {
      row["resolved_at"] = timestamp;
      row["resolved_by"] = userSysId(user);
    }
    if (incidentState === "7" && existing?.["state"] !== "7") {
      row["closed_at"] = timestamp;
      row["closed_by"] = userSysId(user);
    }
    row["active"] = incidentState === "7" || incidentState === "8" ? "false" : "true";

    if (existing === null) {
      row["sys_id"] = randomSysId();
      row["number"] = `INC${String(nextNumber++).padStart(7, "0")}`;
      row["sys_created_on"] = timestamp;
      row["sys_created_by"] = user;
      row["opened_at"] = timestamp;
      row["opened_by"] = userSysId(user);
      row["sys_mod_count"] = "0";
    } else {
      row["sys_mod_count"] = String(Number(existing["sys_mod_count"] ?? "0") + 1);
    }
    row["sys_updated_on"] = timestamp;
    row["sys_updated_by"] = user;
    const sysId = row["sys_id"] ?? "";
    state.incidents.set(sysId, row);
    for (const entry of journalEntries) {
      state.journal.push({
        sys_id: randomSysId(),
        element: entry.element,
        element_id: sysId,
        name: "incident",
        value: entry.value,
        sys_created_on: timestamp,
        sys_created_by: user,
      });
    }
    const operation = existing === null ? "insert" : "update";
    emitWebhook(row, operation, user);
    return { row, operation };
  }

  /**
   * Inserts a Time Worked row as the platform does, then rolls its time up into the task's Time worked, which
   * is a save of the task (its update time moves and its business rules, the webhook among them, run).
   */
  function addTimeWorked(body: Record<string, unknown>, user: string): SimulatorRow {
    const taskId = typeof body["task"] === "string" ? body["task"] : "";
    const incident = state.incidents.get(taskId);
    if (incident === undefined)
      throw new TableApiError(403, "Operation Failed", "Invalid reference: task is mandatory");
    const duration = typeof body["time_worked"] === "string" ? body["time_worked"] : "";
    const durationMatch = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(duration);
    if (durationMatch === null)
      throw new TableApiError(400, "Exception while reading request", "time_worked is not a duration");
    const seconds = Date.parse(`${durationMatch[1]}T${durationMatch[2]}Z`) / 1000;
    const timestamp = toServiceNowDateTime(now());
    const row: SimulatorRow = {
      sys_id: randomSysId(),
      task: taskId,
      user: userSysId(user),
      time_worked: duration,
      time_in_seconds: String(seconds),
      comments: typeof body["comments"] === "string" ? body["comments"] : "",
      sys_created_on: timestamp,
      sys_created_by: user,
      sys_updated_on: timestamp,
    };
    state.timeWorked.push(row);
    const total = state.timeWorked
      .filter((entry) => entry["task"] === taskId)
      .reduce((sum, entry) => sum + Number(entry["time_in_seconds"] ?? "0"), 0);
    save(incident, { time_worked: toServiceNowDateTime(new Date(total * 1000)) }, user);
    return row;
  }

  function userSysId(userName: string): string {
    for (const user of state.users.values()) if (user["user_name"] === userName) return user["sys_id"] ?? "";
    return "";
  }

  /** Journal fields read back empty on the task tables only; elsewhere (task_time_worked) `comments` is plain text. */
  function render(row: SimulatorRow, fields: string[] | null, table = "incident"): Record<string, unknown> {
    const rendered: Record<string, unknown> = {};
    for (const field of fields ?? Object.keys(row)) {
      if (!(field in row)) continue;
      const value = row[field] ?? "";
      const referenceTable = referenceTables[field];
      if (table === "incident" && writeOnlyFields.has(field)) rendered[field] = "";
      else if (referenceTable !== undefined && value !== "") {
        rendered[field] = { link: `${instanceUrl}/api/now/table/${referenceTable}/${value}`, value };
      } else rendered[field] = value;
    }
    return rendered;
  }

  const tables: Record<string, { fields: ReadonlySet<string>; rows: () => SimulatorRow[] }> = {
    incident: { fields: incidentFieldNames, rows: () => [...state.incidents.values()] },
    sys_journal_field: { fields: journalFieldNames, rows: () => state.journal },
    task_time_worked: { fields: timeWorkedFieldNames, rows: () => state.timeWorked },
    sys_user: { fields: userFieldNames, rows: () => [...state.users.values()] },
  };

  function tableOf(c: Context): { name: string; fields: ReadonlySet<string>; rows: () => SimulatorRow[] } {
    const name = c.req.param("table") ?? "";
    const table = tables[name];
    if (table === undefined)
      throw new TableApiError(400, "Invalid table", `simulator: table ${name} is not simulated`);
    return { name, ...table };
  }

  function fieldsParam(c: Context): string[] | null {
    const value = c.req.query("sysparm_fields");
    return value === undefined || value === "" ? null : value.split(",");
  }

  function checkDisplayValue(c: Context): void {
    const displayValue = c.req.query("sysparm_display_value");
    if (displayValue !== undefined && displayValue !== "false") {
      throw new TableApiError(
        400,
        "Invalid parameter",
        "simulator: only sysparm_display_value=false is simulated",
      );
    }
  }

  function authenticatedUser(c: Context): string | null {
    const credentials = readCredentials(c.req.header("authorization"));
    return credentials?.scheme === "basic" &&
      credentials.username === integrationUser.username &&
      credentials.password === integrationUser.password
      ? credentials.username
      : null;
  }

  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof TableApiError) {
      return c.json(
        { error: { message: error.message, detail: error.detail }, status: "failure" },
        error.status,
      );
    }
    return c.json(
      { error: { message: "Internal server error", detail: String(error) }, status: "failure" },
      500,
    );
  });

  app.use("/api/now/*", async (c, next) => {
    const method = c.req.method;
    let body: unknown;
    if (method === "POST" || method === "PATCH" || method === "PUT")
      body = await c.req.json().catch(() => undefined);
    const user = authenticatedUser(c);
    kit.record({ method, path: c.req.path, query: c.req.query(), body, user });
    if (user === null) {
      return c.json(
        {
          error: { message: "User Not Authenticated", detail: "Required to provide Auth information" },
          status: "failure",
        },
        401,
      );
    }
    const fault = kit.takeRequestFault(method, c.req.path);
    if (fault?.kind === "status") {
      if (fault.retryAfterSeconds !== undefined) c.header("Retry-After", String(fault.retryAfterSeconds));
      if (fault.status === 429) {
        c.header("X-RateLimit-Limit", "100");
        return c.json(
          {
            error: {
              message: "Rate limit exceeded",
              detail: "Rate limit of 100 requests per hour for Table API exceeded",
            },
            status: "failure",
          },
          429,
        );
      }
      if (fault.status === 500) {
        return c.json({ error: { message: "Internal server error", detail: null }, status: "failure" }, 500);
      }
      // Gateway errors and maintenance pages come from the load balancer as HTML.
      return c.html("<html><body><h1>Service Unavailable</h1></body></html>", fault.status);
    }
    await next();
    if (fault?.kind === "timeout") await sleep(fault.delayMs);
  });

  app.get("/api/now/table/:table", (c) => {
    const table = tableOf(c);
    checkDisplayValue(c);
    const query = parseEncodedQuery(c.req.query("sysparm_query") ?? "", table.fields);
    const rows = runQuery(table.rows(), query);
    const limit = Math.max(1, Number(c.req.query("sysparm_limit") ?? "10000") || 10_000);
    const offset = Math.max(0, Number(c.req.query("sysparm_offset") ?? "0") || 0);
    const page = rows.slice(offset, offset + limit);

    const link = (rel: string, at: number) => {
      const target = new URL(`${instanceUrl}${c.req.path}`);
      for (const [key, value] of Object.entries(c.req.query())) target.searchParams.set(key, value);
      target.searchParams.set("sysparm_offset", String(at));
      target.searchParams.set("sysparm_limit", String(limit));
      return `<${target.toString()}>;rel="${rel}"`;
    };
    const links = [link("first", 0)];
    if (offset > 0) links.push(link("prev", Math.max(0, offset - limit)));
    if (offset + limit < rows.length) links.push(link("next", offset + limit));
    links.push(link("last", Math.max(0, Math.floor((rows.length - 1) / limit) * limit)));
    c.header("Link", links.join(","));
    if (c.req.query("sysparm_no_count") !== "true") c.header("X-Total-Count", String(rows.length));
    const fields = fieldsParam(c);
    return c.json({ result: page.map((row) => render(row, fields, table.name)) });
  });

  app.get("/api/now/table/:table/:sysId", (c) => {
    const table = tableOf(c);
    checkDisplayValue(c);
    const row = table.rows().find((candidate) => candidate["sys_id"] === c.req.param("sysId"));
    if (row === undefined) {
      throw new TableApiError(
        404,
        "No Record found",
        "Record doesn't exist or ACL restricts the record retrieval",
      );
    }
    return c.json({ result: render(row, fieldsParam(c), table.name) });
  });

  async function readBody(c: Context): Promise<Record<string, unknown>> {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new TableApiError(400, "Exception while reading request", "The payload is not valid JSON.");
    }
    return body as Record<string, unknown>;
  }

  app.post("/api/now/table/:table", async (c) => {
    const table = tableOf(c);
    if (table.name === "task_time_worked") {
      const row = addTimeWorked(await readBody(c), authenticatedUser(c) ?? "");
      c.header("Location", `${instanceUrl}/api/now/table/task_time_worked/${row["sys_id"]}`);
      return c.json({ result: render(row, fieldsParam(c), table.name) }, 201);
    }
    if (table.name !== "incident")
      throw new TableApiError(403, "Operation Failed", "simulator: table is read-only");
    const { row } = save(null, await readBody(c), authenticatedUser(c) ?? "");
    c.header("Location", `${instanceUrl}/api/now/table/incident/${row["sys_id"]}`);
    return c.json({ result: render(row, fieldsParam(c)) }, 201);
  });

  app.on(["PATCH", "PUT"], "/api/now/table/:table/:sysId", async (c) => {
    const table = tableOf(c);
    if (table.name !== "incident")
      throw new TableApiError(403, "Operation Failed", "simulator: table is read-only");
    const existing = state.incidents.get(c.req.param("sysId"));
    if (existing === undefined) {
      throw new TableApiError(
        404,
        "No Record found",
        "Record doesn't exist or ACL restricts the record retrieval",
      );
    }
    const { row } = save(existing, await readBody(c), authenticatedUser(c) ?? "");
    return c.json({ result: render(row, fieldsParam(c)) });
  });

  app.notFound((c) =>
    c.json(
      {
        error: { message: "Requested URI does not represent any resource", detail: null },
        status: "failure",
      },
      400,
    ),
  );

  function agentSave(
    existing: SimulatorRow | null,
    fields: Record<string, string>,
    user: string,
  ): SimulatorRow {
    return save(existing, fields, user).row;
  }

  return {
    app,
    state,
    faults: kit.faults,
    requests: kit.exchanges,
    webhooks,
    integrationUser,
    setInstanceUrl(url) {
      instanceUrl = url.replace(/\/+$/, "");
    },
    simulateAgentUpdate(sysId, fields, agentOptions) {
      const existing = state.incidents.get(sysId);
      if (existing === undefined) throw new Error(`no simulated incident ${sysId}`);
      return agentSave(existing, fields, agentOptions?.user ?? simulatorUsers.agent.user_name);
    },
    simulateAgentTimeWorked(sysId, entry, agentOptions) {
      return addTimeWorked(
        {
          task: sysId,
          time_worked: toServiceNowDateTime(new Date(entry.seconds * 1000)),
          comments: entry.comments ?? "",
        },
        agentOptions?.user ?? simulatorUsers.agent.user_name,
      );
    },
    simulateAgentInsert(fields, agentOptions) {
      return agentSave(null, fields, agentOptions?.user ?? simulatorUsers.agent.user_name);
    },
    settled: kit.settled,
  };
}

function randomSysId(): string {
  return randomBytes(16).toString("hex");
}
