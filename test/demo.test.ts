import { expect, it } from "vitest";
import { runDemo } from "../src/demo/index.js";

it("npm run demo: tickets flow both ways and the narrative says so", async () => {
  const lines: string[] = [];
  const demo = await runDemo({ port: 0, keepRunning: false, log: (line) => lines.push(line) });
  const output = lines.join("\n");
  expect(demo.summary.failures, output).toEqual([]);
  expect(demo.summary.ok).toBe(true);

  const { serviceNow, zendesk, ledger } = demo.summary;
  expect(serviceNow.incidentNumber).toMatch(/^INC\d{7}$/);
  expect(serviceNow.ticketId).toMatch(/^tkt_/);
  expect(serviceNow.priority).toBe("P1");
  expect(serviceNow.responseDueAt).not.toBeNull();
  expect(serviceNow.inProgress).toBe(true);
  expect(serviceNow.commentInJournal).toBe(true);
  expect(serviceNow.internalNoteKeptInternal).toBe(true);
  expect(zendesk.ticketId).toMatch(/^tkt_/);
  expect(zendesk.zendeskTicketId).toBeGreaterThan(0);
  expect(zendesk.replyImported).toBe(true);
  expect(ledger).toMatchObject({ ok: true });
  expect(ledger!.checked).toBeGreaterThan(0);

  // Human-readable lines, not JSON walls, ending with where to look.
  expect(lines.every((line) => !line.trimStart().startsWith("{"))).toBe(true);
  expect(output).toContain(`${demo.gatewayUrl}/docs`);
  expect(output).toContain("All steps passed.");
  // Stopped already (keepRunning: false): the gateway no longer answers.
  await expect(fetch(`${demo.gatewayUrl}/healthz`)).rejects.toThrow();
  await demo.stop(); // idempotent
}, 120_000);
