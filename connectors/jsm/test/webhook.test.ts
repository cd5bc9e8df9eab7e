import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WebhookPayloadError } from "../../sdk/index.js";
import { JsmSettings } from "../config.js";
import { canonicalChanges, isOwnChange, parseJsmWebhook, verifyJsmWebhook } from "../webhook.js";
import { fixture, integrationAccountId, siteUrl } from "./fixtures/index.js";

const webhookSecret = "whsec-jira-4f9a1c2b7d3e8f60";
const settings = JsmSettings.parse({
  baseUrl: siteUrl,
  auth: { type: "basic", username: "svc.ticketsync@example.com", password: "api-token" },
  serviceDeskId: "1",
  requestTypeId: "10",
  projectKey: "HELP",
  correlationFieldId: "customfield_10050",
  integrationAccountId,
  webhookSecret,
  fieldMapping: [{ fieldId: "customfield_10060", canonical: "category", type: "select" }],
});
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const sign = (body: Uint8Array, secret = webhookSecret) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

const delivery = fixture<{ timestamp: number }>("webhook-issue_updated-changelog");
const body = encode(delivery);
const deliveredAt = new Date(delivery.timestamp + 2_000);
const verify = (
  headers: Record<string, string>,
  rawBody: Uint8Array = body,
  now = deliveredAt,
  withSettings: JsmSettings = settings,
) => verifyJsmWebhook({ headers: new Headers(headers), rawBody }, withSettings, now);

describe("verifyJsmWebhook (X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>)", () => {
  it("accepts a delivery signed with the secret", () => {
    expect(verify({ "x-hub-signature": sign(body) })).toEqual({ ok: true });
  });

  it("accepts upper-case hex and any header case", () => {
    expect(verify({ "X-Hub-Signature": sign(body).toUpperCase().replace("SHA256=", "sha256=") })).toEqual({
      ok: true,
    });
  });

  it.each<[string, Record<string, string>, Uint8Array, string]>([
    [
      "a tampered body",
      { "x-hub-signature": sign(body) },
      encode({ ...delivery, timestamp: delivery.timestamp + 1 }),
      "signature does not match",
    ],
    [
      "a body re-serialised with other whitespace",
      { "x-hub-signature": sign(body) },
      encode(JSON.stringify(delivery, null, 2)),
      "signature does not match",
    ],
    [
      "the wrong secret",
      { "x-hub-signature": sign(body, "another-secret-0123456789") },
      body,
      "signature does not match",
    ],
    ["a missing header", {}, body, "signature header missing"],
    ["GitHub's header name", { "x-hub-signature-256": sign(body) }, body, "signature header missing"],
    [
      "no sha256= prefix",
      { "x-hub-signature": sign(body).slice("sha256=".length) },
      body,
      'signature lacks the "sha256=" prefix',
    ],
    [
      "a truncated signature",
      { "x-hub-signature": sign(body).slice(0, 41) },
      body,
      "signature has the wrong length",
    ],
    ["a signature that is not hex", { "x-hub-signature": "sha256=zz" }, body, "signature is not valid hex"],
  ])("rejects %s", (_case, headers, rawBody, reason) => {
    expect(verify(headers, rawBody)).toEqual({ ok: false, reason });
  });

  it("rejects a validly signed delivery older than 24 hours (a replay)", () => {
    const stale = new Date(delivery.timestamp + 24 * 60 * 60_000 + 1);
    expect(verify({ "x-hub-signature": sign(body) }, body, stale)).toEqual({
      ok: false,
      reason: "webhook timestamp is older than 24 hours",
    });
  });

  it("rejects a delivery stamped more than five minutes ahead", () => {
    const early = new Date(delivery.timestamp - 6 * 60_000);
    expect(verify({ "x-hub-signature": sign(body) }, body, early).ok).toBe(false);
  });

  it("accepts a signed body without a timestamp (checked for shape later)", () => {
    const bare = encode({ webhookEvent: "jira:issue_updated", issue: { id: "10001" } });
    expect(verify({ "x-hub-signature": sign(bare) }, bare)).toEqual({ ok: true });
  });

  it("does not accept the secret in the URL path: Jira signs, so an unsigned delivery is refused", () => {
    const result = verifyJsmWebhook(
      { headers: new Headers(), rawBody: body, pathSecret: webhookSecret },
      settings,
      deliveredAt,
    );
    expect(result).toEqual({ ok: false, reason: "signature header missing" });
  });

  it("rejects everything when no secret is configured", () => {
    const { webhookSecret: _unset, ...withoutSecret } = settings;
    expect(verify({ "x-hub-signature": sign(body) }, body, deliveredAt, withoutSecret)).toEqual({
      ok: false,
      reason: "webhooks are off: no webhookSecret is configured",
    });
  });
});

describe("parseJsmWebhook", () => {
  const headers = new Headers({
    "x-atlassian-webhook-identifier": "a1b2c3d4-delivery",
    "x-atlassian-webhook-retry": "1",
  });

  it("reads an issue update with its changelog into a thin notice", () => {
    expect(parseJsmWebhook(body, headers)).toEqual([
      {
        externalId: "10001",
        kind: "issue_updated",
        issueKey: "HELP-1",
        operation: "update",
        occurredAt: "2024-05-01T02:50:05.123Z",
        deliveryId: "a1b2c3d4-delivery",
        actorAccountId: "5b10a2844c20165700ede21g",
        changedFields: ["status", "priority", "customfield_10060"],
        changelog: (delivery as unknown as { changelog: { items: unknown[] } }).changelog.items,
      },
    ]);
  });

  it("reads the real (trimmed) delivery from the research payloads", () => {
    const [notice] = parseJsmWebhook(encode(fixture("webhook-issue_updated")), new Headers());
    expect(notice).toEqual({
      externalId: "77256",
      kind: "issue_updated",
      issueKey: "JIRATEST1-14",
      operation: "update",
      occurredAt: "2024-09-23T10:30:43.918Z",
      deliveryId: "jira:issue_updated:77256::1727087443918",
      actorAccountId: "557058:18cf44bb-bc9b-4e8d-b1b7-882969ddc8e5",
    });
  });

  it.each([
    ["webhook-comment_updated", "comment_updated"],
    ["webhook-comment_deleted", "comment_deleted"],
  ] as const)("represents %s with the comment id", (name, kind) => {
    const [notice] = parseJsmWebhook(encode(fixture(name)), headers);
    expect(notice).toMatchObject({
      externalId: "10001",
      kind,
      commentId: "10100",
      commentPublic: true,
      operation: "update",
      actorAccountId: "5b10a2844c20165700ede21g",
    });
  });

  it.each([
    ["jira:issue_created", "issue_created", "insert"],
    ["jira:issue_deleted", "issue_deleted", "delete"],
  ] as const)("maps %s to %s / %s", (event, kind, operation) => {
    const [notice] = parseJsmWebhook(
      encode({ webhookEvent: event, issue: { id: 10001, key: "HELP-1" } }),
      new Headers(),
    );
    expect(notice).toMatchObject({ externalId: "10001", kind, operation });
  });

  it("reads changelog items that leave out from/to, without taking Object.prototype's toString", () => {
    const sparse = {
      webhookEvent: "jira:issue_updated",
      issue: { id: "10001" },
      changelog: { id: "1", items: [{ field: "summary", fieldtype: "jira", fieldId: "summary" }] },
    };
    const [notice] = parseJsmWebhook(encode(sparse), new Headers());
    expect(notice?.changelog).toEqual([{ field: "summary", fieldtype: "jira", fieldId: "summary" }]);
    expect(notice?.changedFields).toEqual(["summary"]);
  });

  it("gives no notice for events the connection does not sync", () => {
    expect(
      parseJsmWebhook(encode({ webhookEvent: "issuelink_created", issueLink: { id: 1 } }), new Headers()),
    ).toEqual([]);
  });

  it.each([
    ["not JSON", "webhookEvent=jira:issue_updated"],
    ["no webhookEvent", { issue: { id: "1" } }],
    ["an issue event without an issue", { webhookEvent: "jira:issue_updated" }],
    ["a comment event without a comment", { webhookEvent: "comment_created", issue: { id: "1" } }],
    ["an issue id that is an object", { webhookEvent: "jira:issue_updated", issue: { id: { value: 1 } } }],
    ["a JSON array", [{ webhookEvent: "jira:issue_updated" }]],
  ])("rejects %s with WebhookPayloadError", (_case, payload) => {
    expect(() => parseJsmWebhook(encode(payload), new Headers())).toThrow(WebhookPayloadError);
  });

  it("rejects bytes that are not UTF-8", () => {
    expect(() => parseJsmWebhook(new Uint8Array([0x7b, 0xff, 0x7d]), new Headers())).toThrow(
      WebhookPayloadError,
    );
  });
});

describe("changelog helpers", () => {
  it("names the canonical fields a delivery changed, mapped fields included", () => {
    const [notice] = parseJsmWebhook(body, new Headers());
    expect(canonicalChanges(notice!, settings)).toEqual(["status", "priority", "category"]);
  });

  it("recognises the integration account's own change", () => {
    expect(isOwnChange({ actorAccountId: integrationAccountId }, settings)).toBe(true);
    expect(isOwnChange({ actorAccountId: "5b10a2844c20165700ede21g" }, settings)).toBe(false);
    expect(isOwnChange({}, settings)).toBe(false);
  });
});
