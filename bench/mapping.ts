import { readFileSync } from "node:fs";
import { IssueRecord, PageOfComments } from "../connectors/jsm/api-types.js";
import { jsm } from "../connectors/jsm/index.js";
import {
  toExternalTicket as jsmToExternalTicket,
  toAfterRequestCreateFields,
  toCreateRequestBody,
} from "../connectors/jsm/mapping.js";
import type { OutboundTicket } from "../connectors/sdk/index.js";
import {
  IncidentRecord,
  JournalEntry,
  resultListOf,
  resultOf,
  SysUser,
} from "../connectors/servicenow/api-types.js";
import { servicenow } from "../connectors/servicenow/index.js";
import {
  toExternalTicket as serviceNowToExternalTicket,
  toIncidentCreateFields,
} from "../connectors/servicenow/mapping.js";
import {
  AuditsResponse,
  CommentsPage,
  TicketResponse,
  UserResponse,
} from "../connectors/zendesk/api-types.js";
import { zendesk } from "../connectors/zendesk/index.js";
import {
  toTicketCreateBody,
  toExternalTicket as zendeskToExternalTicket,
} from "../connectors/zendesk/mapping.js";
import { fmt, median } from "./lib.js";

export type MappingConnector = "servicenow" | "zendesk" | "jsm";

export interface MappingRun {
  iterations: number;
  seconds: number;
  opsPerSec: number;
}

export interface MappingResult {
  connector: MappingConnector;
  inbound: { runs: MappingRun[]; medianOpsPerSec: number; includes: string };
  outbound: { runs: MappingRun[]; medianOpsPerSec: number; includes: string };
}

/** A recorded vendor response body, as the HTTP client receives it: text. */
function fixtureText(connector: MappingConnector, name: string): string {
  return readFileSync(
    new URL(`../connectors/${connector}/test/fixtures/${name}.json`, import.meta.url),
    "utf8",
  );
}

/** A provider ticket as the outbox hands it to a connector: a description with paragraphs, a list, code and a link. */
const canonicalTicket: OutboundTicket = {
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "MPLS circuit down at site 42: packet loss on the primary link since 09:12",
  description: [
    "Customer reports packet loss on the primary circuit since 09:12 UTC.",
    "Monitoring shows **40 % loss** on `ge-0/0/1` and BGP flapping.",
    "",
    "- store 12: tills offline",
    "- store 14: degraded, card payments slow",
    "- warehouse: unaffected",
    "",
    "Carrier ticket raised; see https://status.example.net/incidents/8812 for updates.",
    "",
    "```",
    "show interfaces ge-0/0/1 extensive",
    "```",
  ].join("\n"),
  priority: "P2",
  status: "new",
  requester: { name: "Dana Ops", email: "dana@example.com", phone: "+44 20 7946 0000" },
  category: "network",
  affectedService: "Store connectivity",
};

interface Op {
  /** One operation; returns something derived from its result so the work cannot be optimised away. */
  run(): number;
  includes: string;
}

interface ConnectorOps {
  connector: MappingConnector;
  inbound: Op;
  outbound: Op;
}

function serviceNowOps(): ConnectorOps {
  const settings = servicenow.settingsSchema.parse({
    baseUrl: "https://acme.service-now.com",
    auth: { type: "basic", username: "svc.ticketsync", password: "bench-password" },
  });
  const ctx = servicenow.mappingContext(settings);
  const recordText = fixtureText("servicenow", "incident-get-response");
  const journalText = fixtureText("servicenow", "journal-list-response");
  // The client caches callers for ten minutes: parsed once, as a warm client has it.
  const caller = resultOf(SysUser).parse(
    JSON.parse(fixtureText("servicenow", "sys-user-get-response")),
  ).result;
  const recordSchema = resultOf(IncidentRecord);
  const journalSchema = resultListOf(JournalEntry);
  return {
    connector: "servicenow",
    inbound: {
      includes:
        "JSON.parse + schema check of `incident-get-response` and `journal-list-response` (INC0000046 and its journal), `toExternalTicket` (caller from the client's cache)",
      run() {
        const record = recordSchema.parse(JSON.parse(recordText)).result;
        const journal = journalSchema.parse(JSON.parse(journalText)).result;
        const external = serviceNowToExternalTicket({
          record,
          journal,
          caller,
          recordUrl: `https://acme.service-now.com/incident.do?sys_id=${record.sys_id}`,
          settings,
          ctx,
        });
        return external.comments.length + external.title.length;
      },
    },
    outbound: {
      includes:
        "`toIncidentCreateFields` (impact/urgency from the priority matrix) + JSON.stringify of the body",
      run: () => JSON.stringify(toIncidentCreateFields(canonicalTicket, settings, ctx)).length,
    },
  };
}

function zendeskOps(): ConnectorOps {
  const settings = zendesk.settingsSchema.parse({
    baseUrl: "https://acme.zendesk.com",
    auth: { type: "basic", username: "sync@acme.example/token", password: "bench-api-token" },
    integrationUserId: 9001,
  });
  const ctx = zendesk.mappingContext(settings);
  const ticketText = fixtureText("zendesk", "ticket-response");
  const commentsText = fixtureText("zendesk", "ticket-comments-response");
  const auditsText = fixtureText("zendesk", "audits-response");
  // The client caches users: parsed once, as a warm client has it.
  const requester = UserResponse.parse(JSON.parse(fixtureText("zendesk", "user-response"))).user;
  return {
    connector: "zendesk",
    inbound: {
      includes:
        "JSON.parse + schema check of `ticket-response`, `ticket-comments-response` and `audits-response` (ticket 35436), `toExternalTicket` (requester from the client's cache)",
      run() {
        const { ticket } = TicketResponse.parse(JSON.parse(ticketText));
        const { comments } = CommentsPage.parse(JSON.parse(commentsText));
        const { audits } = AuditsResponse.parse(JSON.parse(auditsText));
        const external = zendeskToExternalTicket({
          ticket,
          comments,
          requester,
          lastAuthorId: audits[0]?.author_id ?? null,
          baseUrl: settings.baseUrl,
          settings,
          scheme: ctx.priority,
        });
        return external.comments.length + external.title.length;
      },
    },
    outbound: {
      includes: "`toTicketCreateBody` (priority scheme, requester, status) + JSON.stringify of the body",
      run: () => JSON.stringify(toTicketCreateBody(canonicalTicket, settings, ctx.priority)).length,
    },
  };
}

function jsmOps(): ConnectorOps {
  const settings = jsm.settingsSchema.parse({
    baseUrl: "https://acme.atlassian.net",
    auth: { type: "basic", username: "svc.ticketsync@example.com", password: "bench-api-token" },
    serviceDeskId: "1",
    requestTypeId: "10",
    projectKey: "HELP",
    correlationFieldId: "customfield_10050",
    integrationAccountId: "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
    fieldMapping: [
      { fieldId: "customfield_10060", canonical: "category", type: "select" },
      { fieldId: "customfield_10070", canonical: "affectedService" },
    ],
  });
  const ctx = jsm.mappingContext(settings);
  const issueText = fixtureText("jsm", "issue-get-help-1");
  const commentsText = fixtureText("jsm", "comments-help-1");
  return {
    connector: "jsm",
    inbound: {
      includes:
        "JSON.parse + schema check of `issue-get-help-1` (with changelog) and `comments-help-1`, `toExternalTicket` (ADF description and comments to canonical text)",
      run() {
        const issue = IssueRecord.parse(JSON.parse(issueText));
        const { comments } = PageOfComments.parse(JSON.parse(commentsText));
        const external = jsmToExternalTicket({ issue, comments, settings, scheme: ctx.priority });
        return external.comments.length + (external.description?.length ?? 0);
      },
    },
    outbound: {
      includes:
        "customer request: `toCreateRequestBody` (description as wiki markup) + `toAfterRequestCreateFields` (description via `canonicalToAdf`, priority, mapped fields) + JSON.stringify of both",
      run: () =>
        JSON.stringify(toCreateRequestBody(canonicalTicket, settings)).length +
        JSON.stringify({ fields: toAfterRequestCreateFields(canonicalTicket, settings, ctx.priority) })
          .length,
    },
  };
}

let sink = 0;

function timeIterations(op: Op, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += op.run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Ops run for `ms` milliseconds, in rounds of 100; returns their rate. */
function runFor(op: Op, ms: number): number {
  const started = performance.now();
  let ops = 0;
  while (performance.now() - started < ms) {
    for (let i = 0; i < 100; i++) sink += op.run();
    ops += 100;
  }
  return ops / ((performance.now() - started) / 1000);
}

/**
 * Warms the op up (JIT, caches, a GC or two), sizes one run from the rate after warm-up so it lasts about
 * `seconds`, then times that fixed iteration count three times.
 */
function measure(op: Op, seconds: number): MappingRun[] {
  const warmMs = Math.max(300, seconds * 250);
  runFor(op, warmMs);
  const rate = runFor(op, warmMs);
  const iterations = Math.max(1000, Math.round(rate * seconds));
  const runs: MappingRun[] = [];
  for (let run = 0; run < 3; run++) {
    const elapsed = timeIterations(op, iterations);
    runs.push({ iterations, seconds: elapsed, opsPerSec: iterations / elapsed });
  }
  return runs;
}

/**
 * Mapping operations per second on one core, pure functions only (no I/O): inbound is a recorded vendor
 * response (the connectors' own test fixtures) parsed, schema-checked and mapped to the SDK's ExternalTicket;
 * outbound is a canonical ticket mapped to the vendor's create body. Warm-up, then 3 runs of a fixed count.
 */
export async function benchMapping(options: { seconds: number }): Promise<MappingResult[]> {
  const results: MappingResult[] = [];
  for (const ops of [serviceNowOps(), zendeskOps(), jsmOps()]) {
    // A broken mapping must fail here, not be timed.
    ops.inbound.run();
    ops.outbound.run();
    const inbound = measure(ops.inbound, options.seconds);
    const outbound = measure(ops.outbound, options.seconds);
    results.push({
      connector: ops.connector,
      inbound: {
        runs: inbound,
        medianOpsPerSec: median(inbound.map((r) => r.opsPerSec)),
        includes: ops.inbound.includes,
      },
      outbound: {
        runs: outbound,
        medianOpsPerSec: median(outbound.map((r) => r.opsPerSec)),
        includes: ops.outbound.includes,
      },
    });
    // Yield between connectors so a caller's timers and streams are not starved.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (Number.isNaN(sink)) throw new Error("unreachable");
  return results;
}

const labels: Record<MappingConnector, string> = {
  servicenow: "ServiceNow",
  zendesk: "Zendesk",
  jsm: "Jira Service Management",
};

export function mappingMarkdown(results: MappingResult[]): string {
  const runsOf = (runs: MappingRun[]) => runs.map((r) => fmt(r.opsPerSec)).join(", ");
  return [
    "## Per-connector mapping throughput",
    "",
    `Pure mapping on one core, no I/O: the functions each connector's client runs per record read (inbound) and per create (outbound), on the connectors' own recorded fixtures and one canonical ticket with a ${canonicalTicket.description!.length}-character description (paragraphs, a list, inline code, a link, a code block). Settings parsed with each connector's \`settingsSchema\`, mapping context from its \`mappingContext\`. After a warm-up, a fixed number of iterations (${results.map((r) => `${labels[r.connector]} ${fmt(r.inbound.runs[0]?.iterations ?? 0)} in / ${fmt(r.outbound.runs[0]?.iterations ?? 0)} out`).join(", ")}) is timed 3 times; the table gives the median (the runs in brackets).`,
    "",
    "| connector | inbound ops/s | outbound ops/s | what each op includes |",
    "|---|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${labels[r.connector]} | ${fmt(r.inbound.medianOpsPerSec)} (${runsOf(r.inbound.runs)}) | ${fmt(r.outbound.medianOpsPerSec)} (${runsOf(r.outbound.runs)}) | in: ${r.inbound.includes}; out: ${r.outbound.includes} |`,
    ),
  ].join("\n");
}
