import {
  type CarrierConformanceAdapter,
  type CarrierSimulatorHandle,
  carrierNoteViews,
  lostResponseDelayMs,
} from "../../sdk/testing/carrier-conformance.js";
import type { Tmf621Version } from "../config.js";
import { createTmf621Simulator } from "../simulator.js";
import { describeContract, tmf621Contracts } from "./contract.js";

type Json = Record<string, unknown>;

/** The TMF621 carrier (v4 or v5 of the simulator, which serves both) for the kit. */
function adapterFor(version: Tmf621Version): CarrierConformanceAdapter {
  return {
    name: `tmf621 ${version}`,
    type: "tmf621",
    reopens: true,
    createSimulator(): CarrierSimulatorHandle {
      const sim = createTmf621Simulator({ contract: tmf621Contracts() });
      let refuseCreates = 0;
      const refusedCreateViolations: string[] = [];
      const ticket = (id: string) => {
        const entry = sim.tickets.get(id);
        if (entry === undefined || entry.version !== version)
          throw new Error(`no ${version} trouble ticket ${id}`);
        return entry.ticket;
      };
      const carries = (t: Json, delegationId: string) =>
        version === "v4"
          ? t["externalId"] === delegationId
          : Array.isArray(t["externalIdentifier"]) &&
            (t["externalIdentifier"] as Json[]).some((identifier) => identifier["id"] === delegationId);
      const base = `/tmf-api/troubleTicket/${version}`;
      return {
        app: {
          fetch: async (request: Request) => {
            const path = new URL(request.url).pathname;
            if (refuseCreates > 0 && request.method === "POST" && path === `${base}/troubleTicket`) {
              refuseCreates--;
              // Answered here, not by the simulator, so its body is checked against the spec here.
              const text = await request.text();
              const result = tmf621Contracts()[version].validateRequest({
                method: "POST",
                path: "/troubleTicket",
                body: JSON.parse(text),
                contentType: request.headers.get("content-type") ?? "",
              });
              if (!result.ok)
                refusedCreateViolations.push(`POST /troubleTicket: ${describeContract(result)}`);
              // TMF621 documents 400 for a request the carrier will not take; the body is a TMF Error.
              const error: Json = {
                code: "400",
                reason: "Bad Request",
                message: "Service CIR-4471 is not provided by this carrier",
                status: "400",
              };
              return new Response(JSON.stringify(version === "v5" ? { ...error, "@type": "Error" } : error), {
                status: 400,
                headers: { "content-type": "application/json;charset=utf-8" },
              });
            }
            return sim.app.fetch(request);
          },
        },
        setOrigin: (url) => sim.setOrigin(url),
        settings: (baseUrl, webhookSecret) => ({
          baseUrl: `${baseUrl}${base}`,
          auth: { type: "bearer", token: "simulator-token" },
          version,
          webhookSecret,
        }),
        listeners: () =>
          [...sim.hubs.values()]
            .filter((hub) => hub.version === version)
            .map((hub) => ({ id: hub.id, callback: hub.callback })),
        acknowledge: (id) => {
          sim.carrier.acknowledge(id);
        },
        progress: (id) => {
          if (ticket(id)["status"] !== "inProgress") sim.carrier.progress(id);
        },
        requestInformation: (id, text) => {
          sim.carrier.requestInformation(id, text);
        },
        resolve: (id, text) => {
          sim.carrier.resolve(id, text);
        },
        reject: (id, reason) => {
          sim.carrier.reject(id, reason);
        },
        notesOf: (id) => carrierNoteViews(ticket(id)["note"]),
        statusOf: (id) => {
          const entry = sim.tickets.get(id);
          return entry === undefined ? undefined : String(entry.ticket["status"] ?? "");
        },
        ticketsCarrying: (delegationId) =>
          [...sim.tickets.values()]
            .filter((entry) => entry.version === version && carries(entry.ticket, delegationId))
            .map((entry) => String(entry.ticket["id"])),
        failNext: (status, times, method) => {
          sim.faults.push({
            kind: "status",
            status,
            times,
            ...(status === 429 ? { retryAfterSeconds: 1 } : {}),
            ...(method ? { match: { method } } : {}),
          });
        },
        loseNextResponse: (method) => {
          sim.faults.push({
            kind: "timeout",
            delayMs: lostResponseDelayMs,
            times: 1,
            match: { method, pathIncludes: "/troubleTicket", version },
          });
        },
        rejectNextCreate: () => {
          refuseCreates++;
        },
        dropEvents: (times) => {
          sim.faults.push({ kind: "drop-events", times });
        },
        clearFaults: () => {
          sim.faults.length = 0;
          refuseCreates = 0;
        },
        droppedEvents: () => sim.events.dropped.length,
        deliveries: () =>
          sim.events.delivered.map((delivery) => ({
            url: delivery.url,
            status: delivery.status,
            body: delivery.body,
          })),
        contractViolations: () =>
          sim.contractViolations.map(
            (v) =>
              `${v.kind} ${v.version} ${v.method} ${v.path} ${v.status ?? ""}: ${describeContract(v.result)}`,
          ),
        requestViolations: () => [
          ...refusedCreateViolations,
          ...sim.requests
            .filter((r) => !r.contract.ok)
            .map(
              (r) =>
                `${r.version} ${r.method} ${r.path} (${r.contentType ?? "no content type"}): ${describeContract(r.contract)} ${JSON.stringify(r.body)}`,
            ),
        ],
        settled: () => sim.settled(),
      };
    },
  };
}

/** The TMF621 carrier behind the carrier conformance kit, in both versions; found here by test/conformance. */
export const conformance: readonly CarrierConformanceAdapter[] = [adapterFor("v4"), adapterFor("v5")];
