import type { Hono } from "hono";

/** One note on the carrier's ticket: its text and the note exactly as the carrier stores it. */
export interface CarrierNoteView {
  text: string;
  raw: unknown;
}

/** One event the simulated carrier posted (or tried to) to a registered callback. */
export interface CarrierEventDelivery {
  url: string;
  /** The listener's answer, or null when the delivery failed. */
  status: number | null;
  body: unknown;
}

/**
 * What the carrier conformance kit (test/conformance/carrier-kit.ts) needs to drive one carrier connector's
 * simulator. Each carrier connector exports a list of them (one per API version it speaks) as `conformance`
 * from `connectors/<type>/test/conformance.ts`; the kit finds it there for every carrier connector in the
 * registry, so no wiring file is needed elsewhere.
 */
export interface CarrierConformanceAdapter {
  /** Shown in the suite's title, e.g. `tmf621 v5`. */
  name: string;
  /** The connector's type id (its registry key). */
  type: string;
  /** Whether the carrier lets the buyer reopen a resolved ticket. */
  reopens: boolean;
  /**
   * The delegation state a ticket the carrier declines (`reject`) ends in: `rejected` where the carrier has
   * such a status, `resolved` where it declines by resolving with its reason (MEF v4). Default `rejected`.
   */
  declinedState?: "rejected" | "resolved";
  createSimulator(): CarrierSimulatorHandle;
}

export interface CarrierSimulatorHandle {
  app: Pick<Hono, "fetch">;
  /** The simulator's origin once it listens (for `href`s). */
  setOrigin(url: string): void;
  /** Connection settings for `POST /v1/connections`, reaching the simulator at `baseUrl` (its origin). */
  settings(baseUrl: string, webhookSecret: string): Record<string, unknown>;
  /** Registered hub callbacks. */
  listeners(): { id: string; callback: string }[];
  /** The carrier's people: each call changes the carrier ticket and notifies like the carrier does. */
  acknowledge(id: string): void;
  /** To work (in progress); nothing when the ticket is already in progress. */
  progress(id: string): void;
  requestInformation(id: string, text: string): void;
  resolve(id: string, text: string): void;
  /** The carrier declines the (acknowledged) ticket it holds, saying why. */
  reject?(id: string, reason: string): void;
  /** Notes on the carrier ticket, oldest first. */
  notesOf(id: string): CarrierNoteView[];
  /** The carrier's own status value ("" when it has none yet), undefined when no such ticket. */
  statusOf(id: string): string | undefined;
  /** Ids of the carrier tickets whose external id is our delegation id. */
  ticketsCarrying(delegationId: string): string[];
  /**
   * The next `times` API requests (with this method, when given) fail with this status, nothing applied
   * (429 carries Retry-After: 1).
   */
  failNext(status: 503 | 429, times: number, method?: "GET" | "POST" | "PATCH"): void;
  /** The next ticket request with this method is applied, but its response is held past the client's timeout. */
  loseNextResponse(method: "POST" | "PATCH"): void;
  /** The next create is refused with a 4xx (the carrier declines the ticket). */
  rejectNextCreate?(): void;
  /** The next `times` event notifications are lost. */
  dropEvents(times: number): void;
  /** Removes faults not used up. */
  clearFaults(): void;
  /** How many event notifications were lost so far. */
  droppedEvents(): number;
  deliveries(): CarrierEventDelivery[];
  /** Responses and events the simulator produced that its official spec rejects. */
  contractViolations(): string[];
  /** Requests the simulator received that its official spec rejects. */
  requestViolations(): string[];
  /** Resolves when every event delivery and scheduled carrier action has finished. */
  settled(): Promise<void>;
}

/** Past the sync harness's HTTP timeout (1.5 s): the write is applied, the answer never reaches the client. */
export const lostResponseDelayMs = 2_000;

/** A carrier's notes (an array of objects with `text`, or anything else for none) as the kit views them. */
export function carrierNoteViews(notes: unknown): CarrierNoteView[] {
  return (Array.isArray(notes) ? (notes as Record<string, unknown>[]) : []).map((note) => ({
    text: String(note["text"] ?? ""),
    raw: structuredClone(note),
  }));
}
