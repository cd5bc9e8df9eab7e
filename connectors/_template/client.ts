import {
  type ChangedPage,
  type ClientDeps,
  createHttpClient,
  createOrLink,
  defaultRetryPolicy,
  defaultTimeoutMs,
  type ExternalRef,
  findOwnWrite,
  HttpError,
  nextChangedCursor,
  parseChangedCursor,
  readBackWindowStart,
  type ServicedeskClient,
} from "../sdk/index.js";
import {
  ChangedList,
  CommentEnvelope,
  CommentList,
  CurrentUser,
  RecordEnvelope,
  type RecordRef,
  RecordRefEnvelope,
  RecordRefList,
  type VendorComment,
} from "./api-types.js";
import { integrationUserOf, type TemplateSettings } from "./config.js";
import {
  commentText,
  normaliseCommentText,
  type TemplateMappingContext,
  toCreateBody,
  toExternalTicket,
  toPatchBody,
  toUtcIso,
} from "./mapping.js";

// EXAMPLE: every call below targets the made-up `/api/v1/records` API of api-types.ts. TODO: replace each
// with the vendor's call, keeping a doc URL comment above it. What must stay is the control flow around
// the calls: create-or-link, the comment read-back, the inclusive cursor with its tie-break, and letting
// the SDK's HttpError classification reach the engine untouched.

/** Vendor and gateway clocks differ; the comment read-back window opens this much earlier. */
const readBackClockSkewMs = 30_000;

/** Creates the client of one connection. No I/O until a method is called. */
export function createTemplateClient(
  settings: TemplateSettings,
  deps: ClientDeps<TemplateMappingContext>,
): ServicedeskClient {
  const http = createHttpClient({
    baseUrl: settings.baseUrl,
    auth: settings.auth,
    fetch: deps.fetch,
    timeoutMs: deps.timeoutMs ?? defaultTimeoutMs,
    retry: deps.retry ?? defaultRetryPolicy,
    now: deps.now,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const ctx = deps.mapping;
  const integrationUser = integrationUserOf(settings);
  const recordsPath = "/api/v1/records";
  const recordPath = (id: string) => `${recordsPath}/${encodeURIComponent(id)}`;
  // TODO: the link a human opens in the vendor's UI.
  const recordUrl = (id: string) =>
    `${settings.baseUrl.replace(/\/+$/, "")}/records/${encodeURIComponent(id)}`;
  const toRef = (record: RecordRef, action: ExternalRef["action"]): ExternalRef => ({
    externalId: record.id,
    externalKey: record.key,
    url: recordUrl(record.id),
    updatedAt: toUtcIso(record.updated_at),
    action,
  });

  async function findByCorrelationId(canonicalId: string): Promise<RecordRef | null> {
    // TODO: doc URL of the search call. Oldest first, so a duplicate made by hand never wins.
    const response = await http.request({
      method: "GET",
      path: recordsPath,
      query: { correlation_id: canonicalId, sort: "created_at", limit: 1 },
      schema: RecordRefList,
    });
    return response.data.records[0] ?? null;
  }

  async function readComments(externalId: string, since: Date | null): Promise<VendorComment[]> {
    // TODO: doc URL. Page through every comment if the vendor pages (parseLinkHeader, cursors).
    const response = await http.request({
      method: "GET",
      path: `${recordPath(externalId)}/comments`,
      query: { created_since: since === null ? undefined : since.toISOString() },
      schema: CommentList,
    });
    return response.data.comments;
  }

  async function findOwnComment(
    externalId: string,
    text: string,
    since: Date,
  ): Promise<VendorComment | null> {
    // Read from the window's start on (the vendor filters by time), so the comments need no time check here.
    const comments = await readComments(externalId, readBackWindowStart(since, readBackClockSkewMs));
    return findOwnWrite(comments, {
      text: normaliseCommentText(text),
      textOf: (comment) => normaliseCommentText(comment.body),
      identity: integrationUser,
      authorOf: (comment) => comment.author,
      since,
      clockSkewMs: readBackClockSkewMs,
    });
  }

  async function listChanged(query: Record<string, string | number>) {
    // TODO: doc URL of the vendor's "updated since" search, ordered by update time then id.
    const response = await http.request({
      method: "GET",
      path: recordsPath,
      query: { ...query, sort: "updated_at,id" },
      schema: ChangedList,
    });
    return response.data.records;
  }

  return {
    async createTicket(input) {
      // Create-or-link: the SDK links a record already carrying our id, and re-checks after a create whose
      // answer was lost, so a retry never makes a second record.
      const outcome = await createOrLink(
        () => findByCorrelationId(input.canonicalId),
        async () => {
          // TODO: doc URL of the create call.
          const response = await http.request({
            method: "POST",
            path: recordsPath,
            body: toCreateBody(input, settings, ctx),
            schema: RecordRefEnvelope,
          });
          return response.data.record;
        },
      );
      return toRef(outcome.record, outcome.action);
    },

    async updateTicket(externalId, patch) {
      const body = toPatchBody(patch, settings, ctx);
      if (Object.keys(body).length === 0) {
        const current = await http.request({
          method: "GET",
          path: recordPath(externalId),
          schema: RecordEnvelope,
        });
        return toRef(current.data.record, "updated");
      }
      // TODO: doc URL of the update call.
      const response = await http.request({
        method: "PATCH",
        path: recordPath(externalId),
        body,
        schema: RecordRefEnvelope,
        // Plain field values: writing them twice leaves the same record. TODO: false if the vendor appends.
        idempotent: true,
      });
      return toRef(response.data.record, "updated");
    },

    async getTicket(externalId) {
      // TODO: doc URL of the read call.
      const [record, comments] = await Promise.all([
        http.request({ method: "GET", path: recordPath(externalId), schema: RecordEnvelope }),
        readComments(externalId, null),
      ]);
      return toExternalTicket({
        record: record.data.record,
        comments,
        recordUrl: recordUrl(externalId),
        settings,
        ctx,
      });
    },

    async addComment(externalId, comment, opts) {
      const text = commentText(comment);
      // Appends are not idempotent: on an engine retry, look for our entry before writing another.
      if (opts.attempt > 1) {
        const existing = await findOwnComment(externalId, text, opts.since);
        if (existing !== null) return { externalId: existing.id };
      }
      // TODO: doc URL of the comment call. Return the id getTicket will report for this comment.
      const response = await http.request({
        method: "POST",
        path: `${recordPath(externalId)}/comments`,
        body: { body: text, public: comment.visibility === "public" },
        schema: CommentEnvelope,
        idempotent: false,
      });
      return { externalId: response.data.comment.id };
    },

    async listChangedSince(cursor, limit): Promise<ChangedPage> {
      if (!Number.isInteger(limit) || limit < 1)
        throw new RangeError(`limit must be a positive integer, got ${limit}`);
      const parsed = parseChangedCursor(cursor);
      const position = { since: parsed?.since ?? null, afterId: parsed?.afterKey ?? null };
      const rows =
        position.since !== null && position.afterId !== null
          ? // Inside an instant that held more than a page: walk it by id, then continue after it.
            await listChanged({ updated_at: position.since, after_id: position.afterId, limit })
          : await listChanged({
              ...(position.since === null ? {} : { updated_since: position.since }),
              limit,
            });
      if (position.afterId !== null && rows.length < limit) {
        rows.push(...(await listChanged({ updated_after: position.since!, limit: limit - rows.length })));
      }
      // A full page all in one instant would leave an inclusive cursor where it was: the SDK adds the tie-break.
      const nextCursor = nextChangedCursor(
        rows,
        limit,
        (row) => ({ updatedAt: toUtcIso(row.updated_at), key: row.id }),
        cursor,
      );
      return {
        items: rows.map((row) => ({ externalId: row.id, updatedAt: toUtcIso(row.updated_at) })),
        nextCursor,
      };
    },

    async testConnection() {
      try {
        // TODO: the cheapest call proving URL, credentials and read access to what the connector reads.
        const me = await http.request({ method: "GET", path: "/api/v1/me", schema: CurrentUser });
        return { ok: true, detail: `connected as ${me.data.user.name}` };
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
  };
}
