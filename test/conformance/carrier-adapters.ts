import { managementBasePath } from "../../connectors/mef-sonata/config.js";
import { createMefSonataSimulator } from "../../connectors/mef-sonata/simulator.js";
import { contractErrors, simulatorContract } from "../../connectors/mef-sonata/test/contract.js";
import type { Tmf621Version } from "../../connectors/tmf621/config.js";
import { createTmf621Simulator } from "../../connectors/tmf621/simulator.js";
import { describeContract, tmf621Contracts } from "../../connectors/tmf621/test/contract.js";
import type { CarrierConformanceAdapter, CarrierNoteView, CarrierSimulatorHandle } from "./carrier-kit.js";

// The carrier simulators behind the shared carrier conformance kit (test/conformance/carrier-kit.ts).

type Json = Record<string, unknown>;

/** Past the sync harness's HTTP timeout (1.5 s): the write is applied, the answer never reaches the client. */
const lostResponseDelayMs = 2_000;

const notesOf = (notes: unknown): CarrierNoteView[] =>
  (Array.isArray(notes) ? (notes as Json[]) : []).map((note) => ({
    text: String(note["text"] ?? ""),
    raw: structuredClone(note),
  }));

/** The TMF621 carrier (v4 or v5 of the simulator, which serves both) for the kit. */
function tmf621Adapter(version: Tmf621Version): CarrierConformanceAdapter {
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
        notesOf: (id) => notesOf(ticket(id)["note"]),
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

export const tmf621V4Adapter = tmf621Adapter("v4");
export const tmf621V5Adapter = tmf621Adapter("v5");

/** The MEF LSO Sonata seller for the kit. */
export const mefSonataAdapter: CarrierConformanceAdapter = {
  name: "mef-sonata",
  type: "mef-sonata",
  reopens: true,
  declinedState: "resolved",
  createSimulator(): CarrierSimulatorHandle {
    const sim = createMefSonataSimulator({ contract: simulatorContract });
    /** Every request checked against the official OAS, with the content type it came with. */
    const requestViolations: string[] = [];
    const ticket = (id: string) => {
      const found = sim.tickets.get(id);
      if (found === undefined) throw new Error(`no simulated trouble ticket ${id}`);
      return found;
    };
    return {
      app: {
        fetch: async (request: Request) => {
          const path = new URL(request.url).pathname;
          if (path.startsWith(`${managementBasePath}/`)) {
            const text =
              request.method === "GET" || request.method === "DELETE" ? "" : await request.clone().text();
            let body: unknown;
            try {
              body = text === "" ? undefined : JSON.parse(text);
            } catch {
              requestViolations.push(
                `${request.method} ${path}: the body is not JSON: ${text.slice(0, 200)}`,
              );
            }
            const contentType = request.headers.get("content-type");
            const result = simulatorContract.management.validateRequest({
              method: request.method,
              path,
              body,
              ...(contentType === null ? {} : { contentType }),
            });
            if (!result.ok) {
              requestViolations.push(
                `${request.method} ${path} (${contentType ?? "no content type"}): ${contractErrors(result)} ${text.slice(0, 500)}`,
              );
            }
          }
          return sim.app.fetch(request);
        },
      },
      setOrigin: (url) => sim.setServerUrl(url),
      settings: (baseUrl, webhookSecret) => ({
        baseUrl: `${baseUrl}${managementBasePath}`,
        auth: { type: "bearer", token: "simulator-token" },
        webhookSecret,
        reporterContact: {
          name: "Provider NOC",
          emailAddress: "noc@provider.example",
          number: "+44 20 7946 0000",
        },
      }),
      listeners: () => [...sim.hubs.values()].map((hub) => ({ id: hub.id, callback: hub.callback })),
      // A MEF ticket is acknowledged on create (R13): the seller's triage changes nothing further.
      acknowledge: (id) => {
        sim.seller.acknowledge(id);
      },
      progress: (id) => {
        if (ticket(id).status !== "inProgress") sim.seller.progress(id);
      },
      requestInformation: (id, text) => {
        sim.seller.requestInformation(id, text);
      },
      resolve: (id, text) => {
        sim.seller.resolve(id, text);
      },
      // MEF v4 has no rejected status: a seller refuses at create (422) or resolves saying why.
      reject: (id, reason) => {
        sim.seller.reject(id, reason);
      },
      notesOf: (id) => notesOf(ticket(id).note),
      statusOf: (id) => sim.tickets.get(id)?.status,
      ticketsCarrying: (delegationId) =>
        [...sim.tickets.values()].filter((t) => t["externalId"] === delegationId).map((t) => t.id),
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
          match: { method, pathIncludes: `${managementBasePath}/troubleTicket` },
        });
      },
      rejectNextCreate: () => {
        sim.seller.refuseNextCreate("Product CIR-4471 is not served by this Seller");
      },
      dropEvents: (times) => {
        sim.faults.push({ kind: "drop-notifications", times });
      },
      clearFaults: () => {
        sim.faults.length = 0;
      },
      droppedEvents: () => sim.notifications.dropped.length,
      deliveries: () =>
        sim.notifications.delivered.map((delivery) => ({
          url: delivery.url,
          status: delivery.status,
          body: delivery.body,
        })),
      contractViolations: () =>
        sim.contractViolations.map(
          (v) =>
            `${v.kind} ${v.operation} ${v.status ?? ""}: ${v.errors.map((e) => `${e.path || "(body)"} ${e.message}`).join("; ")}`,
        ),
      requestViolations: () => [...requestViolations],
      settled: () => sim.settled(),
    };
  },
};
