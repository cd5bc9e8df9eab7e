import { z } from "@hono/zod-openapi";
import type { TicketStatus, Visibility } from "../../schemas/ticket.js";
import {
  type AddCommentOptions,
  type ChangedPage,
  type ChangedRecord,
  type ClientDeps,
  createHttpClient,
  createOnce,
  defaultRetryPolicy,
  defaultTimeoutMs,
  type ExternalRef,
  findOwnWrite,
  HttpError,
  isPastChangedCursor,
  nextChangedCursor,
  type OutboundComment,
  type OutboundTicket,
  PermanentHttpError,
  parseChangedCursor,
  type ServicedeskClient,
} from "../sdk/index.js";
import { fromAdf, parseCanonical, readableText } from "./adf.js";
import {
  AddedAttachments,
  AttachmentCreateResult,
  CreatedCustomerRequest,
  CreatedIssue,
  FieldDetails,
  IssueRecord,
  IssueRef,
  type JiraAttachment,
  JiraAttachment as JiraAttachmentSchema,
  type JiraComment,
  type JiraWorklog,
  Myself,
  PageOfComments,
  PageOfWorklogs,
  RequestType,
  SearchResults,
  ServiceDeskComment,
  TemporaryAttachments,
  Transitions,
} from "./api-types.js";
import { apiBaseUrl, browseUrl, type JsmSettings } from "./config.js";
import {
  canonicalCategory,
  chooseTransition,
  commentIsPublic,
  commentText,
  correlationJql,
  customFieldClause,
  fallbackCategory,
  fromCanonicalStatus,
  type JsmExternalAttachment,
  type JsmExternalTicket,
  type JsmMappingContext,
  jqlDateTime,
  jqlString,
  sameStatusName,
  summaryOf,
  toAfterRequestCreateFields,
  toCreateIssueBody,
  toCreateRequestBody,
  toEditFields,
  toExternalAttachment,
  toExternalTicket,
  toExternalWorklog,
  toServiceDeskCommentBody,
  toWorklogBody,
} from "./mapping.js";
import { AttachmentTooLargeError, createJiraTransport, type UploadSource } from "./transport.js";

// Jira Cloud platform REST v3: https://developer.atlassian.com/cloud/jira/platform/rest/v3/
// JSM servicedesk REST: https://developer.atlassian.com/cloud/jira/service-desk/rest/

/** A file for {@link JsmClient.uploadAttachment}. */
export interface AttachmentUpload extends UploadSource {
  /** JSM shows a file to customers only when attached publicly. */
  visibility: Visibility;
  /** Declared size, when known: refused before any byte is sent if over the cap. */
  sizeBytes?: number;
}

/** What {@link JsmClient.uploadAttachment} stored. */
export interface UploadedAttachment {
  /** Jira's attachment id; null when the JSM response gave none and the read-back found no match. */
  externalId: string | null;
  fileName: string;
  contentType: string | null;
  sizeBytes: number;
  /** SHA-256 of the bytes sent, hex, computed while streaming. */
  sha256: string;
  createdAt: string | null;
}

/** The JSM client: the SDK interface plus attachments, which the SDK interface does not cover. */
export interface JsmClient extends ServicedeskClient {
  getTicket(externalId: string): Promise<JsmExternalTicket>;
  /** Streams a file to the issue (JSM temporary file + attach for requests, platform attachments for issues). */
  uploadAttachment(externalId: string, upload: AttachmentUpload): Promise<UploadedAttachment>;
  listAttachments(externalId: string): Promise<JsmExternalAttachment[]>;
  openAttachment: NonNullable<ServicedeskClient["openAttachment"]>;
  putAttachment: NonNullable<ServicedeskClient["putAttachment"]>;
  listWorklogs: NonNullable<ServicedeskClient["listWorklogs"]>;
  addWorklog: NonNullable<ServicedeskClient["addWorklog"]>;
}

/** No transition leads to the wanted status; retrying cannot help until the workflow or mapping changes. */
export class TransitionNotAvailableError extends PermanentHttpError {}

/** Comment pages are 100 on Jira Cloud; 50 pages is 5 000 comments, beyond any real issue. */
const commentPageSize = 100;
const maxCommentPages = 50;
/** Worklog pages: Jira answers up to 5 000 per page; 20 pages is beyond any real issue. */
const worklogPageSize = 1000;
const maxWorklogPages = 20;
/** Pages one changed-since call may read; the minute overlap re-reads a little each time. */
const maxSearchPages = 20;
/** Jira's search index lags writes ("recent updates might not be immediately visible"). */
const searchLagMs = 60_000;
/** JQL dates have minute resolution in the user's zone; one extra minute covers the boundary. */
const jqlOverlapMs = 60_000;
/** How far back an ambiguous request create is looked for. */
const orphanWindowMinutes = 15;
const issueKeyPattern = /^([A-Z][A-Z0-9_]*)-(\d+)$/;
const issueIdOrKeyPattern = /^(\d+|[A-Z][A-Z0-9_]*-\d+)$/;

/** Passes a stream through unchanged, erroring it with `tooLarge()` once more than `maxBytes` went by. */
function capped(
  source: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): ReadableStream<Uint8Array> {
  let sizeBytes = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sizeBytes += chunk.byteLength;
        if (sizeBytes > maxBytes) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
}

function assertIssueIdOrKey(externalId: string): void {
  if (!issueIdOrKeyPattern.test(externalId)) {
    throw new TypeError(`not a Jira issue id or key: ${JSON.stringify(externalId)}`);
  }
}

/** Orders keys as JQL `ORDER BY key` does: project, then number. */
function compareKeys(left: string, right: string): number {
  const [, leftProject = "", leftNumber = "0"] = issueKeyPattern.exec(left) ?? [];
  const [, rightProject = "", rightNumber = "0"] = issueKeyPattern.exec(right) ?? [];
  if (leftProject !== rightProject) return leftProject < rightProject ? -1 : 1;
  return Number(leftNumber) - Number(rightNumber);
}

/** Creates the client of one JSM / Jira Cloud connection. */
export function createJsmClient(settings: JsmSettings, deps: ClientDeps<JsmMappingContext>): JsmClient {
  const now = deps.now ?? (() => new Date());
  const retry = deps.retry ?? defaultRetryPolicy;
  const timeoutMs = deps.timeoutMs ?? defaultTimeoutMs;
  const transport = createJiraTransport({
    fetch: deps.fetch,
    now,
    maxPauseMs: retry.maxTimeoutMs,
    uploadTimeoutMs: Math.max(timeoutMs * 8, 120_000),
    maxUploadBytes: settings.maxAttachmentBytes,
  });
  const http = createHttpClient({
    baseUrl: apiBaseUrl(settings),
    auth: settings.auth,
    fetch: transport.fetch,
    timeoutMs,
    retry,
    now: deps.now,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const scheme = deps.mapping.priority;
  const correlationField = settings.correlationFieldId;
  const mappedFieldIds = (settings.fieldMapping ?? []).map((entry) => entry.fieldId);
  /** Requests created but whose correlation field write failed: a retry finishes them instead of creating again. */
  const unlinkedRequests = new Map<string, string>();
  /** Canonical ids whose request POST failed without telling us whether it landed. */
  const ambiguousRequestCreates = new Set<string>();
  let jqlZone: string | null = settings.jqlTimeZone ?? null;

  const toRef = (ref: IssueRef, action: ExternalRef["action"]): ExternalRef => ({
    externalId: ref.id,
    externalKey: ref.key,
    url: browseUrl(settings, ref.key),
    updatedAt: ref.fields.updated,
    action,
  });

  async function readRef(issueIdOrKey: string): Promise<IssueRef> {
    // Get issue - GET /rest/api/3/issue/{issueIdOrKey}
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
    const response = await http.request({
      method: "GET",
      path: `/rest/api/3/issue/${issueIdOrKey}`,
      query: { fields: "updated,status" },
      schema: IssueRef,
    });
    return response.data;
  }

  async function search(body: {
    jql: string;
    fields: string[];
    maxResults: number;
    nextPageToken?: string;
  }): Promise<SearchResults> {
    // Search for issues using JQL enhanced search - POST /rest/api/3/search/jql (the old /search is deprecated).
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-post
    const response = await http.request({
      method: "POST",
      path: "/rest/api/3/search/jql",
      body,
      schema: SearchResults,
      // A search reads; replaying it is harmless.
      idempotent: true,
    });
    return response.data;
  }

  async function findByCorrelation(canonicalId: string): Promise<IssueRef | null> {
    const results = await search({
      jql: `${correlationJql(settings, canonicalId)} ORDER BY created ASC`,
      fields: [correlationField, "updated", "status"],
      maxResults: 10,
    });
    // `~` is a text match; only an exact value is ours.
    const match = results.issues.find((issue) => issue.fields[correlationField] === canonicalId);
    return match === undefined ? null : IssueRef.parse(match);
  }

  /** A request we created in the last minutes that never got its correlation id (an ambiguous POST). */
  async function findOrphanRequest(ticket: OutboundTicket): Promise<string | null> {
    const results = await search({
      jql: [
        `project = ${jqlString(settings.projectKey)}`,
        "creator = currentUser()",
        `created >= ${jqlString(`-${orphanWindowMinutes}m`)}`,
        `${customFieldClause(correlationField)} is EMPTY`,
      ]
        .join(" AND ")
        .concat(" ORDER BY created DESC"),
      fields: ["summary", "updated"],
      maxResults: 20,
    });
    const summary = summaryOf(ticket.title);
    return results.issues.find((issue) => issue.fields["summary"] === summary)?.id ?? null;
  }

  async function editFields(issueIdOrKey: string, fields: Record<string, unknown>): Promise<void> {
    // Edit issue - PUT /rest/api/3/issue/{issueIdOrKey}; 204 without a body.
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put
    await http.request({
      method: "PUT",
      path: `/rest/api/3/issue/${issueIdOrKey}`,
      body: { fields },
      schema: z.unknown(),
    });
  }

  async function readComments(issueIdOrKey: string): Promise<JiraComment[]> {
    const comments: JiraComment[] = [];
    for (let page = 0; page < maxCommentPages; page++) {
      // Get comments - GET /rest/api/3/issue/{issueIdOrKey}/comment: ADF bodies, jsdPublic for JSM visibility.
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/#api-rest-api-3-issue-issueidorkey-comment-get
      const response = await http.request({
        method: "GET",
        path: `/rest/api/3/issue/${issueIdOrKey}/comment`,
        query: { startAt: comments.length, maxResults: commentPageSize, orderBy: "created" },
        schema: PageOfComments,
      });
      comments.push(...response.data.comments);
      if (response.data.comments.length === 0 || comments.length >= response.data.total) break;
    }
    return comments;
  }

  async function readWorklogs(issueIdOrKey: string) {
    const worklogs: JiraWorklog[] = [];
    for (let page = 0; page < maxWorklogPages; page++) {
      // Get issue worklogs - GET /rest/api/3/issue/{issueIdOrKey}/worklog; properties carry our worklog id.
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-issue-issueidorkey-worklog-get
      const response = await http.request({
        method: "GET",
        path: `/rest/api/3/issue/${issueIdOrKey}/worklog`,
        query: { startAt: worklogs.length, maxResults: worklogPageSize, expand: "properties" },
        schema: PageOfWorklogs,
      });
      worklogs.push(...response.data.worklogs);
      if (response.data.worklogs.length === 0 || worklogs.length >= response.data.total) break;
    }
    return worklogs;
  }

  /** Our own comment with this text and visibility, written at or after `since`. */
  async function findOwnComment(
    issueIdOrKey: string,
    text: string,
    isPublic: boolean,
    since: Date | null,
  ): Promise<JiraComment | null> {
    return findOwnWrite(await readComments(issueIdOrKey), {
      // Jira stores our wiki markup as ADF; compare what a reader sees, not the markup.
      text: readableText(parseCanonical(text)),
      textOf: (comment) => readableText(fromAdf(comment.body)),
      identity: settings.integrationAccountId,
      authorOf: (comment) => comment.author?.accountId,
      since,
      createdAtMs: (comment) => Date.parse(comment.created),
      also: (comment) => (comment.jsdPublic !== false) === isPublic,
    });
  }

  async function postComment(
    issueIdOrKey: string,
    comment: Pick<OutboundComment, "body" | "authorName" | "visibility">,
  ) {
    // Create request comment - POST /rest/servicedeskapi/request/{issueIdOrKey}/comment; `public` sets visibility exactly.
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
    const response = await http.request({
      method: "POST",
      path: `/rest/servicedeskapi/request/${issueIdOrKey}/comment`,
      body: toServiceDeskCommentBody(comment, settings),
      schema: ServiceDeskComment,
    });
    return response.data;
  }

  /** Moves the issue to the status `status` maps to. Returns false when it is already there. */
  async function applyStatus(issueIdOrKey: string, status: TicketStatus): Promise<boolean> {
    const targetName = fromCanonicalStatus(status, settings.mapping);
    const current = await readRef(issueIdOrKey);
    if (current.fields.status !== undefined && sameStatusName(current.fields.status.name, targetName))
      return false;
    const path = `/rest/api/3/issue/${issueIdOrKey}/transitions`;
    // Get transitions - GET /rest/api/3/issue/{issueIdOrKey}/transitions, with the screen fields each needs.
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-get
    const response = await http.request({
      method: "GET",
      path,
      query: { expand: "transitions.fields" },
      schema: Transitions,
    });
    const choice = chooseTransition(response.data.transitions, targetName, fallbackCategory(status));
    if (choice.kind === "none") {
      throw new TransitionNotAvailableError(`cannot move ${issueIdOrKey} to ${status}: ${choice.reason}`, {
        method: "POST",
        url: http.url(path),
        status: null,
        attempts: 0,
        latencyMs: 0,
        responseBody: null,
      });
    }
    const body: Record<string, unknown> = { transition: { id: choice.transition.id } };
    // Resolve and close screens usually require a resolution.
    if (choice.transition.fields?.["resolution"] !== undefined) {
      body["fields"] = { resolution: { name: settings.resolutionName } };
    }
    // Transition issue - POST /rest/api/3/issue/{issueIdOrKey}/transitions; 204.
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-post
    await http.request({ method: "POST", path, body, schema: z.unknown() });
    return true;
  }

  /** A resolution note goes in as a comment, once: a retry finds it and does not add it again. */
  async function addResolutionNote(issueIdOrKey: string, note: string): Promise<void> {
    const comment = { body: note, visibility: "public" as const };
    const text = commentText(comment);
    const isPublic = commentIsPublic(comment.visibility, settings);
    if ((await findOwnComment(issueIdOrKey, text, isPublic, null)) !== null) return;
    await postComment(issueIdOrKey, comment);
  }

  async function applyStatusAndNote(issueIdOrKey: string, status: TicketStatus, note: string | undefined) {
    await applyStatus(issueIdOrKey, status);
    if (note !== undefined && canonicalCategory[status] === "done")
      await addResolutionNote(issueIdOrKey, note);
  }

  async function createIssue(ticket: OutboundTicket): Promise<ExternalRef> {
    const outcome = await createOnce(
      async () => {
        // Create issue - POST /rest/api/3/issue; the correlation field goes in with the create.
        // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
        const response = await http.request({
          method: "POST",
          path: "/rest/api/3/issue",
          body: toCreateIssueBody(ticket, settings, scheme),
          schema: CreatedIssue,
        });
        return response.data;
      },
      () => findByCorrelation(ticket.canonicalId),
    );
    if (outcome.action === "linked") return toRef(outcome.record, "linked");
    const created = outcome.record;
    if (ticket.status !== "new") await applyStatusAndNote(created.id, ticket.status, ticket.resolutionNote);
    return toRef(await readRef(created.id), "created");
  }

  /** Correlation id, priority, mapped fields and the exact description on a request we created. */
  async function finishRequest(issueId: string, ticket: OutboundTicket): Promise<void> {
    unlinkedRequests.set(ticket.canonicalId, issueId);
    await editFields(issueId, toAfterRequestCreateFields(ticket, settings, scheme));
    unlinkedRequests.delete(ticket.canonicalId);
    ambiguousRequestCreates.delete(ticket.canonicalId);
    if (ticket.status !== "new") await applyStatusAndNote(issueId, ticket.status, ticket.resolutionNote);
  }

  async function createRequest(ticket: OutboundTicket): Promise<ExternalRef> {
    const unlinked = unlinkedRequests.get(ticket.canonicalId);
    if (unlinked !== undefined) {
      await finishRequest(unlinked, ticket);
      return toRef(await readRef(unlinked), "created");
    }
    if (ambiguousRequestCreates.has(ticket.canonicalId)) {
      const orphan = await findOrphanRequest(ticket);
      if (orphan !== null) {
        await finishRequest(orphan, ticket);
        return toRef(await readRef(orphan), "linked");
      }
    }
    const outcome = await createOnce(
      async () => {
        // Create customer request - POST /rest/servicedeskapi/request.
        // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-post
        const response = await http.request({
          method: "POST",
          path: "/rest/servicedeskapi/request",
          body: toCreateRequestBody(ticket, settings),
          schema: CreatedCustomerRequest,
        });
        return response.data.issueId;
      },
      // The request carries no correlation id yet, so a landed POST is found by creator, age and summary.
      () => {
        ambiguousRequestCreates.add(ticket.canonicalId);
        return findOrphanRequest(ticket);
      },
    );
    await finishRequest(outcome.record, ticket);
    return toRef(await readRef(outcome.record), outcome.action);
  }

  async function readAttachments(issueIdOrKey: string): Promise<JiraAttachment[]> {
    // Get issue - GET /rest/api/3/issue/{issueIdOrKey}?fields=attachment
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
    const response = await http.request({
      method: "GET",
      path: `/rest/api/3/issue/${issueIdOrKey}`,
      query: { fields: "attachment" },
      schema: z.object({ fields: z.object({ attachment: z.array(JiraAttachmentSchema).default([]) }) }),
    });
    return response.data.fields.attachment;
  }

  async function uploadViaServiceDesk(
    issueIdOrKey: string,
    upload: AttachmentUpload,
    headers: Record<string, string>,
  ): Promise<void> {
    // Attach temporary file - POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/attachTemporaryFile (multipart).
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-servicedesk/#api-rest-servicedeskapi-servicedesk-servicedeskid-attachtemporaryfile-post
    const temporary = await http.request({
      method: "POST",
      path: `/rest/servicedeskapi/servicedesk/${settings.serviceDeskId}/attachTemporaryFile`,
      // Replaced by the streamed multipart body in transport.ts.
      body: {},
      headers: { ...headers, "X-ExperimentalApi": "opt-in" },
      schema: TemporaryAttachments,
      // An unused temporary file expires on its own, so sending it twice is harmless.
      idempotent: true,
    });
    // Create attachment - POST /rest/servicedeskapi/request/{issueIdOrKey}/attachment; `public` sets who sees it.
    // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-attachment-post
    await http.request({
      method: "POST",
      path: `/rest/servicedeskapi/request/${issueIdOrKey}/attachment`,
      body: {
        temporaryAttachmentIds: temporary.data.temporaryAttachments.map((file) => file.temporaryAttachmentId),
        public: commentIsPublic(upload.visibility, settings),
      },
      schema: AttachmentCreateResult,
    });
  }

  async function uploadViaPlatform(
    issueIdOrKey: string,
    headers: Record<string, string>,
  ): Promise<JiraAttachment> {
    // Add attachment - POST /rest/api/3/issue/{issueIdOrKey}/attachments (multipart, X-Atlassian-Token: no-check).
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-attachments/#api-rest-api-3-issue-issueidorkey-attachments-post
    const response = await http.request({
      method: "POST",
      path: `/rest/api/3/issue/${issueIdOrKey}/attachments`,
      body: {},
      headers,
      schema: AddedAttachments,
    });
    // The response lists what this call attached; ours is the one with an id.
    return response.data.find((attachment) => attachment.id !== undefined) ?? response.data[0]!;
  }

  return {
    async createTicket(ticket) {
      const existing = await findByCorrelation(ticket.canonicalId);
      if (existing !== null) return toRef(existing, "linked");
      return settings.createAs === "request" ? createRequest(ticket) : createIssue(ticket);
    },

    async updateTicket(externalId, patch) {
      assertIssueIdOrKey(externalId);
      const fields = toEditFields(patch, settings, scheme);
      if (Object.keys(fields).length > 0) await editFields(externalId, fields);
      if (patch.status !== undefined)
        await applyStatusAndNote(externalId, patch.status, patch.resolutionNote);
      return toRef(await readRef(externalId), "updated");
    },

    async getTicket(externalId) {
      assertIssueIdOrKey(externalId);
      // Get issue - GET /rest/api/3/issue/{issueIdOrKey} with the changelog for the last writer.
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
      const response = await http.request({
        method: "GET",
        path: `/rest/api/3/issue/${externalId}`,
        query: {
          fields: [
            "summary",
            "description",
            "status",
            "priority",
            "reporter",
            "created",
            "updated",
            "attachment",
            correlationField,
            ...mappedFieldIds,
          ].join(","),
          expand: "changelog",
        },
        schema: IssueRecord,
      });
      const comments = await readComments(externalId);
      return toExternalTicket({ issue: response.data, comments, settings, scheme });
    },

    async addComment(externalId, comment, opts: AddCommentOptions) {
      assertIssueIdOrKey(externalId);
      const text = commentText(comment);
      const isPublic = commentIsPublic(comment.visibility, settings);
      if (opts.attempt > 1) {
        const existing = await findOwnComment(externalId, text, isPublic, opts.since);
        if (existing !== null) return { externalId: existing.id };
      }
      const created = await postComment(externalId, comment);
      // A servicedesk comment shares its id with the Jira comment, so the platform API finds it by this id.
      return { externalId: created.id };
    },

    async matchesInboundQuery(externalId) {
      if (settings.inboundQuery === undefined) return true;
      const results = await search({
        jql: `issue = ${jqlString(externalId)} AND (${settings.inboundQuery})`,
        fields: ["updated"],
        maxResults: 1,
      });
      return results.issues.length > 0;
    },

    async listChangedSince(cursor, limit): Promise<ChangedPage> {
      if (!Number.isInteger(limit) || limit < 1)
        throw new RangeError(`limit must be a positive integer, got ${limit}`);
      const position = parseChangedCursor(cursor, {
        isKey: (key) => issueKeyPattern.test(key),
        vendor: "JSM",
      });
      const clauses = [`project = ${jqlString(settings.projectKey)}`];
      if (settings.inboundQuery !== undefined) clauses.push(`(${settings.inboundQuery})`);
      if (position !== null) {
        jqlZone ??= await readTimeZone();
        const from = jqlDateTime(new Date(position.sinceMs - jqlOverlapMs), jqlZone);
        clauses.push(`updated >= ${jqlString(from)}`);
      }
      const jql = `${clauses.join(" AND ")} ORDER BY updated ASC, key ASC`;
      const items: (ChangedRecord & { key: string })[] = [];
      let nextPageToken: string | undefined;
      for (let page = 0; page < maxSearchPages && items.length < limit; page++) {
        const results = await search({
          jql,
          fields: ["updated"],
          maxResults: Math.min(100, Math.max(limit, 50)),
          ...(nextPageToken === undefined ? {} : { nextPageToken }),
        });
        for (const issue of results.issues) {
          // The JQL bound is a minute early; drop what the cursor has already passed.
          if (!isPastChangedCursor(position, Date.parse(issue.fields.updated), issue.key, compareKeys))
            continue;
          if (items.length < limit)
            items.push({ externalId: issue.id, updatedAt: issue.fields.updated, key: issue.key });
        }
        if (
          results.nextPageToken === undefined ||
          results.nextPageToken === null ||
          results.issues.length === 0
        )
          break;
        nextPageToken = results.nextPageToken;
      }

      // The cursor stays a search-lag behind now, so an update the index has not shown yet is read next time.
      const lagBoundMs = now().getTime() - searchLagMs;
      const last = items.at(-1);
      const nextCursor =
        last !== undefined && Date.parse(last.updatedAt) > lagBoundMs
          ? position !== null && lagBoundMs <= position.sinceMs
            ? cursor!
            : new Date(lagBoundMs).toISOString()
          : nextChangedCursor(items, limit, (item) => item, cursor ?? new Date(0).toISOString());
      return { items: items.map(({ externalId, updatedAt }) => ({ externalId, updatedAt })), nextCursor };
    },

    async testConnection() {
      try {
        const problems: string[] = [];
        const me = await readMyself();
        if (me.accountId !== settings.integrationAccountId) {
          problems.push(
            `the credentials belong to ${me.accountId}, not integrationAccountId ${settings.integrationAccountId}`,
          );
        }
        // Get fields - GET /rest/api/3/field: the correlation and mapped fields must exist with the right type.
        // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-fields/#api-rest-api-3-field-get
        const fields = await http.request({
          method: "GET",
          path: "/rest/api/3/field",
          schema: z.array(FieldDetails),
        });
        problems.push(...checkFieldSetup(settings, fields.data));
        if (settings.createAs === "request") {
          // Get request type by id - GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype/{requestTypeId}
          // https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-servicedesk/#api-rest-servicedeskapi-servicedesk-servicedeskid-requesttype-requesttypeid-get
          await http.request({
            method: "GET",
            path: `/rest/servicedeskapi/servicedesk/${settings.serviceDeskId}/requesttype/${settings.requestTypeId}`,
            schema: RequestType,
          });
        }
        if (problems.length > 0) return { ok: false, detail: problems.join("; ") };
        return {
          ok: true,
          detail: `signed in as ${me.displayName ?? me.accountId}; ${correlationField} and ${mappedFieldIds.length} mapped field(s) found`,
        };
      } catch (error) {
        if (error instanceof HttpError) {
          return {
            ok: false,
            detail: `${error.message}${error.status === 401 ? " (check the credentials)" : ""}`,
          };
        }
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },

    async uploadAttachment(externalId, upload) {
      assertIssueIdOrKey(externalId);
      const tooLarge = () =>
        new AttachmentTooLargeError(
          `${upload.fileName} is larger than maxAttachmentBytes (${settings.maxAttachmentBytes})`,
          {
            method: "POST",
            url: http.url(`/rest/api/3/issue/${externalId}/attachments`),
            status: null,
            attempts: 0,
            latencyMs: 0,
            responseBody: null,
          },
        );
      if (upload.sizeBytes !== undefined && upload.sizeBytes > settings.maxAttachmentBytes) throw tooLarge();
      const prepared = transport.prepareUpload(upload);
      try {
        let stored: JiraAttachment | null;
        if (settings.createAs === "request") {
          await uploadViaServiceDesk(externalId, upload, prepared.headers);
          const stats = prepared.stats()!;
          // The servicedesk response names no attachment id; the newest file with this name and size is ours.
          const attachments = await readAttachments(externalId);
          stored =
            attachments
              .filter(
                (attachment) =>
                  attachment.id !== undefined &&
                  attachment.filename === upload.fileName &&
                  attachment.size === stats.sizeBytes,
              )
              .sort((left, right) => right.created.localeCompare(left.created))[0] ?? null;
        } else {
          stored = await uploadViaPlatform(externalId, prepared.headers);
        }
        const stats = prepared.stats()!;
        return {
          externalId: stored?.id ?? null,
          fileName: upload.fileName,
          contentType: upload.contentType,
          sizeBytes: stats.sizeBytes,
          sha256: stats.sha256,
          createdAt: stored?.created ?? null,
        };
      } catch (error) {
        if (prepared.tooLarge()) throw tooLarge();
        throw error;
      } finally {
        prepared.dispose();
      }
    },

    async listWorklogs(externalId) {
      assertIssueIdOrKey(externalId);
      return (await readWorklogs(externalId)).map(toExternalWorklog);
    },

    async addWorklog(externalId, worklog, opts) {
      assertIssueIdOrKey(externalId);
      if (opts.attempt > 1) {
        // The worklog property names our worklog, so a retry finds what an unanswered attempt wrote.
        const landed = (await readWorklogs(externalId))
          .map(toExternalWorklog)
          .find((existing) => existing.canonicalId === worklog.canonicalId);
        if (landed) return { externalId: landed.externalId };
      }
      // Add worklog - POST /rest/api/3/issue/{issueIdOrKey}/worklog; `adjustEstimate=leave` keeps the
      // client's estimate as they set it, `notifyUsers=false` spares watchers a mail per synced entry.
      // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-worklogs/#api-rest-api-3-issue-issueidorkey-worklog-post
      const response = await http.request({
        method: "POST",
        path: `/rest/api/3/issue/${externalId}/worklog`,
        query: { adjustEstimate: "leave", notifyUsers: "false" },
        body: toWorklogBody(worklog),
        schema: z.object({ id: z.string() }),
      });
      return { externalId: response.data.id };
    },

    async listAttachments(externalId) {
      assertIssueIdOrKey(externalId);
      return (await readAttachments(externalId))
        .filter((attachment): attachment is JiraAttachment & { id: string } => attachment.id !== undefined)
        .map(toExternalAttachment);
    },

    async openAttachment(externalId, attachmentId, opts) {
      assertIssueIdOrKey(externalId);
      if (!/^\d+$/.test(attachmentId))
        throw new TypeError(`not a Jira attachment id: ${JSON.stringify(attachmentId)}`);
      const limit = Math.min(opts.maxBytes, settings.maxAttachmentBytes);
      const path = `/rest/api/3/attachment/content/${attachmentId}`;
      const tooLarge = () =>
        new AttachmentTooLargeError(`attachment ${attachmentId} is larger than ${limit} bytes`, {
          method: "GET",
          url: http.url(path),
          status: null,
          attempts: 0,
          latencyMs: 0,
          responseBody: null,
        });
      // The metadata comes from the issue, which also proves the attachment is this record's.
      const meta = (await readAttachments(externalId)).find((attachment) => attachment.id === attachmentId);
      if (meta === undefined) {
        throw new PermanentHttpError(`attachment ${attachmentId} is not on ${externalId}`, {
          method: "GET",
          url: http.url(`/rest/api/3/issue/${externalId}`),
          status: 404,
          attempts: 1,
          latencyMs: 0,
          responseBody: null,
        });
      }
      if (meta.size > limit) throw tooLarge();
      const download = transport.prepareDownload();
      try {
        // Get attachment content - GET /rest/api/3/attachment/content/{id}; redirect=false answers with the
        // bytes instead of a 303 to the media store.
        // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-attachments/#api-rest-api-3-attachment-content-id-get
        await http.request({
          method: "GET",
          path,
          query: { redirect: false },
          headers: download.headers,
          schema: z.unknown(),
        });
        const response = download.take();
        if (response === null || response.body === null) {
          throw new PermanentHttpError(`GET ${path} answered without content`, {
            method: "GET",
            url: http.url(path),
            status: null,
            attempts: 1,
            latencyMs: 0,
            responseBody: null,
          });
        }
        const declared = Number(response.headers.get("content-length") ?? Number.NaN);
        if (Number.isFinite(declared) && declared > limit) {
          await response.body.cancel();
          throw tooLarge();
        }
        return {
          body: capped(response.body, limit, tooLarge),
          fileName: meta.filename,
          contentType: meta.mimeType ?? null,
          sizeBytes: meta.size,
        };
      } finally {
        download.dispose();
      }
    },

    async putAttachment(externalId, file, opts) {
      const limit = Math.min(opts.maxBytes, settings.maxAttachmentBytes);
      const tooLarge = () =>
        new AttachmentTooLargeError(`${file.fileName} is larger than ${limit} bytes`, {
          method: "POST",
          url: http.url(`/rest/api/3/issue/${externalId}/attachments`),
          status: null,
          attempts: 0,
          latencyMs: 0,
          responseBody: null,
        });
      if (file.sizeBytes !== null && file.sizeBytes > limit) throw tooLarge();
      let opened = false;
      let exceeded = false;
      const body = capped(file.body, limit, () => {
        exceeded = true;
        return tooLarge();
      });
      try {
        const stored = await this.uploadAttachment(externalId, {
          fileName: file.fileName,
          contentType: file.contentType,
          visibility: opts.visibility,
          ...(file.sizeBytes !== null ? { sizeBytes: file.sizeBytes } : {}),
          open: () => {
            // The content streams once; a retry of the HTTP request cannot replay it (the engine retries the job).
            if (opened) throw new Error(`the content of ${file.fileName} was already sent once`);
            opened = true;
            return body;
          },
        });
        return { externalId: stored.externalId, sha256: stored.sha256, sizeBytes: stored.sizeBytes };
      } catch (error) {
        if (exceeded) throw tooLarge();
        throw error;
      }
    },
  };

  async function readMyself() {
    // Get current user - GET /rest/api/3/myself
    // https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/#api-rest-api-3-myself-get
    const response = await http.request({ method: "GET", path: "/rest/api/3/myself", schema: Myself });
    return response.data;
  }

  /** JQL date literals are read in the searching user's zone; unknown zones fall back to UTC. */
  async function readTimeZone(): Promise<string> {
    const zone = (await readMyself()).timeZone;
    try {
      if (zone !== undefined) new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return zone ?? "UTC";
    } catch {
      return "UTC";
    }
  }
}

/**
 * Problems with the site's fields for these settings: the correlation field must be a string
 * custom field (short text), mapped fields must exist and hold a string or an option.
 */
export function checkFieldSetup(settings: JsmSettings, fields: readonly FieldDetails[]): string[] {
  const byId = new Map(fields.map((field) => [field.id, field]));
  const problems: string[] = [];
  const correlation = byId.get(settings.correlationFieldId);
  if (correlation === undefined)
    problems.push(`correlation field ${settings.correlationFieldId} does not exist`);
  else if (correlation.schema?.type !== "string") {
    problems.push(
      `correlation field ${settings.correlationFieldId} (${correlation.name}) is ${correlation.schema?.type ?? "of unknown type"}, not short text`,
    );
  }
  for (const entry of settings.fieldMapping ?? []) {
    const field = byId.get(entry.fieldId);
    const expected = entry.type === "select" ? "option" : "string";
    if (field === undefined)
      problems.push(`mapped field ${entry.fieldId} (${entry.canonical}) does not exist`);
    else if (field.schema?.type !== expected) {
      problems.push(
        `mapped field ${entry.fieldId} (${field.name}) is ${field.schema?.type ?? "of unknown type"}, expected ${expected} for type ${entry.type}`,
      );
    }
  }
  return problems;
}
