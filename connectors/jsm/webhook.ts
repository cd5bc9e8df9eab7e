import { z } from "@hono/zod-openapi";
import {
  type InboundNotice,
  parseJsonWebhook,
  type VerifyResult,
  verifyHmacSignature,
  type WebhookInput,
  WebhookPayloadError,
} from "../sdk/index.js";
import type { JsmSettings, MappableCanonicalField } from "./config.js";

// Jira admin webhooks (Settings > System > WebHooks, or POST /rest/webhooks/1.0/webhook) with a
// secret sign the raw body: `X-Hub-Signature: sha256=<lowercase hex HMAC-SHA256>`.
// https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks
// Deliveries carry `X-Atlassian-Webhook-Identifier`, unique per delivery and kept on retries.
// Jira does not order deliveries, so a notice only says what to re-read.

/** The events a connection subscribes to; others are acknowledged and ignored. */
export const jsmWebhookEvents = [
  "jira:issue_created",
  "jira:issue_updated",
  "jira:issue_deleted",
  "comment_created",
  "comment_updated",
  "comment_deleted",
] as const;
type JsmWebhookEvent = (typeof jsmWebhookEvents)[number];

/** A signed body older than this is refused: Jira's retries end long before, so it is a replay. */
export const webhookMaxAgeMs = 24 * 60 * 60_000;
/** Clock distance tolerated for a body stamped in the future. */
const webhookFutureSkewMs = 5 * 60_000;

const id = z.union([z.string().min(1), z.number().int()]).transform(String);

/**
 * One `changelog.items[]` entry: which field changed, from and to what. Read from a copy without
 * a prototype: an item that leaves out `toString` must not find `Object.prototype.toString`.
 */
export const ChangelogItem = z.preprocess(
  (item) => (typeof item === "object" && item !== null ? Object.assign(Object.create(null), item) : item),
  z.object({
    field: z.string(),
    fieldId: z.string().optional(),
    fieldtype: z.string().optional(),
    from: z.string().nullable().optional(),
    fromString: z.string().nullable().optional(),
    to: z.string().nullable().optional(),
    toString: z.string().nullable().optional(),
  }),
);
export type ChangelogItem = z.infer<typeof ChangelogItem>;

/** The delivery body: `{timestamp, webhookEvent, user, issue, changelog?, comment?}`. Not strict. */
const WebhookBody = z.object({
  timestamp: z.number().int().nonnegative().optional(),
  webhookEvent: z.string().min(1),
  issue_event_type_name: z.string().optional(),
  user: z.object({ accountId: z.string().optional() }).optional(),
  issue: z.object({ id, key: z.string().optional() }).optional(),
  changelog: z.object({ id: id.optional(), items: z.array(ChangelogItem).default([]) }).optional(),
  comment: z
    .object({
      id,
      author: z.object({ accountId: z.string().optional() }).optional(),
      updateAuthor: z.object({ accountId: z.string().optional() }).optional(),
      jsdPublic: z.boolean().optional(),
    })
    .optional(),
});

const noticeKinds = {
  "jira:issue_created": "issue_created",
  "jira:issue_updated": "issue_updated",
  "jira:issue_deleted": "issue_deleted",
  comment_created: "comment_created",
  comment_updated: "comment_updated",
  comment_deleted: "comment_deleted",
} as const satisfies Record<JsmWebhookEvent, string>;
export type JsmNoticeKind = (typeof noticeKinds)[JsmWebhookEvent];

/**
 * An {@link InboundNotice} with what a Jira delivery adds. All extra fields are optional for the
 * engine: it re-reads the issue either way. `kind` tells an edited or deleted comment
 * (`comment_updated`, `comment_deleted` with `commentId`) from a change to the issue.
 */
export interface JsmInboundNotice extends InboundNotice {
  kind: JsmNoticeKind;
  issueKey?: string;
  commentId?: string;
  /** `fieldId` (or `field` for fields without one) of each `changelog.items[]` entry. */
  changedFields?: string[];
  changelog?: ChangelogItem[];
  /** Who acted: `user.accountId`, else the comment's (update) author. Equal to `integrationAccountId` for our own writes. */
  actorAccountId?: string;
  /** A comment event's `jsdPublic`; false for an internal note. */
  commentPublic?: boolean;
}

/** Checks `X-Hub-Signature` over the raw bytes, then the signed `timestamp` for replays. Never throws. */
export function verifyJsmWebhook(input: WebhookInput, settings: JsmSettings, now: Date): VerifyResult {
  if (settings.webhookSecret === undefined) {
    return { ok: false, reason: "webhooks are off: no webhookSecret is configured" };
  }
  const signature = verifyHmacSignature({
    secret: settings.webhookSecret,
    rawBody: input.rawBody,
    signature: input.headers.get("x-hub-signature"),
    encoding: "hex",
    algorithm: "sha256",
    prefix: "sha256=",
    now,
  });
  if (!signature.ok) return signature;
  // Jira signs no timestamp header, but the signed body carries one.
  const timestamp = signedTimestamp(input.rawBody);
  if (timestamp !== null) {
    const ageMs = now.getTime() - timestamp;
    if (ageMs > webhookMaxAgeMs) return { ok: false, reason: "webhook timestamp is older than 24 hours" };
    if (-ageMs > webhookFutureSkewMs) return { ok: false, reason: "webhook timestamp is in the future" };
  }
  return { ok: true };
}

function signedTimestamp(rawBody: Uint8Array): number | null {
  try {
    const body: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(rawBody));
    const timestamp = (body as { timestamp?: unknown } | null)?.timestamp;
    return typeof timestamp === "number" && Number.isFinite(timestamp) ? timestamp : null;
  } catch {
    return null;
  }
}

/** Parses one delivery into at most one notice; events we do not subscribe to give none. */
export function parseJsmWebhook(rawBody: Uint8Array, headers: Headers): JsmInboundNotice[] {
  const body = parseJsonWebhook(rawBody, WebhookBody, "Jira webhook body", "{webhookEvent, issue, …}");
  const kind = (noticeKinds as Record<string, JsmNoticeKind | undefined>)[body.webhookEvent];
  if (kind === undefined) return [];
  if (body.issue === undefined) {
    throw new WebhookPayloadError(`Jira ${body.webhookEvent} webhook has no issue`);
  }
  const isComment = kind.startsWith("comment_");
  if (isComment && body.comment === undefined) {
    throw new WebhookPayloadError(`Jira ${body.webhookEvent} webhook has no comment`);
  }

  const notice: JsmInboundNotice = { externalId: body.issue.id, kind };
  if (body.issue.key !== undefined) notice.issueKey = body.issue.key;
  notice.operation = kind === "issue_created" ? "insert" : kind === "issue_deleted" ? "delete" : "update";
  if (body.timestamp !== undefined) notice.occurredAt = new Date(body.timestamp).toISOString();
  notice.deliveryId =
    headers.get("x-atlassian-webhook-identifier") ??
    [
      body.webhookEvent,
      body.issue.id,
      body.changelog?.id ?? body.comment?.id ?? "",
      body.timestamp ?? "",
    ].join(":");
  if (body.comment !== undefined && isComment) {
    notice.commentId = body.comment.id;
    if (body.comment.jsdPublic !== undefined) notice.commentPublic = body.comment.jsdPublic;
  }
  const actor =
    body.user?.accountId ??
    (kind === "comment_created" ? body.comment?.author?.accountId : body.comment?.updateAuthor?.accountId);
  if (actor !== undefined) notice.actorAccountId = actor;
  const items = body.changelog?.items ?? [];
  if (items.length > 0) {
    notice.changelog = items;
    notice.changedFields = [...new Set(items.map((item) => item.fieldId ?? item.field))];
  }
  return [notice];
}

/** Canonical fields a Jira field id stands for; `attachments` and `correlationId` are ours too. */
export type CanonicalChange =
  | "title"
  | "description"
  | "status"
  | "priority"
  | "requester"
  | "attachments"
  | "correlationId"
  | MappableCanonicalField;

/**
 * Which canonical fields a delivery's changelog touched, for an engine that wants to skip
 * re-reading comments or ignore unmapped fields. Unknown fields are left out.
 */
export function canonicalChanges(
  notice: Pick<JsmInboundNotice, "changedFields">,
  settings: JsmSettings,
): CanonicalChange[] {
  const byField: Record<string, CanonicalChange> = {
    summary: "title",
    description: "description",
    status: "status",
    resolution: "status",
    priority: "priority",
    reporter: "requester",
    attachment: "attachments",
    Attachment: "attachments",
    [settings.correlationFieldId]: "correlationId",
  };
  for (const entry of settings.fieldMapping ?? []) {
    if (entry.direction !== "outbound") byField[entry.fieldId] = entry.canonical;
  }
  const changes = new Set<CanonicalChange>();
  for (const field of notice.changedFields ?? []) {
    const change = byField[field];
    if (change !== undefined) changes.add(change);
  }
  return [...changes];
}

/** True for a change the integration account made: our own write coming back. */
export function isOwnChange(
  notice: Pick<JsmInboundNotice, "actorAccountId">,
  settings: JsmSettings,
): boolean {
  return notice.actorAccountId !== undefined && notice.actorAccountId === settings.integrationAccountId;
}
