import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inbox, jobs } from "../../src/db/schema/index.js";
import {
  polledCarrierChangeKey,
  polledChangeKey,
  vendorSecondSettledMs,
  webhookDeliveryKey,
  webhookUniqueKey,
} from "../../src/sync/notice-keys.js";
import { createTestDatabase, type TestDatabase } from "../harness.js";

// The de-duplication keys of notices, on real SQL: which notices the inbox's unique index may drop for good.

let database: TestDatabase;
const now = new Date("2026-12-06T12:00:00Z");
const connectionId = "con_notice_keys";

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

/** A stored notice with its `inbox.apply` job; `job` overrides the job's state (claimed, retried). */
const pending = async (externalId: string, job: Partial<typeof jobs.$inferInsert> = {}) => {
  const [row] = await database.db
    .insert(inbox)
    .values({
      connectionId,
      dedupeKey: `test:${externalId}:${Math.random()}`,
      externalId,
      notice: { externalId },
      source: "webhook",
    })
    .returning();
  await database.db.insert(jobs).values({
    kind: "inbox.apply",
    connectionId,
    orderKey: `in:${externalId}`,
    payload: { inboxId: row!.id },
    ...job,
  });
};

describe("polledChangeKey", () => {
  it("keys a change whose second is over by (externalId, updatedAt), for good", async () => {
    const updatedAt = new Date(now.getTime() - vendorSecondSettledMs - 1_000).toISOString();
    const a = await polledChangeKey(database.db, connectionId, { externalId: "settled", updatedAt }, now);
    const b = await polledChangeKey(database.db, connectionId, { externalId: "settled", updatedAt }, now);
    expect(a).toMatch(/^poll:[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it("keys a change with the vendor's version for good, however recent", async () => {
    const item = { externalId: "versioned", updatedAt: now.toISOString(), version: "7" };
    expect(await polledChangeKey(database.db, connectionId, item, now)).toBe(
      `poll:versioned@${item.updatedAt}#7`,
    );
  });

  it("gives a recent change a key of its own, unless a notice for the record waits unread", async () => {
    const item = { externalId: "recent", updatedAt: now.toISOString() };
    const first = await polledChangeKey(database.db, connectionId, item, now);
    const second = await polledChangeKey(database.db, connectionId, item, now);
    expect(first).toMatch(/^poll-recent:recent:/);
    expect(second).not.toBe(first);
    await pending("recent");
    expect(await polledChangeKey(database.db, connectionId, item, now)).toBeNull();
  });

  it("does not count a claimed or retried notice as unread", async () => {
    await pending("claimed", { lockedUntil: now, lockedBy: "w1" });
    await pending("retried", { attempts: 1 });
    for (const externalId of ["claimed", "retried"])
      expect(
        await polledChangeKey(database.db, connectionId, { externalId, updatedAt: now.toISOString() }, now),
      ).not.toBeNull();
  });
});

describe("webhook notice keys", () => {
  it("keys a delivery id for good, and a notice without one uniquely", () => {
    expect(webhookDeliveryKey({ externalId: "x", deliveryId: "d1" })).toBe("delivery:d1");
    expect(webhookDeliveryKey({ externalId: "x" })).toBeNull();
    const [a, b] = [webhookUniqueKey({ externalId: "x" }), webhookUniqueKey({ externalId: "x" })];
    expect(a).toMatch(/^notice:x:/);
    expect(a).not.toBe(b);
  });
});

describe("polledCarrierChangeKey", () => {
  it("keys a ticket by a lastUpdate cursor whose second is over, for good", async () => {
    const cursor = new Date(now.getTime() - vendorSecondSettledMs - 1_000).toISOString();
    const a = await polledCarrierChangeKey(database.db, connectionId, "c-settled", cursor, now);
    expect(a).toMatch(/^poll:[0-9a-f]{64}$/);
    expect(await polledCarrierChangeKey(database.db, connectionId, "c-settled", cursor, now)).toBe(a);
  });

  it("gives a ticket under a recent lastUpdate cursor a key of its own, unless a notice waits unread", async () => {
    const cursor = now.toISOString();
    const first = await polledCarrierChangeKey(database.db, connectionId, "c-recent", cursor, now);
    const second = await polledCarrierChangeKey(database.db, connectionId, "c-recent", cursor, now);
    expect(first).toMatch(/^poll-recent:c-recent:/);
    expect(second).not.toBe(first);
    await pending("c-recent");
    expect(await polledCarrierChangeKey(database.db, connectionId, "c-recent", cursor, now)).toBeNull();
    expect(await polledCarrierChangeKey(database.db, connectionId, "c-recent", null, now)).toBeNull();
  });

  it("keys a ticket by an opaque cursor (a fingerprint of what was read) for good", async () => {
    const cursor = Buffer.from('{"v":1,"seen":{"9":"abc"}}').toString("base64url");
    const a = await polledCarrierChangeKey(database.db, connectionId, "c-opaque", cursor, now);
    expect(a).toMatch(/^poll:[0-9a-f]{64}$/);
    expect(await polledCarrierChangeKey(database.db, connectionId, "c-opaque", cursor, now)).toBe(a);
    const other = Buffer.from('{"v":1,"seen":{"9":"abd"}}').toString("base64url");
    expect(await polledCarrierChangeKey(database.db, connectionId, "c-opaque", other, now)).not.toBe(a);
  });
});
