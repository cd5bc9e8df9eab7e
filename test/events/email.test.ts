import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendLedger } from "../../src/ledger/append.js";
import { createSyncTestApp, type SyncTestContext } from "../e2e/sync-harness.js";
import { createTenant, openTicket } from "../harness.js";
import { breachEntry } from "./receiver.js";

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** The Subject header, unfolded and RFC 2047 Q-decoded (nodemailer encodes long subjects). */
function subjectOf(raw: string): string {
  const folded = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1] ?? "";
  return folded.replace(/\?=\r?\n[ \t]+=\?/g, "?==?").replace(/=\?UTF-8\?Q\?(.*?)\?=/gi, (_, text: string) =>
    Buffer.from(
      text
        .replace(/_/g, " ")
        .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
      "latin1",
    ).toString("utf8"),
  );
}

let ctx: SyncTestContext;
let smtp: SMTPServer;
const mails: Mail[] = [];
let refuse = false;

beforeAll(async () => {
  // A local SMTP sink: plain SMTP on loopback, no auth, no TLS (nodemailer would otherwise try STARTTLS).
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (refuse) {
        const error = new Error("mailbox unavailable") as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const { port } = smtp.server.address() as AddressInfo;
  ctx = await createSyncTestApp({
    smtp: { url: `smtp://127.0.0.1:${port}`, from: "gateway@provider.example" },
  });
});
afterAll(async () => {
  await ctx?.close();
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
});

describe("email event subscriptions", () => {
  it("mails an SLA breach through SMTP_URL", async () => {
    const tenant = await createTenant(ctx, { name: "Acme" });
    const created = await tenant.client.post("/v1/event-subscriptions", {
      url: "mailto:noc@acme.example",
      format: "email",
      eventTypes: ["sla.breached", "sla.at_risk"],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.url).toBe("mailto:noc@acme.example");
    const ticket = await openTicket(tenant.client, { title: "Core router down", priority: "P1" });
    const [entry] = await ctx.database.db.transaction((tx) => appendLedger(tx, [breachEntry(ticket)]));
    await ctx.drain();
    expect(mails).toHaveLength(1);
    const [mail] = mails as [Mail];
    expect(mail.from).toBe("gateway@provider.example");
    expect(mail.to).toEqual(["noc@acme.example"]);
    expect(subjectOf(mail.raw)).toBe(
      `SLA breached P1 ${ticket.id} "Core router down" (Acme) - resolution clock due 2026-11-23T13:00:00Z`,
    );
    expect(mail.raw).toMatch(new RegExp(`^X-Event-Id: evt_${entry!.sequence}\r?$`, "im"));
    expect(mail.raw).toContain("dueAt: 2026-11-23T13:00:00Z");
    const log = await tenant.client.get(`/v1/event-subscriptions/${created.body.id}/deliveries`);
    expect(log.body.items).toMatchObject([
      { outcome: "delivered", httpStatus: null, eventType: "sla.breached" },
    ]);
  });

  it("dead-letters a mailbox the server refuses for good (5xx)", async () => {
    refuse = true;
    const created = await ctx.admin.post("/v1/event-subscriptions", {
      url: "mailto:gone@acme.example",
      format: "email",
      eventTypes: ["sla.met"],
    });
    expect(created.status, created.text).toBe(201);
    const test = await ctx.admin.post(`/v1/event-subscriptions/${created.body.id}/test`);
    expect(test.status).toBe(202);
    await ctx.drain();
    const log = await ctx.admin.get(`/v1/event-subscriptions/${created.body.id}/deliveries`);
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0]).toMatchObject({ outcome: "failed", eventId: test.body.eventId });
    expect(log.body.items[0].error).toContain("550");
    refuse = false;
  });
});
