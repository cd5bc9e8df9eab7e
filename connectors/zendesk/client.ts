import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "@hono/zod-openapi";
import type { PriorityScheme } from "../../schemas/priority.js";
import {
  type AddCommentOptions,
  type ChangedPage,
  type ClientDeps,
  createHttpClient,
  createOAuth2TokenProvider,
  createOnce,
  defaultMaxResponseBytes,
  defaultRetryPolicy,
  defaultTimeoutMs,
  type ExternalAttachment,
  type ExternalRef,
  findOwnWrite,
  HttpError,
  type HttpRequest,
  type HttpResponse,
  InvalidResponseError,
  type OAuth2TokenProvider,
  OutboundBlockedError,
  type OutboundComment,
  type OutboundTicketPatch,
  PermanentHttpError,
  parseRetryAfter,
  readBackWindowStart,
  readTextCapped,
  type ServicedeskClient,
  TransientHttpError,
  truncateBody,
} from "../sdk/index.js";
import {
  AuditsResponse,
  type Comment,
  CommentsPage,
  ErrorBody,
  IncrementalTicketsPage,
  type Ticket,
  TicketResponse,
  TicketsResponse,
  TicketUpdateResponse,
  UploadResponse,
  type User,
  UserResponse,
} from "./api-types.js";
import type { ZendeskSettings } from "./config.js";
import {
  type AttachmentMeta,
  closedTicketFields,
  commentIsPublic,
  commentText,
  fromCanonicalStatus,
  normaliseCommentText,
  reopensClosedTicket,
  ticketUrl,
  toAttachmentMeta,
  toExternalTicket,
  toFollowUpCreateBody,
  toTicketCreateBody,
  toTicketUpdateFields,
  toUtcSeconds,
  type ZendeskExternalTicket,
  type ZendeskMappingContext,
} from "./mapping.js";
import { requestClassOf, ZendeskRateLimiter } from "./rate-limit.js";

// Every call below is a Support API call: https://developer.zendesk.com/api-reference/ticketing/

/** Comments per page; the comments endpoint's maximum. */
const commentPageSize = 100;
/** Zendesk caps a ticket at 5 000 comments, i.e. 50 pages. */
const maxCommentPages = 50;
/** Requesters rarely change; clients live as long as the connection, so cached users expire. */
const userCacheMs = 10 * 60_000;
/** Zendesk and gateway clocks differ; the read-back window opens this much earlier. */
const readBackClockSkewMs = 30_000;
/** The incremental export never returns the latest minute and refuses a start_time inside it. */
const incrementalLagSeconds = 60;
const maxIncrementalPageSize = 1_000;
const cursorPrefix = "cursor:";

export interface ZendeskClientOptions {
  /** How the rate limiter waits. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Requests a minute to the incremental export. Default 10, Zendesk's limit. */
  incrementalExportsPerMinute?: number;
  /** Rounds of re-read, merge and retry after a safe_update 409. Default 3. */
  maxConflictRetries?: number;
}

/** An {@link OutboundComment} that may attach files uploaded with {@link ZendeskClient.uploadAttachment}. */
export interface ZendeskOutboundComment extends OutboundComment {
  uploadTokens?: readonly string[];
}

export interface UploadAttachmentOptions {
  fileName: string;
  contentType: string;
  /** Bytes; capped by the connection's `attachmentMaxBytes`. */
  sizeLimit?: number;
}

export interface UploadedAttachment {
  /** Pass in `uploadTokens` of the comment that attaches the file; valid for 60 minutes. */
  token: string;
  attachment: AttachmentMeta;
  /** What we streamed, counted and hashed on the way out. */
  sizeBytes: number;
  sha256: string;
}

export interface DownloadedAttachment {
  /** The content; read it to the end (or cancel it) exactly once. */
  stream: ReadableStream<Uint8Array>;
  /** Settles when the stream has been read: size and SHA-256 of what passed, or the size-cap error. */
  completed: Promise<{ sizeBytes: number; sha256: string }>;
}

/**
 * The Zendesk client: the SDK's {@link ServicedeskClient} plus attachments, which the SDK
 * interface does not cover yet. `updateTicket` may answer with another ticket's id: see there.
 */
export interface ZendeskClient extends ServicedeskClient {
  getTicket(externalId: string): Promise<ZendeskExternalTicket>;
  /**
   * On a ticket whose Zendesk twin is closed, a patch that reopens it creates a follow-up ticket
   * (`via_followup_source_id`) and returns it with `action: "created"`: whenever the returned
   * `externalId` differs from the one passed in, the engine must re-link to it.
   */
  updateTicket(externalId: string, patch: OutboundTicketPatch): Promise<ExternalRef>;
  addComment(
    externalId: string,
    comment: ZendeskOutboundComment,
    opts: AddCommentOptions,
  ): Promise<{ externalId: string }>;
  /** Streams a file to `POST /api/v2/uploads`, counting and hashing it on the way; never buffers it whole. */
  uploadAttachment(
    content: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options: UploadAttachmentOptions,
  ): Promise<UploadedAttachment>;
  listAttachments: NonNullable<ServicedeskClient["listAttachments"]>;
  openAttachment: NonNullable<ServicedeskClient["openAttachment"]>;
  putAttachment: NonNullable<ServicedeskClient["putAttachment"]>;
  /** Streams an attachment's content, size-capped and hashed as it is read. */
  downloadAttachment(
    attachment: Pick<AttachmentMeta, "contentUrl" | "sizeBytes">,
    options?: { sizeLimit?: number },
  ): Promise<DownloadedAttachment>;
}

/** An attachment over the size cap; retrying cannot help. */
export class AttachmentTooLargeError extends PermanentHttpError {}

function assertTicketId(externalId: string): void {
  if (!/^\d+$/.test(externalId))
    throw new TypeError(`not a Zendesk ticket id: ${JSON.stringify(externalId)}`);
}

function parseCursor(cursor: string | null, nowMs: number): { cursor: string } | { startTime: number } {
  const latestStart = Math.floor(nowMs / 1000) - incrementalLagSeconds;
  if (cursor === null || cursor === "") return { startTime: 0 };
  if (cursor.startsWith(cursorPrefix)) return { cursor: cursor.slice(cursorPrefix.length) };
  const instant = Date.parse(cursor);
  if (Number.isNaN(instant)) throw new RangeError(`not a Zendesk changed-since cursor: ${cursor}`);
  return { startTime: Math.max(0, Math.min(Math.floor(instant / 1000), latestStart)) };
}

/** The Zendesk error body of a failed request, when it has one. */
function errorBodyOf(error: unknown): ErrorBody | null {
  if (!(error instanceof HttpError) || error.responseBody === null) return null;
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(error.responseBody));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** 422 "Status: closed prevents ticket update": the ticket was closed after we read it. */
function isClosedRefusal(error: unknown): boolean {
  if (!(error instanceof HttpError) || error.status !== 422) return false;
  const details = errorBodyOf(error)?.details?.["status"] ?? [];
  return details.some((detail) => /closed prevents ticket update/i.test(detail.description));
}

function isConflict(error: unknown): error is HttpError {
  return error instanceof HttpError && error.status === 409;
}

function toWebStream(
  content: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): ReadableStream<Uint8Array> {
  if (content instanceof ReadableStream) return content;
  const iterator = content[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done === true) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

/** Passes bytes through while counting and hashing them; errors the stream past `sizeLimit`. */
function meter(
  source: ReadableStream<Uint8Array>,
  sizeLimit: number,
  tooLarge: () => AttachmentTooLargeError,
): {
  stream: ReadableStream<Uint8Array>;
  completed: Promise<{ sizeBytes: number; sha256: string }>;
  /** The size-cap error once it happened, reported in place of what the aborted request saw. */
  exceeded: () => AttachmentTooLargeError | null;
} {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  let exceeded: AttachmentTooLargeError | null = null;
  let settle!: {
    resolve: (value: { sizeBytes: number; sha256: string }) => void;
    reject: (e: Error) => void;
  };
  const completed = new Promise<{ sizeBytes: number; sha256: string }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Callers may only look at the stream; the rejection is still observed there.
  completed.catch(() => undefined);
  const stream = source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sizeBytes += chunk.byteLength;
        if (sizeBytes > sizeLimit) {
          exceeded = tooLarge();
          settle.reject(exceeded);
          controller.error(exceeded);
          return;
        }
        hash.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        settle.resolve({ sizeBytes, sha256: hash.digest("hex") });
      },
    }),
  );
  return { stream, completed, exceeded: () => exceeded };
}

/** Creates the Support API client of one Zendesk connection. */
export function createZendeskClient(
  settings: ZendeskSettings,
  deps: ClientDeps<ZendeskMappingContext>,
  options: ZendeskClientOptions = {},
): ZendeskClient {
  const now = deps.now ?? (() => new Date());
  const timeoutMs = deps.timeoutMs ?? defaultTimeoutMs;
  const baseUrl = settings.baseUrl.replace(/\/+$/, "");
  const auth = settings.auth;
  const limiter = new ZendeskRateLimiter({
    now: () => now().getTime(),
    sleep: options.sleep ?? ((ms) => sleep(ms)),
    incrementalPerMinute: options.incrementalExportsPerMinute ?? 10,
  });
  const maxConflictRetries = options.maxConflictRetries ?? 3;
  const fetchImpl = (): typeof fetch => deps.fetch ?? globalThis.fetch;
  const maxResponseBytes = deps.maxResponseBytes ?? defaultMaxResponseBytes;

  // Every response, retries and 429s included, reports the budgets it saw to the limiter.
  const observingFetch: typeof fetch = async (input, init) => {
    const response = await fetchImpl()(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    limiter.observe(requestClassOf(init?.method ?? "GET", url), response.status, response.headers);
    return response;
  };

  const http = createHttpClient({
    baseUrl,
    auth,
    fetch: observingFetch,
    timeoutMs,
    retry: deps.retry ?? defaultRetryPolicy,
    now: deps.now,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const scheme: PriorityScheme = deps.mapping.priority;
  const users = new Map<number, { user: User | null; readAtMs: number }>();
  let tokens: OAuth2TokenProvider | null = null;

  async function call<T>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    await limiter.acquire(requestClassOf(request.method, request.path));
    return http.request(request);
  }

  const toRef = (ticket: Ticket, action: ExternalRef["action"]): ExternalRef => ({
    externalId: String(ticket.id),
    externalKey: `#${ticket.id}`,
    url: ticketUrl(baseUrl, ticket.id),
    updatedAt: toUtcSeconds(ticket.updated_at),
    action,
  });

  async function readTicket(ticketId: string): Promise<Ticket> {
    // Tickets - Show Ticket: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket
    const response = await call({
      method: "GET",
      path: `/api/v2/tickets/${ticketId}`,
      schema: TicketResponse,
    });
    return response.data.ticket;
  }

  /** Tickets carrying our canonical id, oldest first; a closed one may have follow-ups carrying it too. */
  async function findByExternalId(canonicalId: string): Promise<Ticket[]> {
    // Tickets - List Tickets filtered by external_id:
    // https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets
    const response = await call({
      method: "GET",
      path: "/api/v2/tickets",
      query: { external_id: canonicalId },
      schema: TicketsResponse,
    });
    return response.data.tickets
      .filter((ticket) => ticket.external_id === canonicalId && ticket.status !== "deleted")
      .sort((a, b) => a.id - b.id);
  }

  async function postTicket(body: { ticket: Record<string, unknown> }): Promise<Ticket> {
    // Tickets - Create Ticket: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#create-ticket
    const response = await call({ method: "POST", path: "/api/v2/tickets", body, schema: TicketResponse });
    return response.data.ticket;
  }

  /**
   * Creates once: a POST that fails without telling whether it landed is followed by a lookup of
   * our canonical id, and what it finds is returned instead of posting a second ticket.
   */
  async function postTicketOnce(
    body: { ticket: Record<string, unknown> },
    canonicalId: string | null,
    landed: (ticket: Ticket) => boolean,
  ): Promise<{ ticket: Ticket; landedEarlier: boolean }> {
    const outcome = await createOnce(
      () => postTicket(body),
      async () =>
        canonicalId === null ? null : ((await findByExternalId(canonicalId)).filter(landed).at(-1) ?? null),
    );
    return { ticket: outcome.record, landedEarlier: outcome.action === "linked" };
  }

  /** The follow-up of a closed twin: found when an earlier attempt created it, else created. */
  async function followUpOf(closed: Ticket, patch: OutboundTicketPatch): Promise<ExternalRef> {
    const canonicalId = closed.external_id || patch.correlationId || null;
    const isFollowUp = (ticket: Ticket) => ticket.id > closed.id && ticket.status !== "closed";
    if (canonicalId !== null) {
      const existing = (await findByExternalId(canonicalId)).filter(isFollowUp).at(-1);
      if (existing !== undefined) return toRef(existing, "created");
    }
    const body = toFollowUpCreateBody({ closed, patch, canonicalId: canonicalId ?? "", settings, scheme });
    if (canonicalId === null) delete body.ticket["external_id"];
    return toRef((await postTicketOnce(body, canonicalId, isFollowUp)).ticket, "created");
  }

  async function readComments(
    ticketId: string,
    order: "created_at" | "-created_at",
    stopWhen: (page: Comment[]) => boolean = () => false,
  ): Promise<Comment[]> {
    const comments: Comment[] = [];
    let after: string | undefined;
    for (let page = 0; page < maxCommentPages; page++) {
      // Ticket Comments - List Comments, cursor paginated:
      // https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments
      const response: HttpResponse<z.infer<typeof CommentsPage>> = await call({
        method: "GET",
        path: `/api/v2/tickets/${ticketId}/comments`,
        query: { "page[size]": commentPageSize, "page[after]": after, sort: order },
        schema: CommentsPage,
      });
      comments.push(...response.data.comments);
      const meta = response.data.meta;
      if (meta === undefined || !meta.has_more || meta.after_cursor === null) break;
      if (stopWhen(response.data.comments)) break;
      after = meta.after_cursor;
    }
    return comments;
  }

  /** Who wrote the ticket's newest audit, when that audit is the change `updated_at` reports. */
  async function readLastAuthor(ticket: Ticket): Promise<number | null> {
    // Ticket Audits - List Audits for a Ticket, newest first:
    // https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/#list-audits-for-a-ticket
    const response = await call({
      method: "GET",
      path: `/api/v2/tickets/${ticket.id}/audits`,
      query: { sort_order: "desc", per_page: 1 },
      schema: AuditsResponse,
    });
    const audit = response.data.audits[0];
    if (audit?.created_at === undefined) return null;
    // An audit older than updated_at is not the last change (an account ignoring sort_order
    // answers oldest first); unknown beats naming the wrong author for echo suppression.
    if (Date.parse(audit.created_at) < Date.parse(ticket.updated_at) - 1_000) return null;
    return audit.author_id ?? null;
  }

  async function readUser(userId: number | null | undefined): Promise<User | null> {
    if (userId === null || userId === undefined) return null;
    const cached = users.get(userId);
    if (cached !== undefined && now().getTime() - cached.readAtMs < userCacheMs) return cached.user;
    try {
      // Users - Show User: https://developer.zendesk.com/api-reference/ticketing/users/users/#show-user
      const response = await call({ method: "GET", path: `/api/v2/users/${userId}`, schema: UserResponse });
      users.set(userId, { user: response.data.user, readAtMs: now().getTime() });
      return response.data.user;
    } catch (error) {
      // A deleted or hidden requester leaves the requester empty instead of failing the read.
      if (error instanceof HttpError && (error.status === 403 || error.status === 404)) {
        users.set(userId, { user: null, readAtMs: now().getTime() });
        return null;
      }
      throw error;
    }
  }

  /** Our comment with this text and visibility at or after `since`, newest first. */
  async function findOwnComment(
    ticketId: string,
    text: string,
    isPublic: boolean,
    since: Date,
  ): Promise<Comment | null> {
    const windowStartMs = readBackWindowStart(since, readBackClockSkewMs).getTime();
    // Newest first, stopping at the first page reaching before the window.
    const comments = await readComments(ticketId, "-created_at", (page) =>
      page.some((comment) => Date.parse(comment.created_at) < windowStartMs),
    );
    return findOwnWrite(comments, {
      text: normaliseCommentText(text),
      textOf: (comment) => normaliseCommentText(comment.body),
      identity: String(settings.integrationUserId),
      authorOf: (comment) => String(comment.author_id),
      since,
      clockSkewMs: readBackClockSkewMs,
      createdAtMs: (comment) => Date.parse(comment.created_at),
      also: (comment) => comment.public === isPublic,
    });
  }

  async function authorization(): Promise<string> {
    switch (auth.type) {
      case "basic":
        return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
      case "bearer":
        return `Bearer ${auth.token}`;
      case "oauth2":
        // The SDK http client keeps its token to itself; uploads bypass it, so they keep their own.
        tokens ??= createOAuth2TokenProvider({
          settings: auth,
          fetch: deps.fetch,
          timeoutMs,
          now: deps.now,
          maxResponseBytes: deps.maxResponseBytes,
        });
        return `Bearer ${await tokens.getAccessToken()}`;
    }
  }

  /** The SDK's error classes for a raw fetch that did not answer 2xx. */
  async function failure(
    method: string,
    url: string,
    response: Response,
    startedMs: number,
  ): Promise<HttpError> {
    const text = await readTextCapped(response, maxResponseBytes).catch(() => "");
    const details = {
      method,
      url,
      status: response.status,
      attempts: 1,
      latencyMs: Math.round(performance.now() - startedMs),
      responseBody: text === "" ? null : truncateBody(text),
    };
    const message = `${method} ${new URL(url).pathname} answered ${response.status}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      return new TransientHttpError(message, {
        ...details,
        maybeProcessed: ![408, 429, 503].includes(response.status),
        retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), now()),
      });
    }
    return new PermanentHttpError(message, details);
  }

  const tooLargeError = (method: string, url: string, limit: number) => () =>
    new AttachmentTooLargeError(`attachment exceeds the ${limit}-byte limit`, {
      method,
      url,
      status: null,
      attempts: 1,
      latencyMs: 0,
      responseBody: null,
    });

  return {
    rateBudget() {
      const budget = limiter.accountBudget();
      return budget === null ? null : { remaining: budget.remaining, resetAt: new Date(budget.resetAtMs) };
    },

    async createTicket(input) {
      const twins = await findByExternalId(input.canonicalId);
      const open = twins.filter((ticket) => ticket.status !== "closed").at(-1);
      if (open !== undefined) return toRef(open, "linked");
      const closed = twins.at(-1);
      if (closed !== undefined) {
        if (fromCanonicalStatus(input.status, settings.mapping) === "closed") return toRef(closed, "linked");
        // Our id is on a closed ticket only: Zendesk cannot reopen it, so continue on a follow-up.
        return followUpOf(closed, input);
      }
      const created = await postTicketOnce(
        toTicketCreateBody(input, settings, scheme),
        input.canonicalId,
        () => true,
      );
      return toRef(created.ticket, created.landedEarlier ? "linked" : "created");
    },

    async updateTicket(externalId, patch) {
      assertTicketId(externalId);
      for (let round = 0; ; round++) {
        const current = await readTicket(externalId);
        const wanted = toTicketUpdateFields(patch, current, settings, scheme);
        let fields = wanted;
        if (current.status === "closed") {
          if (reopensClosedTicket(patch, settings)) return followUpOf(current, patch);
          fields = closedTicketFields(wanted);
        }
        if (Object.keys(fields).length === 0) return toRef(current, "updated");
        try {
          // Tickets - Update Ticket with safe_update: a write based on a stale read answers 409.
          // https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#protecting-against-ticket-update-collisions
          const response = await call({
            method: "PUT",
            path: `/api/v2/tickets/${externalId}`,
            body: { ticket: { ...fields, safe_update: true, updated_stamp: current.updated_at } },
            schema: TicketUpdateResponse,
            // A replay of a PUT that landed carries a stale updated_stamp, so it answers 409 and the
            // loop below re-reads: nothing is written twice.
            idempotent: true,
          });
          return toRef(response.data.ticket, "updated");
        } catch (error) {
          // Someone changed the ticket (409) or closed it (422) since we read it: read again and
          // re-apply what still differs, a bounded number of times.
          if (!(isConflict(error) || isClosedRefusal(error))) throw error;
          if (round >= maxConflictRetries) {
            if (!isConflict(error)) throw error;
            throw new TransientHttpError(
              `PUT /api/v2/tickets/${externalId} kept conflicting after ${round + 1} attempts`,
              {
                method: error.method,
                url: error.url,
                status: 409,
                attempts: round + 1,
                latencyMs: error.latencyMs,
                responseBody: error.responseBody,
                maybeProcessed: false,
                retryAfterMs: null,
              },
            );
          }
        }
      }
    },

    async getTicket(externalId) {
      assertTicketId(externalId);
      const ticket = await readTicket(externalId);
      const [comments, lastAuthorId, requester] = await Promise.all([
        readComments(externalId, "created_at"),
        readLastAuthor(ticket),
        readUser(ticket.requester_id),
      ]);
      return toExternalTicket({ ticket, comments, requester, lastAuthorId, baseUrl, settings, scheme });
    },

    async addComment(externalId, comment, opts) {
      assertTicketId(externalId);
      const text = commentText(comment);
      const isPublic = commentIsPublic(comment.visibility, settings);
      if (opts.attempt > 1) {
        const existing = await findOwnComment(externalId, text, isPublic, opts.since);
        if (existing !== null) return { externalId: String(existing.id) };
      }
      const writeStartedAt = now();
      // `public` is always sent: left out, Zendesk reuses the ticket's first comment's visibility.
      const body: Record<string, unknown> = { body: text, public: isPublic };
      if (comment.uploadTokens !== undefined && comment.uploadTokens.length > 0) {
        body["uploads"] = [...comment.uploadTokens];
      }
      // Tickets - Update Ticket: comments are added as a ticket update.
      // https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#creating-ticket-comments
      const response = await call({
        method: "PUT",
        path: `/api/v2/tickets/${externalId}`,
        body: { ticket: { comment: body } },
        schema: TicketUpdateResponse,
        idempotent: false,
      });
      // The comment's id is the id of the audit's Comment event.
      const event = response.data.audit.events.find((candidate) => candidate.type === "Comment");
      if (event !== undefined) return { externalId: String(event.id) };
      const written = await findOwnComment(externalId, text, isPublic, writeStartedAt).catch(() => null);
      return {
        externalId: written === null ? `${externalId}/audit/${response.data.audit.id}` : String(written.id),
      };
    },

    async listChangedSince(cursor, limit): Promise<ChangedPage> {
      if (!Number.isInteger(limit) || limit < 1)
        throw new RangeError(`limit must be a positive integer, got ${limit}`);
      const position = parseCursor(cursor, now().getTime());
      // Incremental Exports - Incremental Ticket Export, Cursor Based (admins; 10 requests a minute):
      // https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/#incremental-ticket-export-cursor-based
      const response = await call({
        method: "GET",
        path: "/api/v2/incremental/tickets/cursor",
        query: {
          ...("cursor" in position ? { cursor: position.cursor } : { start_time: position.startTime }),
          per_page: Math.min(limit, maxIncrementalPageSize),
        },
        schema: IncrementalTicketsPage,
      });
      const page = response.data;
      const items = page.tickets
        .filter((ticket) => settings.brandId === undefined || ticket.brand_id === settings.brandId)
        .map((ticket) => ({ externalId: String(ticket.id), updatedAt: toUtcSeconds(ticket.updated_at) }));
      // Caught up with nothing new: keep the cursor, as the SDK promises. Otherwise continue after
      // this page, also when the brand filter left nothing of it.
      const nothingNew = page.tickets.length === 0 && page.end_of_stream;
      const nextCursor =
        nothingNew || page.after_cursor === null
          ? (cursor ?? new Date(0).toISOString().replace(".000", ""))
          : `${cursorPrefix}${page.after_cursor}`;
      return { items, nextCursor };
    },

    async testConnection() {
      try {
        // Users - Show Self: proves URL and credentials, and tells who we are.
        // https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
        const response = await call({ method: "GET", path: "/api/v2/users/me", schema: UserResponse });
        const me = response.data.user;
        if (me.id !== settings.integrationUserId) {
          return {
            ok: false,
            detail: `signed in as user ${me.id} (${me.name}), but integrationUserId is ${settings.integrationUserId}: echo suppression and comment read-back would miss our own writes`,
          };
        }
        if (me.role !== "admin") {
          return {
            ok: false,
            detail: `user ${me.id} (${me.name}) has role ${me.role ?? "unknown"}; the incremental export behind changed-since needs an admin`,
          };
        }
        return { ok: true, detail: `signed in as ${me.name} (user ${me.id}, admin)` };
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

    async uploadAttachment(content, uploadOptions) {
      const limit = Math.min(
        uploadOptions.sizeLimit ?? settings.attachmentMaxBytes,
        settings.attachmentMaxBytes,
      );
      const url = http.url("/api/v2/uploads", { filename: uploadOptions.fileName });
      const metered = meter(toWebStream(content), limit, tooLargeError("POST", url, limit));
      await limiter.acquire(requestClassOf("POST", "/api/v2/uploads"));
      const startedMs = performance.now();
      let response: Response;
      try {
        // Attachments - Upload Files: the raw bytes as the body, streamed. A stream cannot be
        // replayed, so there is no retry here; the engine retries the upload with a new stream.
        // https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-attachments/#upload-files
        response = await observingFetch(url, {
          method: "POST",
          headers: {
            authorization: await authorization(),
            "content-type": uploadOptions.contentType,
            accept: "application/json",
          },
          body: metered.stream,
          duplex: "half",
          signal: AbortSignal.timeout(timeoutMs),
        } as RequestInit);
      } catch (error) {
        if (error instanceof OutboundBlockedError) throw error;
        throw (
          metered.exceeded() ??
          new TransientHttpError(
            `POST /api/v2/uploads failed: ${error instanceof Error ? error.message : error}`,
            {
              method: "POST",
              url,
              status: null,
              attempts: 1,
              latencyMs: Math.round(performance.now() - startedMs),
              responseBody: null,
              cause: error,
              maybeProcessed: true,
              retryAfterMs: null,
            },
          )
        );
      }
      if (!response.ok) throw metered.exceeded() ?? (await failure("POST", url, response, startedMs));
      const { sizeBytes, sha256 } = await metered.completed;
      const text = await readTextCapped(response, maxResponseBytes);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const parsed = UploadResponse.safeParse(json);
      if (!parsed.success) {
        throw new InvalidResponseError(
          `POST /api/v2/uploads answered ${response.status} with an unexpected body`,
          {
            method: "POST",
            url,
            status: response.status,
            attempts: 1,
            latencyMs: Math.round(performance.now() - startedMs),
            responseBody: truncateBody(text),
            cause: parsed.error,
          },
        );
      }
      return {
        token: parsed.data.upload.token,
        attachment: toAttachmentMeta(parsed.data.upload.attachment),
        sizeBytes,
        sha256,
      };
    },

    async downloadAttachment(attachment, downloadOptions) {
      const limit = Math.min(
        downloadOptions?.sizeLimit ?? settings.attachmentMaxBytes,
        settings.attachmentMaxBytes,
      );
      const url = attachment.contentUrl;
      const tooLarge = tooLargeError("GET", url, limit);
      if (attachment.sizeBytes !== null && attachment.sizeBytes > limit) throw tooLarge();
      // content_url may be hosted outside Zendesk; credentials only go to the account's own origin.
      // https://developer.zendesk.com/documentation/ticketing/managing-tickets/working-with-url-properties
      const headers: Record<string, string> = {};
      if (new URL(url).origin === new URL(baseUrl).origin) headers["authorization"] = await authorization();
      const startedMs = performance.now();
      const response = await fetchImpl()(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok || response.body === null) throw await failure("GET", url, response, startedMs);
      const declared = Number(response.headers.get("content-length") ?? Number.NaN);
      if (Number.isFinite(declared) && declared > limit) {
        await response.body.cancel();
        throw tooLarge();
      }
      const { stream, completed } = meter(response.body, limit, tooLarge);
      return { stream, completed };
    },

    async listAttachments(externalId) {
      assertTicketId(externalId);
      // Zendesk attaches files to comments; a file is as visible as its comment.
      return (await readComments(externalId, "created_at")).flatMap((comment) =>
        comment.attachments.map((attachment): ExternalAttachment => {
          const meta = toAttachmentMeta(attachment);
          return {
            externalId: meta.externalId,
            fileName: meta.fileName,
            contentType: meta.contentType,
            sizeBytes: meta.sizeBytes,
            author: String(comment.author_id),
            visibility: comment.public ? "public" : "internal",
            createdAt: toUtcSeconds(comment.created_at),
          };
        }),
      );
    },

    async openAttachment(externalId, attachmentId, opts) {
      assertTicketId(externalId);
      const found = (await readComments(externalId, "created_at"))
        .flatMap((comment) => comment.attachments)
        .find((attachment) => String(attachment.id) === attachmentId);
      if (found === undefined) {
        throw new PermanentHttpError(`attachment ${attachmentId} is not on ticket ${externalId}`, {
          method: "GET",
          url: http.url(`/api/v2/tickets/${externalId}/comments`),
          status: 404,
          attempts: 1,
          latencyMs: 0,
          responseBody: null,
        });
      }
      const meta = toAttachmentMeta(found);
      const { stream } = await this.downloadAttachment(meta, { sizeLimit: opts.maxBytes });
      return {
        body: stream,
        fileName: meta.fileName,
        contentType: meta.contentType,
        sizeBytes: meta.sizeBytes,
      };
    },

    async putAttachment(externalId, file, opts) {
      assertTicketId(externalId);
      const limit = Math.min(opts.maxBytes, settings.attachmentMaxBytes);
      if (file.sizeBytes !== null && file.sizeBytes > limit) {
        await file.body.cancel().catch(() => undefined);
        throw tooLargeError("POST", http.url("/api/v2/uploads"), limit)();
      }
      const uploaded = await this.uploadAttachment(file.body, {
        fileName: file.fileName,
        contentType: file.contentType ?? "application/octet-stream",
        sizeLimit: limit,
      });
      // An upload is only a token until a comment attaches it (unused tokens expire after 60 minutes).
      // https://developer.zendesk.com/api-reference/ticketing/tickets/ticket-attachments/#attaching-files
      await this.addComment(
        externalId,
        {
          canonicalId: "",
          body: opts.note ?? `Attachment: ${file.fileName}`,
          visibility: opts.visibility,
          uploadTokens: [uploaded.token],
        },
        { attempt: 1, since: now() },
      );
      return {
        externalId: uploaded.attachment.externalId,
        sha256: uploaded.sha256,
        sizeBytes: uploaded.sizeBytes,
      };
    },
  };
}
