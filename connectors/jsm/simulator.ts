import { createHmac, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import {
  type CommonFault,
  createSimulatorKit,
  type FaultMatch,
  readCredentials,
} from "../sdk/testing/simulator-kit.js";
import { type AdfNode, canonicalToAdf, fromAdf, toAdf } from "./adf.js";
import { JqlError, type JqlSubject, matchesJql, offsetAt, parseJql } from "./simulator-jql.js";
import { parseWiki, renderWiki } from "./wiki-markup.js";

// An in-memory Jira Cloud site with a JSM service project, for the calls the connector makes:
// tests, local development and demos. Responses follow the official OpenAPI descriptions
// (test/specs/jira, test/specs/jsm; the contract test checks every one), and mistakes the
// real site would reject are rejected here too, with Jira's error bodies.
// https://developer.atlassian.com/cloud/jira/platform/rest/v3/
// https://developer.atlassian.com/cloud/jira/service-desk/rest/

export interface SimulatorUser {
  accountId: string;
  displayName: string;
  emailAddress: string;
  timeZone: string;
  accountType: "atlassian" | "customer" | "app";
}

/** Seeded users besides the integration account. */
export const simulatorUsers = {
  agent: {
    accountId: "5b10a2844c20165700ede21g",
    displayName: "Mia Krystof",
    emailAddress: "mia@example.com",
    timeZone: "Australia/Sydney",
    accountType: "atlassian",
  },
  customer: {
    accountId: "qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b",
    displayName: "Fred F. User",
    emailAddress: "fred@example.com",
    timeZone: "Australia/Sydney",
    accountType: "customer",
  },
} as const satisfies Record<string, SimulatorUser>;

export interface SimulatorIntegrationAccount extends SimulatorUser {
  /** Basic auth is `email:apiToken`. */
  apiToken: string;
}

export interface SimulatorWebhookOptions {
  /** The gateway's webhook URL for the connection. */
  url: string;
  /** Signs deliveries: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret: string;
  /** Real Jira notifies every change, the integration account's too. Default true. */
  includeIntegrationAccount?: boolean;
}

/** A custom field besides the correlation field. */
export interface SimulatorCustomField {
  id: string;
  name: string;
  type: "string" | "option";
  options?: string[];
}

export interface JsmSimulatorOptions {
  integrationAccount?: Partial<SimulatorIntegrationAccount>;
  /** OAuth access tokens accepted as `Authorization: Bearer`, acting as the integration account. */
  bearerTokens?: string[];
  /** Base of `self` links; set it once the listening port is known. */
  siteUrl?: string;
  projectKey?: string;
  serviceDeskId?: string;
  requestTypeId?: string;
  correlationFieldId?: string;
  customFields?: SimulatorCustomField[];
  /** Zone of timestamps in responses ("the system default user time zone"). Default UTC. */
  siteTimeZone?: string;
  webhook?: SimulatorWebhookOptions;
  now?: () => Date;
  /** Delivers webhooks. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

export type { FaultMatch };

/**
 * A fault consumed by the next `times` matching requests (or webhooks): the simulator kit's (a 429 here carries
 * Retry-After and the X-RateLimit-* headers), and `rate-limit-exhausted`, which handles the request but reports
 * `X-RateLimit-Remaining: 0` with a reset `resetAfterMs` ahead.
 */
export type SimulatorFault =
  | CommonFault
  | { kind: "rate-limit-exhausted"; resetAfterMs: number; times: number; match?: FaultMatch };

/** A request and the response it got, for assertions and the contract test. */
export interface RecordedExchange {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** JSON body, or for multipart the parts' names and file names. */
  body: unknown;
  contentType: string | null;
  accountId: string | null;
  status: number;
  responseBody: unknown;
  /** Set when an injected fault produced the response. */
  faulted: boolean;
}

export interface WebhookDelivery {
  event: string;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  status: number | null;
  error?: string;
}

export interface SimComment {
  id: string;
  authorId: string;
  updateAuthorId: string;
  body: AdfNode;
  public: boolean;
  created: number;
  updated: number;
}

export interface SimWorklog {
  id: string;
  authorId: string;
  comment: AdfNode | null;
  started: number;
  timeSpentSeconds: number;
  created: number;
  properties: { key: string; value: unknown }[];
}

export interface SimAttachment {
  id: string;
  filename: string;
  mimeType: string;
  size: number;
  created: number;
  authorId: string;
  bytes: Uint8Array;
}

export interface SimHistory {
  id: string;
  authorId: string;
  created: number;
  items: ChangeItem[];
}

interface ChangeItem {
  field: string;
  fieldtype: "jira" | "custom";
  fieldId: string;
  from: string | null;
  fromString: string | null;
  to: string | null;
  toString: string | null;
}

export interface SimIssue {
  id: string;
  key: string;
  issueType: string;
  requestTypeId: string | null;
  summary: string;
  description: AdfNode | null;
  status: string;
  priority: string;
  resolution: string | null;
  resolutionDate: number | null;
  reporterId: string;
  creatorId: string;
  created: number;
  updated: number;
  /** Custom field values by id. */
  custom: Record<string, unknown>;
  comments: SimComment[];
  attachments: SimAttachment[];
  worklogs: SimWorklog[];
  histories: SimHistory[];
}

export interface SimulatorState {
  issues: Map<string, SimIssue>;
  temporaryAttachments: Map<
    string,
    { filename: string; mimeType: string; bytes: Uint8Array; created: number }
  >;
  users: Map<string, SimulatorUser>;
}

export interface JsmSimulator {
  app: Hono;
  state: SimulatorState;
  /** Push faults here; each is removed once used `times` times. */
  faults: SimulatorFault[];
  exchanges: RecordedExchange[];
  webhooks: { delivered: WebhookDelivery[]; dropped: WebhookDelivery[] };
  integrationAccount: SimulatorIntegrationAccount;
  setSiteUrl(url: string): void;
  /**
   * Gateway connection settings that fit this simulated site (its desk, request type, project, correlation
   * field and integration account), so every test connects the same way.
   */
  connectionSettings(baseUrl: string, webhookSecret: string): Record<string, unknown>;
  issue(idOrKey: string): SimIssue;
  /** A human creating an issue in Jira. */
  simulateAgentCreate(
    fields: { summary: string; description?: string; priority?: string },
    accountId?: string,
  ): SimIssue;
  /** A human editing fields (description as canonical text, priority by name, custom fields by id). */
  simulateAgentUpdate(
    idOrKey: string,
    fields: {
      summary?: string;
      description?: string | null;
      priority?: string;
      custom?: Record<string, unknown>;
    },
    accountId?: string,
  ): SimIssue;
  /** A human moving the issue to a status, as a workflow transition. */
  simulateAgentTransition(idOrKey: string, statusName: string, accountId?: string): SimIssue;
  /** A human commenting (body as canonical text). */
  simulateAgentComment(
    idOrKey: string,
    comment: { body: string; public: boolean },
    accountId?: string,
  ): SimComment;
  simulateCommentEdit(idOrKey: string, commentId: string, body: string, accountId?: string): SimComment;
  /** A human logging work on the issue (comment as canonical text). */
  simulateAgentWorklog(
    idOrKey: string,
    worklog: { started: Date; timeSpentSeconds: number; comment?: string },
    accountId?: string,
  ): SimWorklog;
  simulateCommentDelete(idOrKey: string, commentId: string, accountId?: string): void;
  /** Resolves when every webhook delivery started so far has finished. */
  settled(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The workflow: JSM's IT service request statuses, and which transitions lead where.

type Category = "new" | "indeterminate" | "done";

export const simulatorStatuses: Record<string, { id: string; category: Category }> = {
  Open: { id: "1", category: "new" },
  "Waiting for support": { id: "10001", category: "new" },
  "Waiting for customer": { id: "10002", category: "indeterminate" },
  "In Progress": { id: "3", category: "indeterminate" },
  Pending: { id: "10003", category: "indeterminate" },
  Resolved: { id: "5", category: "done" },
  Closed: { id: "6", category: "done" },
  Canceled: { id: "10004", category: "done" },
};

const openStatuses = ["Open", "Waiting for support", "Waiting for customer", "In Progress", "Pending"];

export const simulatorTransitions: readonly {
  id: string;
  name: string;
  to: string;
  from: readonly string[];
}[] = [
  {
    id: "11",
    name: "Start work",
    to: "In Progress",
    from: ["Open", "Waiting for support", "Waiting for customer", "Pending"],
  },
  {
    id: "21",
    name: "Respond to customer",
    to: "Waiting for customer",
    from: ["Open", "Waiting for support", "In Progress", "Pending"],
  },
  {
    id: "31",
    name: "Back to support",
    to: "Waiting for support",
    from: ["Waiting for customer", "In Progress", "Pending"],
  },
  {
    id: "41",
    name: "Pend",
    to: "Pending",
    from: ["Open", "Waiting for support", "In Progress", "Waiting for customer"],
  },
  { id: "51", name: "Resolve", to: "Resolved", from: openStatuses },
  { id: "61", name: "Close", to: "Closed", from: ["Resolved"] },
  { id: "71", name: "Reopen", to: "In Progress", from: ["Resolved", "Closed"] },
  { id: "81", name: "Cancel request", to: "Canceled", from: openStatuses },
  { id: "91", name: "Back to open", to: "Open", from: ["In Progress", "Pending"] },
];

const priorities = [
  { id: "1", name: "Highest" },
  { id: "2", name: "High" },
  { id: "3", name: "Medium" },
  { id: "4", name: "Low" },
  { id: "5", name: "Lowest" },
];
const resolutions = [
  { id: "10000", name: "Done" },
  { id: "10001", name: "Won't Do" },
  { id: "10002", name: "Duplicate" },
];
const categoryIds: Record<Category, { id: number; colorName: string; name: string }> = {
  new: { id: 2, colorName: "blue-gray", name: "To Do" },
  indeterminate: { id: 4, colorName: "yellow", name: "In Progress" },
  done: { id: 3, colorName: "green", name: "Done" },
};
const issueTypes = [
  { id: "10100", name: "Service Request" },
  { id: "10101", name: "Task" },
];
const systemFields = [
  { id: "summary", name: "Summary", type: "string", system: "summary", clause: "summary" },
  { id: "description", name: "Description", type: "string", system: "description", clause: "description" },
  { id: "status", name: "Status", type: "status", system: "status", clause: "status" },
  { id: "priority", name: "Priority", type: "priority", system: "priority", clause: "priority" },
  { id: "reporter", name: "Reporter", type: "user", system: "reporter", clause: "reporter" },
  { id: "creator", name: "Creator", type: "user", system: "creator", clause: "creator" },
  { id: "created", name: "Created", type: "datetime", system: "created", clause: "created" },
  { id: "updated", name: "Updated", type: "datetime", system: "updated", clause: "updated" },
  { id: "resolution", name: "Resolution", type: "resolution", system: "resolution", clause: "resolution" },
  { id: "resolutiondate", name: "Resolved", type: "datetime", system: "resolutiondate", clause: "resolved" },
  { id: "attachment", name: "Attachment", type: "array", system: "attachment", clause: "attachments" },
  { id: "issuetype", name: "Issue Type", type: "issuetype", system: "issuetype", clause: "type" },
  { id: "project", name: "Project", type: "project", system: "project", clause: "project" },
];

/** Raised for requests the real site would reject; rendered in the API's own error shape. */
class SiteError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409,
    readonly messages: string[],
    readonly fieldErrors: Record<string, string> = {},
  ) {
    super([...messages, ...Object.values(fieldErrors)].join("; "));
  }
}

const notFound = () => new SiteError(404, ["Issue does not exist or you do not have permission to see it."]);

/** Creates a simulated site. Serve `app` with @hono/node-server or call `app.request` directly. */
export function createJsmSimulator(options: JsmSimulatorOptions = {}): JsmSimulator {
  const integrationAccount: SimulatorIntegrationAccount = {
    accountId: "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
    displayName: "Ticket Sync Integration",
    emailAddress: "svc.ticketsync@example.com",
    timeZone: "UTC",
    accountType: "atlassian",
    apiToken: "simulator-api-token",
    ...options.integrationAccount,
  };
  const now = options.now ?? (() => new Date());
  const projectKey = options.projectKey ?? "HELP";
  const projectId = "10000";
  const serviceDeskId = options.serviceDeskId ?? "1";
  const requestTypeId = options.requestTypeId ?? "10";
  const correlationFieldId = options.correlationFieldId ?? "customfield_10050";
  const siteTimeZone = options.siteTimeZone ?? "UTC";
  const customFields: SimulatorCustomField[] = [
    { id: correlationFieldId, name: "Ticket sync id", type: "string" },
    ...(options.customFields ?? []),
  ];
  let siteUrl = (options.siteUrl ?? "https://simulated.atlassian.net").replace(/\/+$/, "");
  const state: SimulatorState = {
    issues: new Map(),
    temporaryAttachments: new Map(),
    users: new Map(
      [integrationAccount, simulatorUsers.agent, simulatorUsers.customer].map((user) => [
        user.accountId,
        user,
      ]),
    ),
  };
  const kit = createSimulatorKit<SimulatorFault, RecordedExchange, SimulatorWebhookOptions>(options);
  const webhooks: JsmSimulator["webhooks"] = { delivered: [], dropped: [] };
  let nextIssueId = 10_001;
  let nextIssueNumber = 1;
  let nextCommentId = 10_000;
  let nextWorklogId = 40_000;
  let nextAttachmentId = 20_000;
  let nextHistoryId = 30_000;
  let nextTemporaryId = 1;

  // -------------------------------------------------------------------------------------------
  // Rendering

  function jiraDateTime(instantMs: number): string {
    const offset = offsetAt(instantMs, siteTimeZone);
    const local = new Date(instantMs + offset).toISOString().slice(0, 23);
    const sign = offset < 0 ? "-" : "+";
    const minutes = Math.abs(offset) / 60_000;
    return `${local}${sign}${String(Math.floor(minutes / 60)).padStart(2, "0")}${String(minutes % 60).padStart(2, "0")}`;
  }

  function dateDto(instantMs: number) {
    const jira = jiraDateTime(instantMs);
    return {
      epochMillis: instantMs,
      friendly: new Date(instantMs).toUTCString(),
      iso8601: `${jira.slice(0, 19)}${jira.slice(23)}`,
      jira,
    };
  }

  function userOf(accountId: string): SimulatorUser {
    return (
      state.users.get(accountId) ?? {
        accountId,
        displayName: "Former user",
        emailAddress: "",
        timeZone: "UTC",
        accountType: "atlassian",
      }
    );
  }

  function userDetails(accountId: string) {
    const user = userOf(accountId);
    return {
      self: `${siteUrl}/rest/api/3/user?accountId=${encodeURIComponent(user.accountId)}`,
      accountId: user.accountId,
      accountType: user.accountType,
      displayName: user.displayName,
      emailAddress: user.emailAddress,
      active: true,
      timeZone: user.timeZone,
      avatarUrls: { "48x48": `${siteUrl}/avatar/${encodeURIComponent(user.accountId)}?s=48` },
    };
  }

  function userDto(accountId: string) {
    const user = userOf(accountId);
    return {
      accountId: user.accountId,
      displayName: user.displayName,
      emailAddress: user.emailAddress,
      active: true,
      timeZone: user.timeZone,
      _links: {
        jiraRest: `${siteUrl}/rest/api/2/user?accountId=${encodeURIComponent(user.accountId)}`,
        self: `${siteUrl}/rest/api/2/user?accountId=${encodeURIComponent(user.accountId)}`,
        avatarUrls: { "48x48": `${siteUrl}/avatar/${encodeURIComponent(user.accountId)}?s=48` },
      },
    };
  }

  function statusDetails(name: string) {
    const status = simulatorStatuses[name]!;
    const category = categoryIds[status.category];
    return {
      self: `${siteUrl}/rest/api/3/status/${status.id}`,
      description: "",
      iconUrl: `${siteUrl}/images/icons/statuses/generic.png`,
      name,
      id: status.id,
      statusCategory: {
        self: `${siteUrl}/rest/api/3/statuscategory/${category.id}`,
        id: category.id,
        key: status.category,
        colorName: category.colorName,
        name: category.name,
      },
    };
  }

  function attachmentJson(attachment: SimAttachment) {
    return {
      self: `${siteUrl}/rest/api/3/attachment/${attachment.id}`,
      id: attachment.id,
      filename: attachment.filename,
      author: userDetails(attachment.authorId),
      created: jiraDateTime(attachment.created),
      size: attachment.size,
      mimeType: attachment.mimeType,
      content: `${siteUrl}/rest/api/3/attachment/content/${attachment.id}`,
    };
  }

  function commentJson(issue: SimIssue, comment: SimComment) {
    return {
      self: `${siteUrl}/rest/api/3/issue/${issue.id}/comment/${comment.id}`,
      id: comment.id,
      author: userDetails(comment.authorId),
      body: comment.body,
      updateAuthor: userDetails(comment.updateAuthorId),
      created: jiraDateTime(comment.created),
      updated: jiraDateTime(comment.updated),
      jsdPublic: comment.public,
    };
  }

  function serviceDeskCommentJson(issue: SimIssue, comment: SimComment) {
    return {
      _expands: ["attachment", "renderedBody"],
      id: comment.id,
      body: renderWiki(fromAdf(comment.body)),
      public: comment.public,
      author: userDto(comment.authorId),
      created: dateDto(comment.created),
      _links: { self: `${siteUrl}/rest/servicedeskapi/request/${issue.id}/comment/${comment.id}` },
    };
  }

  function fieldValue(issue: SimIssue, field: string): unknown {
    switch (field) {
      case "summary":
        return issue.summary;
      case "description":
        return issue.description;
      case "status":
        return statusDetails(issue.status);
      case "priority": {
        const priority = priorities.find((candidate) => candidate.name === issue.priority)!;
        return {
          self: `${siteUrl}/rest/api/3/priority/${priority.id}`,
          iconUrl: `${siteUrl}/images/icons/priorities/${priority.name.toLowerCase()}.svg`,
          ...priority,
        };
      }
      case "reporter":
        return userDetails(issue.reporterId);
      case "creator":
        return userDetails(issue.creatorId);
      case "created":
        return jiraDateTime(issue.created);
      case "updated":
        return jiraDateTime(issue.updated);
      case "resolution": {
        const resolution = resolutions.find((candidate) => candidate.name === issue.resolution);
        return resolution === undefined
          ? null
          : { self: `${siteUrl}/rest/api/3/resolution/${resolution.id}`, description: "", ...resolution };
      }
      case "resolutiondate":
        return issue.resolutionDate === null ? null : jiraDateTime(issue.resolutionDate);
      case "attachment":
        return issue.attachments.map(attachmentJson);
      case "issuetype": {
        const type = issueTypes.find((candidate) => candidate.name === issue.issueType)!;
        return { self: `${siteUrl}/rest/api/3/issuetype/${type.id}`, subtask: false, ...type };
      }
      case "project":
        return {
          self: `${siteUrl}/rest/api/3/project/${projectId}`,
          id: projectId,
          key: projectKey,
          name: "Help Desk",
        };
      default:
        return issue.custom[field] ?? null;
    }
  }

  const allFieldIds = () => [
    ...systemFields.map((field) => field.id),
    ...customFields.map((field) => field.id),
  ];

  function issueJson(issue: SimIssue, fieldsParam: string | undefined, expand: string | undefined) {
    const requested = (fieldsParam ?? "*all")
      .split(",")
      .map((field) => field.trim())
      .filter((field) => field !== "");
    const wanted = new Set<string>();
    for (const field of requested) {
      if (field === "*all" || field === "*navigable") for (const id of allFieldIds()) wanted.add(id);
      else if (field.startsWith("-")) wanted.delete(field.slice(1));
      else if (allFieldIds().includes(field)) wanted.add(field);
    }
    const fields: Record<string, unknown> = {};
    for (const field of wanted) fields[field] = fieldValue(issue, field);
    const json: Record<string, unknown> = {
      expand: "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
      id: issue.id,
      self: `${siteUrl}/rest/api/3/issue/${issue.id}`,
      key: issue.key,
      fields,
    };
    if (expand?.split(",").includes("changelog")) {
      const histories = [...issue.histories].reverse().map((history) => ({
        id: history.id,
        author: userDetails(history.authorId),
        created: jiraDateTime(history.created),
        // ChangeDetails types from/to as non-null strings, so empty ends are left out here
        // (live Jira sends nulls, as webhooks from the simulator do; the client reads both).
        items: history.items.map((item) =>
          Object.fromEntries(Object.entries(item).filter(([, value]) => value !== null)),
        ),
      }));
      json["changelog"] = { startAt: 0, maxResults: histories.length, total: histories.length, histories };
    }
    return json;
  }

  // -------------------------------------------------------------------------------------------
  // Changes, history and webhooks

  function emit(
    event: string,
    issue: SimIssue,
    accountId: string,
    extra: { changelog?: SimHistory; comment?: SimComment; eventType?: string },
  ): void {
    const webhook = kit.webhookTarget();
    if (webhook === undefined) return;
    if (accountId === integrationAccount.accountId && webhook.includeIntegrationAccount === false) return;
    const payload: Record<string, unknown> = {
      timestamp: now().getTime(),
      webhookEvent: event,
      user: userDetails(accountId),
      issue: {
        id: issue.id,
        self: `${siteUrl}/rest/api/2/${issue.id}`,
        key: issue.key,
        fields: {
          summary: issue.summary,
          status: statusDetails(issue.status),
          priority: fieldValue(issue, "priority"),
          updated: jiraDateTime(issue.updated),
        },
      },
    };
    if (extra.eventType !== undefined) payload["issue_event_type_name"] = extra.eventType;
    if (extra.changelog !== undefined)
      payload["changelog"] = { id: extra.changelog.id, items: extra.changelog.items };
    if (extra.comment !== undefined) {
      // Webhook bodies use the REST v2 shape, where a comment body is wiki markup.
      payload["comment"] = {
        ...commentJson(issue, extra.comment),
        self: `${siteUrl}/rest/api/2/issue/${issue.id}/comment/${extra.comment.id}`,
        body: renderWiki(fromAdf(extra.comment.body)),
      };
    }
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Atlassian Webhook HTTP Client",
      "x-atlassian-webhook-identifier": randomUUID(),
      "x-atlassian-webhook-retry": "0",
      "x-atlassian-webhook-flow": "Primary",
      "x-hub-signature": `sha256=${createHmac("sha256", webhook.secret).update(body).digest("hex")}`,
    };
    const delivery: WebhookDelivery = { event, payload, headers, status: null };
    if (kit.dropWebhook()) {
      webhooks.dropped.push(delivery);
      return;
    }
    kit.deliver(webhook.url, { method: "POST", headers, body }, (outcome) =>
      webhooks.delivered.push(Object.assign(delivery, outcome)),
    );
  }

  function record(issue: SimIssue, accountId: string, items: ChangeItem[], at: number): SimHistory | null {
    if (items.length === 0) return null;
    const history: SimHistory = { id: String(nextHistoryId++), authorId: accountId, created: at, items };
    issue.histories.push(history);
    issue.updated = at;
    return history;
  }

  function fieldName(fieldId: string): string {
    return (
      systemFields.find((field) => field.id === fieldId)?.name ??
      customFields.find((field) => field.id === fieldId)?.name ??
      fieldId
    );
  }

  function change(
    fieldId: string,
    from: string | null,
    to: string | null,
    ids?: { from: string | null; to: string | null },
  ): ChangeItem {
    return {
      field: fieldId.startsWith("customfield_") ? fieldName(fieldId) : fieldId,
      fieldtype: fieldId.startsWith("customfield_") ? "custom" : "jira",
      fieldId,
      from: ids?.from ?? null,
      fromString: from,
      to: ids?.to ?? null,
      toString: to,
    };
  }

  const textOf = (value: unknown): string | null =>
    value === null || value === undefined
      ? null
      : typeof value === "string"
        ? value
        : typeof value === "object" && "value" in value
          ? String((value as { value: unknown }).value)
          : JSON.stringify(value);

  /** Validates and applies `fields` as Edit issue / Create issue would; returns the changelog items. */
  function applyFields(issue: SimIssue, fields: Record<string, unknown>, creating: boolean): ChangeItem[] {
    const errors: Record<string, string> = {};
    const items: ChangeItem[] = [];
    for (const [fieldId, value] of Object.entries(fields)) {
      switch (fieldId) {
        case "summary": {
          if (typeof value !== "string" || value.trim() === "")
            errors[fieldId] = "You must specify a summary of the issue.";
          else if (value.length > 255) errors[fieldId] = "Summary must be less than 255 characters.";
          else if (/[\r\n]/.test(value))
            errors[fieldId] = "The summary is invalid because it contains newline characters.";
          else if (value !== issue.summary) {
            items.push(change("summary", issue.summary, value));
            issue.summary = value;
          }
          break;
        }
        case "description": {
          if (value !== null && !isAdfDoc(value)) {
            errors[fieldId] =
              "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
            break;
          }
          const next = value as AdfNode | null;
          if (JSON.stringify(next) !== JSON.stringify(issue.description)) {
            items.push(change("description", adfText(issue.description), adfText(next)));
            issue.description = next;
          }
          break;
        }
        case "priority": {
          const wanted = value as { name?: unknown; id?: unknown } | null;
          const priority = priorities.find(
            (candidate) => candidate.name === wanted?.name || candidate.id === wanted?.id,
          );
          if (priority === undefined) errors[fieldId] = `Specify a valid 'id' or 'name' for Priority`;
          else if (priority.name !== issue.priority) {
            const before = priorities.find((candidate) => candidate.name === issue.priority)!;
            items.push(change("priority", before.name, priority.name, { from: before.id, to: priority.id }));
            issue.priority = priority.name;
          }
          break;
        }
        case "project":
        case "issuetype":
          if (!creating)
            errors[fieldId] =
              `Field '${fieldId}' cannot be set. It is not on the appropriate screen, or unknown.`;
          break;
        default: {
          const custom = customFields.find((field) => field.id === fieldId);
          if (custom === undefined) {
            errors[fieldId] =
              `Field '${fieldId}' cannot be set. It is not on the appropriate screen, or unknown.`;
            break;
          }
          if (custom.type === "string" && value !== null && typeof value !== "string") {
            errors[fieldId] = "Operation value must be a string";
            break;
          }
          if (custom.type === "option" && value !== null) {
            const option = (value as { value?: unknown }).value;
            if (
              typeof option !== "string" ||
              (custom.options !== undefined && !custom.options.includes(option))
            ) {
              errors[fieldId] = `Option value '${String(option)}' is not valid`;
              break;
            }
          }
          const before = textOf(issue.custom[fieldId]);
          const after = textOf(value);
          if (before !== after) {
            items.push(change(fieldId, before, after));
            issue.custom[fieldId] =
              custom.type === "option" && value !== null
                ? { value: (value as { value: string }).value, id: "1" }
                : value;
          }
        }
      }
    }
    if (Object.keys(errors).length > 0) throw new SiteError(400, [], errors);
    return items;
  }

  function newIssue(input: {
    summary: string;
    issueType: string;
    requestTypeId: string | null;
    accountId: string;
    reporterId: string;
  }): SimIssue {
    const at = now().getTime();
    const issue: SimIssue = {
      id: String(nextIssueId++),
      key: `${projectKey}-${nextIssueNumber++}`,
      issueType: input.issueType,
      requestTypeId: input.requestTypeId,
      summary: input.summary,
      description: null,
      status: "Open",
      priority: "Medium",
      resolution: null,
      resolutionDate: null,
      reporterId: input.reporterId,
      creatorId: input.accountId,
      created: at,
      updated: at,
      custom: {},
      comments: [],
      attachments: [],
      worklogs: [],
      histories: [],
    };
    return issue;
  }

  function transitionsFrom(issue: SimIssue) {
    return simulatorTransitions.filter((transition) => transition.from.includes(issue.status));
  }

  function transition(
    issue: SimIssue,
    transitionId: string,
    resolution: string | null,
    accountId: string,
  ): void {
    const chosen = transitionsFrom(issue).find((candidate) => candidate.id === transitionId);
    if (chosen === undefined) {
      throw new SiteError(400, [`Transition id '${transitionId}' is not valid for this issue.`]);
    }
    const toDone = simulatorStatuses[chosen.to]!.category === "done";
    if (toDone && resolution === null)
      throw new SiteError(400, [], { resolution: "Resolution is required." });
    if (toDone && !resolutions.some((candidate) => candidate.name === resolution)) {
      throw new SiteError(400, [], { resolution: `Resolution '${resolution}' is not valid.` });
    }
    const at = now().getTime();
    const items = [
      change("status", issue.status, chosen.to, {
        from: simulatorStatuses[issue.status]!.id,
        to: simulatorStatuses[chosen.to]!.id,
      }),
    ];
    const nextResolution = toDone ? resolution : null;
    if (nextResolution !== issue.resolution)
      items.push(change("resolution", issue.resolution, nextResolution));
    issue.status = chosen.to;
    issue.resolution = nextResolution;
    issue.resolutionDate = toDone ? at : null;
    const history = record(issue, accountId, items, at)!;
    emit("jira:issue_updated", issue, accountId, { changelog: history, eventType: "issue_generic" });
  }

  function addComment(issue: SimIssue, body: AdfNode, isPublic: boolean, accountId: string): SimComment {
    const at = now().getTime();
    const comment: SimComment = {
      id: String(nextCommentId++),
      authorId: accountId,
      updateAuthorId: accountId,
      body,
      public: isPublic,
      created: at,
      updated: at,
    };
    issue.comments.push(comment);
    issue.updated = at;
    emit("comment_created", issue, accountId, { comment });
    return comment;
  }

  function addWorklog(
    issue: SimIssue,
    input: {
      started: number;
      timeSpentSeconds: number;
      comment: AdfNode | null;
      properties: SimWorklog["properties"];
    },
    accountId: string,
  ): SimWorklog {
    const at = now().getTime();
    const worklog: SimWorklog = { id: String(nextWorklogId++), authorId: accountId, created: at, ...input };
    const before = issue.worklogs.reduce((sum, entry) => sum + entry.timeSpentSeconds, 0);
    issue.worklogs.push(worklog);
    // Jira records the time tracking change on the issue (its `updated` moves) and sends an issue update.
    const history = record(
      issue,
      accountId,
      [
        change("timespent", before === 0 ? null : String(before), String(before + input.timeSpentSeconds)),
        change("WorklogId", null, worklog.id),
      ],
      at,
    )!;
    emit("jira:issue_updated", issue, accountId, { changelog: history, eventType: "issue_work_logged" });
    return worklog;
  }

  function worklogJson(issue: SimIssue, worklog: SimWorklog, withProperties: boolean) {
    return {
      self: `${siteUrl}/rest/api/3/issue/${issue.id}/worklog/${worklog.id}`,
      id: worklog.id,
      issueId: issue.id,
      author: userDetails(worklog.authorId),
      updateAuthor: userDetails(worklog.authorId),
      ...(worklog.comment === null ? {} : { comment: worklog.comment }),
      created: jiraDateTime(worklog.created),
      updated: jiraDateTime(worklog.created),
      started: jiraDateTime(worklog.started),
      timeSpent: `${Math.round(worklog.timeSpentSeconds / 60)}m`,
      timeSpentSeconds: worklog.timeSpentSeconds,
      ...(withProperties ? { properties: worklog.properties } : {}),
    };
  }

  function findIssue(idOrKey: string): SimIssue {
    const issue =
      state.issues.get(idOrKey) ?? [...state.issues.values()].find((candidate) => candidate.key === idOrKey);
    if (issue === undefined) throw notFound();
    return issue;
  }

  // -------------------------------------------------------------------------------------------
  // JQL search

  function resolveJqlField(name: string): string | null {
    const lower = name.toLowerCase();
    if (lower === "key" || lower === "issuekey" || lower === "id" || lower === "issue") return "key";
    if (lower === "type") return "issuetype";
    const system = systemFields.find((field) => field.clause === lower || field.id === lower);
    if (system !== undefined) return system.id;
    const cf = /^cf\[(\d+)\]$/.exec(lower);
    const custom = customFields.find(
      (field) => (cf !== null && field.id === `customfield_${cf[1]}`) || field.name.toLowerCase() === lower,
    );
    return custom?.id ?? null;
  }

  function jqlSubject(issue: SimIssue): JqlSubject {
    return {
      text(field) {
        switch (field) {
          case "key":
            return issue.key;
          case "project":
            return projectKey;
          case "status":
            return issue.status;
          case "priority":
            return issue.priority;
          case "summary":
            return issue.summary;
          case "description":
            return adfText(issue.description);
          case "reporter":
            return issue.reporterId;
          case "creator":
            return issue.creatorId;
          case "issuetype":
            return issue.issueType;
          case "resolution":
            return issue.resolution;
          default:
            return textOf(issue.custom[field]);
        }
      },
      instant(field) {
        if (field === "created") return issue.created;
        if (field === "updated") return issue.updated;
        if (field === "resolutiondate") return issue.resolutionDate;
        return null;
      },
    };
  }

  function search(jql: string, accountId: string): SimIssue[] {
    let query: ReturnType<typeof parseJql>;
    try {
      query = parseJql(jql);
      if (query.where === null) {
        throw new JqlError(
          "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        );
      }
      const context = {
        currentUser: accountId,
        timeZone: userOf(accountId).timeZone,
        now: now().getTime(),
        resolveField: resolveJqlField,
        isDateField: (field: string) => ["created", "updated", "resolutiondate"].includes(field),
      };
      const matched = [...state.issues.values()].filter((issue) =>
        matchesJql(query.where, jqlSubject(issue), context),
      );
      const order = query.orderBy.length > 0 ? query.orderBy : [{ field: "key", descending: true }];
      for (const { field } of order) {
        if (resolveJqlField(field) === null) throw new JqlError(`Not able to sort using field '${field}'.`);
      }
      return matched.sort((left, right) => {
        for (const { field, descending } of order) {
          const resolved = resolveJqlField(field)!;
          const compared =
            resolved === "key"
              ? Number(left.id) - Number(right.id)
              : context.isDateField(resolved)
                ? (jqlSubject(left).instant(resolved) ?? 0) - (jqlSubject(right).instant(resolved) ?? 0)
                : (jqlSubject(left).text(resolved) ?? "").localeCompare(
                    jqlSubject(right).text(resolved) ?? "",
                  );
          if (compared !== 0) return descending ? -compared : compared;
        }
        return 0;
      });
    } catch (error) {
      if (error instanceof JqlError) throw new SiteError(400, [error.message]);
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  function authenticate(c: Context): string | null {
    const credentials = readCredentials(c.req.header("authorization"));
    const accepted =
      credentials?.scheme === "basic"
        ? credentials.username === integrationAccount.emailAddress &&
          credentials.password === integrationAccount.apiToken
        : credentials !== null && (options.bearerTokens ?? []).includes(credentials.token);
    return accepted ? integrationAccount.accountId : null;
  }

  const isServiceDesk = (path: string) => path.startsWith("/rest/servicedeskapi/");

  function errorResponse(c: Context, error: SiteError): Response {
    if (isServiceDesk(c.req.path)) {
      return c.json(
        {
          errorMessage: error.message,
          i18nErrorMessage: { i18nKey: "sd.simulator.error", parameters: [] },
        },
        error.status,
      );
    }
    return c.json({ errorMessages: error.messages, errors: error.fieldErrors }, error.status);
  }

  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof SiteError) return errorResponse(c, error);
    return c.json({ errorMessages: [`Internal server error: ${String(error)}`], errors: {} }, 500);
  });

  app.use("/rest/*", async (c, next) => {
    const method = c.req.method;
    const contentType = c.req.header("content-type") ?? null;
    let body: unknown;
    if (method !== "GET" && method !== "DELETE") {
      if (contentType?.startsWith("multipart/form-data")) {
        const form = await c.req.raw
          .clone()
          .formData()
          .catch(() => null);
        body =
          form === null
            ? undefined
            : [...form.entries()].map(([name, value]) => ({
                name,
                originalFilename: isUploadedFile(value) ? value.name : undefined,
                size: isUploadedFile(value) ? value.size : String(value).length,
              }));
      } else {
        const text = await c.req.raw.clone().text();
        body = text === "" ? undefined : safeJson(text);
      }
    }
    const accountId = authenticate(c);
    const exchange: RecordedExchange = {
      method,
      path: c.req.path,
      query: c.req.query(),
      headers: Object.fromEntries(
        [...c.req.raw.headers.entries()].filter(([name]) => name.startsWith("x-") || name === "content-type"),
      ),
      body,
      contentType,
      accountId,
      status: 0,
      responseBody: undefined,
      faulted: false,
    };
    kit.record(exchange);
    const finish = async (response: Response) => {
      exchange.status = response.status;
      const text = await response.clone().text();
      exchange.responseBody = text === "" ? undefined : safeJson(text);
    };
    if (accountId === null) {
      c.header("WWW-Authenticate", 'Basic realm="protected-area", OAuth realm="https://api.atlassian.com"');
      const response = errorResponse(
        c,
        new SiteError(401, ["You are not authenticated. Authentication required to perform this operation."]),
      );
      await finish(response);
      return response;
    }
    c.set("accountId" as never, accountId as never);
    const fault = kit.takeRequestFault(method, c.req.path);
    if (fault?.kind === "status") {
      exchange.faulted = true;
      if (fault.retryAfterSeconds !== undefined) c.header("Retry-After", String(fault.retryAfterSeconds));
      let response: Response;
      if (fault.status === 429) {
        const reset = new Date(now().getTime() + (fault.retryAfterSeconds ?? 1) * 1000).toISOString();
        c.header("X-RateLimit-Limit", "100");
        c.header("X-RateLimit-Remaining", "0");
        c.header("X-RateLimit-Reset", reset);
        c.header("RateLimit-Reason", "jira-burst-based");
        response = c.json({ errorMessages: ["Rate limit exceeded."], errors: {} }, 429);
      } else if (fault.status === 500) {
        response = c.json({ errorMessages: ["Internal server error"], errors: {} }, 500);
      } else {
        // Gateway errors and maintenance pages come from the edge as HTML.
        response = c.html("<html><body><h1>Service Unavailable</h1></body></html>", fault.status);
      }
      await finish(response);
      return response;
    }
    await next();
    if (fault?.kind === "rate-limit-exhausted") {
      exchange.faulted = true;
      c.res.headers.set("X-RateLimit-Limit", "100");
      c.res.headers.set("X-RateLimit-Remaining", "0");
      c.res.headers.set("X-RateLimit-Reset", new Date(now().getTime() + fault.resetAfterMs).toISOString());
    }
    await finish(c.res);
    if (fault?.kind === "timeout") {
      exchange.faulted = true;
      await sleep(fault.delayMs);
    }
  });

  const accountOf = (c: Context) => c.get("accountId" as never) as string;

  async function jsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
    const body: unknown = await c.req.json().catch(() => undefined);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SiteError(400, [
        `Unrecognized or invalid body: ${issue?.path.join(".") || "(root)"} ${issue?.message ?? ""}`.trim(),
      ]);
    }
    return parsed.data;
  }

  function requireNoCheck(c: Context): void {
    // Multipart endpoints are XSRF-protected unless the client opts out.
    if (c.req.header("x-atlassian-token") !== "no-check") throw new SiteError(403, ["XSRF check failed"]);
  }

  async function uploadedFiles(c: Context) {
    const form = await c.req.formData().catch(() => null);
    const files: UploadedFile[] =
      form?.getAll("file").flatMap((value: unknown) => (isUploadedFile(value) ? [value] : [])) ?? [];
    if (files.length === 0)
      throw new SiteError(400, ["No attachments were found in the request; the form field must be 'file'."]);
    return Promise.all(
      files.map(async (file) => ({
        filename: file.name,
        mimeType: file.type === "" ? "application/octet-stream" : file.type.split(";")[0]!,
        bytes: new Uint8Array(await file.arrayBuffer()),
      })),
    );
  }

  // Get current user
  app.get("/rest/api/3/myself", (c) => {
    const user = userDetails(accountOf(c));
    return c.json({
      ...user,
      locale: "en_US",
      groups: { size: 1, items: [] },
      applicationRoles: { size: 1, items: [] },
    });
  });

  // Get fields
  app.get("/rest/api/3/field", (c) =>
    c.json([
      ...systemFields.map((field) => ({
        id: field.id,
        key: field.id,
        name: field.name,
        custom: false,
        orderable: true,
        navigable: true,
        searchable: true,
        clauseNames: [field.clause],
        schema: { type: field.type, system: field.system },
      })),
      ...customFields.map((field) => {
        const number = Number(field.id.replace("customfield_", ""));
        return {
          id: field.id,
          key: field.id,
          name: field.name,
          custom: true,
          orderable: true,
          navigable: true,
          searchable: true,
          clauseNames: [`cf[${number}]`, field.name],
          schema: {
            type: field.type,
            custom:
              field.type === "string"
                ? "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
                : "com.atlassian.jira.plugin.system.customfieldtypes:select",
            customId: number,
          },
        };
      }),
    ]),
  );

  // Get request type by id
  app.get("/rest/servicedeskapi/servicedesk/:serviceDeskId/requesttype/:requestTypeId", (c) => {
    if (c.req.param("serviceDeskId") !== serviceDeskId || c.req.param("requestTypeId") !== requestTypeId) {
      throw new SiteError(404, ["The request type does not exist or you do not have permission to see it."]);
    }
    return c.json({
      _expands: ["field"],
      id: requestTypeId,
      name: "Get IT help",
      description: "Get assistance for general IT problems and questions.",
      helpText: "",
      issueTypeId: issueTypes[0]!.id,
      serviceDeskId,
      portalId: serviceDeskId,
      groupIds: ["12"],
      _links: {
        self: `${siteUrl}/rest/servicedeskapi/servicedesk/${serviceDeskId}/requesttype/${requestTypeId}`,
      },
    });
  });

  // Create customer request
  app.post("/rest/servicedeskapi/request", async (c) => {
    const body = await jsonBody(
      c,
      z.strictObject({
        serviceDeskId: z.string(),
        requestTypeId: z.string(),
        requestFieldValues: z.record(z.string(), z.unknown()),
        raiseOnBehalfOf: z.string().optional(),
        requestParticipants: z.array(z.string()).optional(),
        isAdfRequest: z.boolean().optional(),
        channel: z.string().optional(),
      }),
    );
    if (body.serviceDeskId !== serviceDeskId || body.requestTypeId !== requestTypeId) {
      throw new SiteError(400, [
        "The request type you are trying to use does not exist in this service desk.",
      ]);
    }
    // Only fields on the request type's form may be set here.
    const invalid = Object.keys(body.requestFieldValues).filter(
      (field) => field !== "summary" && field !== "description",
    );
    if (invalid.length > 0) {
      throw new SiteError(400, [`The field(s) ${invalid.join(", ")} are not valid for this request type.`]);
    }
    const summary = body.requestFieldValues["summary"];
    if (typeof summary !== "string" || summary.trim() === "")
      throw new SiteError(400, ["What do you need? is required."]);
    const description = body.requestFieldValues["description"];
    if (description !== undefined && typeof description !== "string" && !body.isAdfRequest) {
      throw new SiteError(400, ["Description must be text."]);
    }
    const accountId = accountOf(c);
    const issue = newIssue({
      summary,
      issueType: "Service Request",
      requestTypeId,
      accountId,
      reporterId: body.raiseOnBehalfOf ?? accountId,
    });
    if (typeof description === "string" && description !== "")
      issue.description = toAdf(parseWiki(description));
    else if (isAdfDoc(description)) issue.description = description;
    state.issues.set(issue.id, issue);
    emit("jira:issue_created", issue, accountId, { eventType: "issue_created" });
    return c.json(
      {
        _expands: [
          "participant",
          "status",
          "sla",
          "requestType",
          "serviceDesk",
          "attachment",
          "action",
          "comment",
        ],
        issueId: issue.id,
        issueKey: issue.key,
        summary: issue.summary,
        requestTypeId,
        serviceDeskId,
        createdDate: dateDto(issue.created),
        reporter: userDto(issue.reporterId),
        requestFieldValues: [
          { fieldId: "summary", label: "What do you need?", value: issue.summary },
          ...(typeof description === "string"
            ? [{ fieldId: "description", label: "Why do you need this?", value: description }]
            : []),
        ],
        currentStatus: { status: issue.status, statusCategory: "NEW", statusDate: dateDto(issue.created) },
        _links: {
          jiraRest: `${siteUrl}/rest/api/2/issue/${issue.id}`,
          web: `${siteUrl}/servicedesk/customer/portal/${serviceDeskId}/${issue.key}`,
          agent: `${siteUrl}/browse/${issue.key}`,
          self: `${siteUrl}/rest/servicedeskapi/request/${issue.id}`,
        },
      },
      201,
    );
  });

  // Create issue
  app.post("/rest/api/3/issue", async (c) => {
    const body = await jsonBody(
      c,
      z.object({ fields: z.record(z.string(), z.unknown()), update: z.unknown().optional() }),
    );
    const { fields } = body;
    const project = fields["project"] as { key?: unknown; id?: unknown } | undefined;
    if (project?.key !== projectKey && project?.id !== projectId) {
      throw new SiteError(400, [], { project: "Specify a valid project ID or key" });
    }
    const type = fields["issuetype"] as { name?: unknown; id?: unknown } | undefined;
    const issueType = issueTypes.find(
      (candidate) => candidate.name === type?.name || candidate.id === type?.id,
    );
    if (issueType === undefined) throw new SiteError(400, [], { issuetype: "Specify an issue type" });
    if (typeof fields["summary"] !== "string")
      throw new SiteError(400, [], { summary: "You must specify a summary of the issue." });
    const accountId = accountOf(c);
    const issue = newIssue({
      summary: "",
      issueType: issueType.name,
      requestTypeId: null,
      accountId,
      reporterId: accountId,
    });
    applyFields(issue, fields, true);
    issue.updated = issue.created;
    state.issues.set(issue.id, issue);
    emit("jira:issue_created", issue, accountId, { eventType: "issue_created" });
    return c.json({ id: issue.id, key: issue.key, self: `${siteUrl}/rest/api/3/issue/${issue.id}` }, 201);
  });

  // Get issue
  app.get("/rest/api/3/issue/:issueIdOrKey", (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    return c.json(issueJson(issue, c.req.query("fields"), c.req.query("expand")));
  });

  // Edit issue
  app.put("/rest/api/3/issue/:issueIdOrKey", async (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const body = await jsonBody(
      c,
      z.object({
        fields: z.record(z.string(), z.unknown()).optional(),
        update: z.record(z.string(), z.unknown()).optional(),
      }),
    );
    if (body.fields?.["status"] !== undefined) {
      throw new SiteError(400, [], {
        status: "Field 'status' cannot be set. It is not on the appropriate screen, or unknown.",
      });
    }
    const accountId = accountOf(c);
    const draft: SimIssue = structuredClone(issue);
    const items = applyFields(draft, body.fields ?? {}, false);
    Object.assign(issue, draft);
    const history = record(issue, accountId, items, now().getTime());
    if (history !== null)
      emit("jira:issue_updated", issue, accountId, { changelog: history, eventType: "issue_updated" });
    return c.body(null, 204);
  });

  // Get transitions
  app.get("/rest/api/3/issue/:issueIdOrKey/transitions", (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const withFields = c.req.query("expand")?.split(",").includes("transitions.fields") ?? false;
    return c.json({
      expand: "transitions",
      transitions: transitionsFrom(issue).map((candidate) => {
        const toDone = simulatorStatuses[candidate.to]!.category === "done";
        const json: Record<string, unknown> = {
          id: candidate.id,
          name: candidate.name,
          to: statusDetails(candidate.to),
          hasScreen: toDone,
          isGlobal: false,
          isInitial: false,
          isAvailable: true,
          isConditional: false,
          isLooped: false,
        };
        if (withFields) {
          json["fields"] = toDone
            ? {
                resolution: {
                  required: true,
                  schema: { type: "resolution", system: "resolution" },
                  name: "Resolution",
                  key: "resolution",
                  operations: ["set"],
                  allowedValues: resolutions.map((resolution) => ({
                    self: `${siteUrl}/rest/api/3/resolution/${resolution.id}`,
                    ...resolution,
                  })),
                },
              }
            : {};
        }
        return json;
      }),
    });
  });

  // Transition issue
  app.post("/rest/api/3/issue/:issueIdOrKey/transitions", async (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const body = await jsonBody(
      c,
      z.object({
        transition: z.object({ id: z.string() }),
        fields: z
          .object({ resolution: z.object({ name: z.string() }).optional() })
          .catchall(z.unknown())
          .optional(),
      }),
    );
    transition(issue, body.transition.id, body.fields?.resolution?.name ?? null, accountOf(c));
    return c.body(null, 204);
  });

  // Create request comment
  app.post("/rest/servicedeskapi/request/:issueIdOrKey/comment", async (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const body = await jsonBody(c, z.strictObject({ body: z.string().min(1), public: z.boolean() }));
    // Jira keeps the comment as ADF; the servicedesk API takes and returns wiki markup.
    const comment = addComment(issue, toAdf(parseWiki(body.body)), body.public, accountOf(c));
    return c.json({ ...serviceDeskCommentJson(issue, comment), body: body.body }, 201);
  });

  // Get request comments
  app.get("/rest/servicedeskapi/request/:issueIdOrKey/comment", (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const withPublic = c.req.query("public") !== "false";
    const withInternal = c.req.query("internal") !== "false";
    const start = Math.max(0, Number(c.req.query("start") ?? "0") || 0);
    const limit = Math.max(1, Number(c.req.query("limit") ?? "50") || 50);
    const selected = issue.comments.filter((comment) => (comment.public ? withPublic : withInternal));
    const page = selected.slice(start, start + limit);
    return c.json({
      _expands: [],
      size: page.length,
      start,
      limit,
      isLastPage: start + limit >= selected.length,
      _links: { base: `${siteUrl}/rest/servicedeskapi`, context: "", self: `${siteUrl}${c.req.path}` },
      values: page.map((comment) => serviceDeskCommentJson(issue, comment)),
    });
  });

  // Get comments
  app.get("/rest/api/3/issue/:issueIdOrKey/comment", (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const startAt = Math.max(0, Number(c.req.query("startAt") ?? "0") || 0);
    const maxResults = Math.min(100, Math.max(1, Number(c.req.query("maxResults") ?? "100") || 100));
    const ordered = [...issue.comments].sort((left, right) => left.created - right.created);
    if (c.req.query("orderBy") === "-created") ordered.reverse();
    return c.json({
      startAt,
      maxResults,
      total: ordered.length,
      comments: ordered.slice(startAt, startAt + maxResults).map((comment) => commentJson(issue, comment)),
    });
  });

  // Get issue worklogs: oldest started first, properties only with expand=properties.
  app.get("/rest/api/3/issue/:issueIdOrKey/worklog", (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const startAt = Math.max(0, Number(c.req.query("startAt") ?? "0") || 0);
    const maxResults = Math.min(5000, Math.max(1, Number(c.req.query("maxResults") ?? "5000") || 5000));
    const withProperties = (c.req.query("expand") ?? "").split(",").includes("properties");
    const ordered = [...issue.worklogs].sort((left, right) => left.started - right.started);
    return c.json({
      startAt,
      maxResults,
      total: ordered.length,
      worklogs: ordered
        .slice(startAt, startAt + maxResults)
        .map((worklog) => worklogJson(issue, worklog, withProperties)),
    });
  });

  // Add worklog: `started` and `timeSpentSeconds` (or `timeSpent`) are required.
  app.post("/rest/api/3/issue/:issueIdOrKey/worklog", async (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const body = await jsonBody(
      c,
      z.object({
        started: z.string(),
        timeSpentSeconds: z.number().int().positive(),
        comment: z.unknown().optional(),
        properties: z.array(z.object({ key: z.string().min(1), value: z.unknown() })).optional(),
      }),
    );
    // Jira's form: "2021-01-17T12:34:00.000+0000"; an ISO "Z" instant is refused.
    const started = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$/.test(body.started)
      ? Date.parse(body.started.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"))
      : Number.NaN;
    if (Number.isNaN(started)) throw new SiteError(400, [], { started: "Invalid date format." });
    const worklog = addWorklog(
      issue,
      {
        started,
        timeSpentSeconds: body.timeSpentSeconds,
        comment: (body.comment as AdfNode | undefined) ?? null,
        properties: body.properties ?? [],
      },
      accountOf(c),
    );
    return c.json(worklogJson(issue, worklog, false), 201);
  });

  // Search for issues using JQL enhanced search (POST)
  app.post("/rest/api/3/search/jql", async (c) => {
    const body = await jsonBody(
      c,
      z.strictObject({
        jql: z.string(),
        nextPageToken: z.string().optional(),
        maxResults: z.number().int().optional(),
        fields: z.array(z.string()).optional(),
        expand: z.string().optional(),
        properties: z.array(z.string()).optional(),
        fieldsByKeys: z.boolean().optional(),
        reconcileIssues: z.array(z.number().int()).optional(),
      }),
    );
    const matched = search(body.jql, accountOf(c));
    let offset = 0;
    if (body.nextPageToken !== undefined) {
      const token = readPageToken(body.nextPageToken);
      if (token === null || token.jql !== body.jql)
        throw new SiteError(400, ["The provided next page token is invalid or expired."]);
      offset = token.offset;
    }
    const maxResults = Math.min(5000, Math.max(1, body.maxResults ?? 50));
    const page = matched.slice(offset, offset + maxResults);
    const isLast = offset + maxResults >= matched.length;
    // Default fields: id only.
    const fields = body.fields === undefined || body.fields.length === 0 ? "id" : body.fields.join(",");
    const issues = page.map((issue) => {
      const json = issueJson(issue, fields, body.expand);
      return fields === "id" ? { id: json["id"], key: json["key"], self: json["self"] } : json;
    });
    const response: Record<string, unknown> = { issues, isLast };
    if (!isLast) response["nextPageToken"] = pageToken({ jql: body.jql, offset: offset + maxResults });
    return c.json(response);
  });

  // Attach temporary file
  app.post("/rest/servicedeskapi/servicedesk/:serviceDeskId/attachTemporaryFile", async (c) => {
    if (c.req.param("serviceDeskId") !== serviceDeskId)
      throw new SiteError(404, ["The service desk does not exist."]);
    requireNoCheck(c);
    const files = await uploadedFiles(c);
    const temporaryAttachments = files.map((file) => {
      const temporaryAttachmentId = `temp${Date.now()}${nextTemporaryId++}`;
      state.temporaryAttachments.set(temporaryAttachmentId, { ...file, created: now().getTime() });
      return { temporaryAttachmentId, fileName: file.filename };
    });
    return c.json({ temporaryAttachments }, 201);
  });

  // Create attachment (on a customer request)
  app.post("/rest/servicedeskapi/request/:issueIdOrKey/attachment", async (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    const body = await jsonBody(
      c,
      z.strictObject({
        temporaryAttachmentIds: z.array(z.string()).min(1),
        public: z.boolean(),
        additionalComment: z.strictObject({ body: z.string() }).optional(),
      }),
    );
    const accountId = accountOf(c);
    const attached = body.temporaryAttachmentIds.map((temporaryId) => {
      const temporary = state.temporaryAttachments.get(temporaryId);
      if (temporary === undefined)
        throw new SiteError(400, [`Temporary attachment '${temporaryId}' does not exist.`]);
      state.temporaryAttachments.delete(temporaryId);
      const attachment: SimAttachment = {
        id: String(nextAttachmentId++),
        filename: temporary.filename,
        mimeType: temporary.mimeType,
        size: temporary.bytes.byteLength,
        created: now().getTime(),
        authorId: accountId,
        bytes: temporary.bytes,
      };
      issue.attachments.push(attachment);
      return attachment;
    });
    const history = record(
      issue,
      accountId,
      attached.map((attachment) => ({
        ...change("Attachment", null, attachment.filename, { from: null, to: attachment.id }),
        fieldId: "attachment",
      })),
      now().getTime(),
    );
    if (history !== null)
      emit("jira:issue_updated", issue, accountId, { changelog: history, eventType: "issue_updated" });
    const result: Record<string, unknown> = {
      attachments: {
        size: attached.length,
        start: 0,
        limit: attached.length,
        isLastPage: true,
        values: attached.map((attachment) => ({
          filename: attachment.filename,
          author: userDto(attachment.authorId),
          created: dateDto(attachment.created),
          size: attachment.size,
          mimeType: attachment.mimeType,
          _links: {
            self: `${siteUrl}/rest/servicedeskapi/request/${issue.id}/attachment/${attachment.id}`,
            jiraRest: `${siteUrl}/rest/api/2/attachment/${attachment.id}`,
            content: `${siteUrl}/rest/servicedeskapi/request/${issue.id}/attachment/${attachment.id}`,
          },
        })),
      },
    };
    if (body.additionalComment !== undefined) {
      const comment = addComment(
        issue,
        toAdf(parseWiki(body.additionalComment.body)),
        body.public,
        accountId,
      );
      result["comment"] = serviceDeskCommentJson(issue, comment);
    }
    return c.json(result, 201);
  });

  // Get attachment content: 303 to the media store unless redirect=false, which answers with the bytes.
  app.get("/rest/api/3/attachment/content/:id", (c) => {
    const id = c.req.param("id");
    const attachment = [...state.issues.values()]
      .flatMap((issue) => issue.attachments)
      .find((candidate) => candidate.id === id);
    if (attachment === undefined) throw new SiteError(404, [`The attachment with id '${id}' does not exist`]);
    if (c.req.query("redirect") !== "false") {
      return c.redirect(`${siteUrl}/rest/api/3/attachment/content/${id}?redirect=false`, 303);
    }
    return c.body(attachment.bytes.slice().buffer as ArrayBuffer, 200, {
      "content-type": attachment.mimeType,
      "content-length": String(attachment.size),
    });
  });

  // Add attachment
  app.post("/rest/api/3/issue/:issueIdOrKey/attachments", async (c) => {
    const issue = findIssue(c.req.param("issueIdOrKey"));
    requireNoCheck(c);
    const files = await uploadedFiles(c);
    const accountId = accountOf(c);
    const attached = files.map((file) => {
      const attachment: SimAttachment = {
        id: String(nextAttachmentId++),
        ...file,
        size: file.bytes.byteLength,
        created: now().getTime(),
        authorId: accountId,
      };
      issue.attachments.push(attachment);
      return attachment;
    });
    const history = record(
      issue,
      accountId,
      attached.map((attachment) => ({
        ...change("Attachment", null, attachment.filename, { from: null, to: attachment.id }),
        fieldId: "attachment",
      })),
      now().getTime(),
    );
    if (history !== null)
      emit("jira:issue_updated", issue, accountId, { changelog: history, eventType: "issue_updated" });
    return c.json(attached.map(attachmentJson));
  });

  app.notFound((c) => {
    const error = new SiteError(404, [`No resource at ${c.req.method} ${c.req.path} in the simulator`]);
    return errorResponse(c, error);
  });

  // -------------------------------------------------------------------------------------------
  // Human edits

  const agent = simulatorUsers.agent.accountId;

  return {
    app,
    state,
    faults: kit.faults,
    exchanges: kit.exchanges,
    webhooks,
    integrationAccount,
    setSiteUrl(url) {
      siteUrl = url.replace(/\/+$/, "");
    },
    connectionSettings: (baseUrl, webhookSecret) => ({
      baseUrl,
      auth: {
        type: "basic",
        username: integrationAccount.emailAddress,
        password: integrationAccount.apiToken,
      },
      serviceDeskId,
      requestTypeId,
      projectKey,
      correlationFieldId,
      integrationAccountId: integrationAccount.accountId,
      jqlTimeZone: "UTC",
      webhookSecret,
    }),
    issue: findIssue,
    simulateAgentCreate(fields, accountId = agent) {
      const issue = newIssue({
        summary: fields.summary,
        issueType: "Service Request",
        requestTypeId,
        accountId,
        reporterId: simulatorUsers.customer.accountId,
      });
      issue.description = canonicalToAdf(fields.description ?? null);
      if (fields.priority !== undefined) issue.priority = fields.priority;
      state.issues.set(issue.id, issue);
      emit("jira:issue_created", issue, accountId, { eventType: "issue_created" });
      return issue;
    },
    simulateAgentUpdate(idOrKey, fields, accountId = agent) {
      const issue = findIssue(idOrKey);
      const jiraFields: Record<string, unknown> = { ...fields.custom };
      if (fields.summary !== undefined) jiraFields["summary"] = fields.summary;
      if (fields.description !== undefined) jiraFields["description"] = canonicalToAdf(fields.description);
      if (fields.priority !== undefined) jiraFields["priority"] = { name: fields.priority };
      const items = applyFields(issue, jiraFields, false);
      const history = record(issue, accountId, items, now().getTime());
      if (history !== null)
        emit("jira:issue_updated", issue, accountId, { changelog: history, eventType: "issue_updated" });
      return issue;
    },
    simulateAgentTransition(idOrKey, statusName, accountId = agent) {
      const issue = findIssue(idOrKey);
      const chosen = transitionsFrom(issue).find((candidate) => candidate.to === statusName);
      if (chosen === undefined) throw new Error(`no transition from ${issue.status} to ${statusName}`);
      transition(
        issue,
        chosen.id,
        simulatorStatuses[statusName]!.category === "done" ? "Done" : null,
        accountId,
      );
      return issue;
    },
    simulateAgentComment(idOrKey, comment, accountId = agent) {
      const body = canonicalToAdf(comment.body);
      if (body === null) throw new Error("a comment needs a body");
      return addComment(findIssue(idOrKey), body, comment.public, accountId);
    },
    simulateAgentWorklog(idOrKey, worklog, accountId = agent) {
      return addWorklog(
        findIssue(idOrKey),
        {
          started: worklog.started.getTime(),
          timeSpentSeconds: worklog.timeSpentSeconds,
          comment: worklog.comment === undefined ? null : canonicalToAdf(worklog.comment),
          properties: [],
        },
        accountId,
      );
    },
    simulateCommentEdit(idOrKey, commentId, body, accountId = agent) {
      const issue = findIssue(idOrKey);
      const comment = issue.comments.find((candidate) => candidate.id === commentId);
      const adf = canonicalToAdf(body);
      if (comment === undefined || adf === null)
        throw new Error(`no comment ${commentId} on ${idOrKey}, or an empty body`);
      const at = now().getTime();
      comment.body = adf;
      comment.updated = at;
      comment.updateAuthorId = accountId;
      issue.updated = at;
      emit("comment_updated", issue, accountId, { comment });
      return comment;
    },
    simulateCommentDelete(idOrKey, commentId, accountId = agent) {
      const issue = findIssue(idOrKey);
      const comment = issue.comments.find((candidate) => candidate.id === commentId);
      if (comment === undefined) throw new Error(`no comment ${commentId} on ${idOrKey}`);
      issue.comments = issue.comments.filter((candidate) => candidate !== comment);
      issue.updated = now().getTime();
      emit("comment_deleted", issue, accountId, { comment });
    },
    settled: kit.settled,
  };
}

/** A multipart file part (undici's File), typed by what the simulator uses. */
interface UploadedFile {
  name: string;
  type: string;
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === "object" && value !== null && "arrayBuffer" in value && "name" in value;
}

function isAdfDoc(value: unknown): value is AdfNode {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === "doc" &&
    (value as { version?: unknown }).version === 1 &&
    Array.isArray((value as { content?: unknown }).content)
  );
}

function adfText(doc: AdfNode | null): string | null {
  if (doc === null) return null;
  const walk = (node: AdfNode): string =>
    node.type === "text"
      ? (node.text ?? "")
      : (node.content ?? []).map(walk).join(node.type === "paragraph" ? "\n" : "");
  return walk(doc).trim();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function pageToken(position: { jql: string; offset: number }): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

function readPageToken(token: string): { jql: string; offset: number } | null {
  try {
    const position: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    const parsed = z.object({ jql: z.string(), offset: z.number().int().nonnegative() }).safeParse(position);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
