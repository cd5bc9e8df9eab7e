import {
  type CarrierConformanceAdapter,
  type CarrierSimulatorHandle,
  carrierNoteViews,
  lostResponseDelayMs,
} from "../../sdk/testing/carrier-conformance.js";
import { managementBasePath } from "../config.js";
import { createMefSonataSimulator } from "../simulator.js";
import { contractErrors, simulatorContract } from "./contract.js";

/** The MEF LSO Sonata seller for the kit. */
const adapter: CarrierConformanceAdapter = {
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
      notesOf: (id) => carrierNoteViews(ticket(id).note),
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

/** The MEF seller behind the carrier conformance kit; found here by test/conformance. */
export const conformance: readonly CarrierConformanceAdapter[] = [adapter];
