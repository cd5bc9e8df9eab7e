import type { z } from "@hono/zod-openapi";
import type { Priority } from "../../schemas/ticket.js";
import type {
  ClientDeps,
  ConnectorCapabilities,
  ConnectorPriorityFacts,
  ConnectorTypeId,
  ExternalRef,
  GuardedUrl,
  InboundNotice,
  SetupContext,
  SetupStep,
  WebhookInput,
} from "./connector.js";
import type { BaseConnectionSettings } from "./settings.js";
import type { VerifyResult } from "./webhook-signature.js";

/**
 * Where a delegation stands, following the carrier's ticket:
 * `requested` (we have not reached the carrier yet), `open` (acknowledged), `in_progress`,
 * `pending` (the carrier waits on us: a clock-stop state), `resolved` (awaiting our close or reopen),
 * `closed`, `cancelled`, `rejected` (the carrier refused it), `failed` (we could not open it).
 */
export const delegationStates = [
  "requested",
  "open",
  "in_progress",
  "pending",
  "resolved",
  "closed",
  "cancelled",
  "rejected",
  "failed",
] as const;
export type DelegationState = (typeof delegationStates)[number];

/** What the provider asks a carrier to work on, built from the canonical ticket and the delegation. */
export interface CarrierTicketInput {
  /** Our delegation id (`dlg_…`): the carrier ticket's external id, for create-or-link. */
  delegationId: string;
  /** The canonical ticket it serves (`tkt_…`), for humans and notes. */
  canonicalId: string;
  title: string;
  description: string;
  priority: Priority;
  /** Why the provider delegates (free text from the operator). */
  reason: string | null;
  /** The carrier's service (circuit, number range) the trouble is about. */
  service: { id: string; type: string | null } | null;
  /** The end customer the provider acts for (a tenant), as a related party. */
  customer: { id: string; name: string };
  /** The provider's contact for the carrier. */
  reporter: { name: string; email: string | null; phone: string | null };
}

/** One note on the carrier's ticket. */
export interface CarrierNote {
  /** The carrier's note id, when it has one; otherwise a stable hash of author, date and text. */
  externalId: string;
  text: string;
  author: string | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** `buyer` notes are ours (the provider's); `seller` notes are the carrier's. */
  source: "buyer" | "seller" | null;
}

/** The carrier's ticket, read back and normalised. Events may carry partial tickets; this never is. */
export interface CarrierTicket {
  externalId: string;
  /** Our delegation id, when the carrier kept it (TMF `externalId`/`externalIdentifier`, MEF `externalId`). */
  correlationId: string | null;
  /** The carrier's own status value. */
  status: string;
  /** The delegation state this status means; null when unknown (flagged, not guessed). */
  state: DelegationState | null;
  statusReason: string | null;
  /** ISO-8601 UTC, the carrier's last change (TMF `lastUpdate`), or null if it does not say. */
  updatedAt: string | null;
  /** When the carrier acknowledged, resolved and closed, when it says. ISO-8601 UTC. */
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  notes: CarrierNote[];
}

/** Calls a carrier's trouble-ticket API for one carrier connection. Errors are `HttpError`s. */
export interface CarrierClient {
  /**
   * Create-or-link: looks for a carrier ticket already carrying `input.delegationId` as its external id and
   * links it; creates one only when none exists. Safe to call again after a failure of unknown outcome.
   */
  openTicket(input: CarrierTicketInput): Promise<ExternalRef>;
  getTicket(externalId: string): Promise<CarrierTicket>;
  /**
   * Adds a note without altering existing ones (TMF v4: resend the whole `note` array with the new one
   * appended; v5: JSON Patch `add`; MEF: buyer notes are never modified). On `attempt > 1` the ticket is read
   * back first and a note with the identical text is not written again.
   */
  addNote(
    externalId: string,
    note: { canonicalId: string; text: string; author: string },
    opts: { attempt: number; since: Date },
  ): Promise<void>;
  /** Asks the carrier to cancel, close (confirm a resolution) or reopen its ticket. */
  cancel(externalId: string, reason: string | null): Promise<void>;
  close(externalId: string): Promise<void>;
  reopen(externalId: string, reason: string | null): Promise<void>;
  /**
   * Polling fallback for missed events: the carrier tickets changed since the cursor where the API can
   * filter (`lastUpdate`), otherwise the given open tickets re-read. Returns external ids.
   */
  listChanged(
    cursor: string | null,
    openTicketIds: readonly string[],
  ): Promise<{ externalIds: string[]; nextCursor: string | null }>;
  /** Registers our callback (`POST /hub`), returning the carrier's listener id to remove it later. */
  registerListener(callbackUrl: string): Promise<{ listenerId: string }>;
  unregisterListener(listenerId: string): Promise<void>;
  testConnection(): Promise<{ ok: boolean; detail: string }>;
}

/** Pure status mapping of a carrier connector. */
export interface CarrierMapping {
  /** Carrier status value -> delegation state (null when unknown). */
  toDelegationState(carrierStatus: string): DelegationState | null;
  /** Rows for docs and table-driven tests. */
  statuses: readonly { carrier: string; state: DelegationState; note?: string }[];
}

/**
 * A carrier integration (TMF621, MEF LSO Sonata). Like {@link Connector} but its client delegates trouble
 * tickets instead of mirroring a servicedesk.
 */
export interface CarrierConnector<Settings extends BaseConnectionSettings = BaseConnectionSettings>
  extends ConnectorPriorityFacts {
  readonly kind: "carrier";
  /** Equal to the connector's key in the registry (`connectors/index.ts`); tested. */
  readonly type: ConnectorTypeId;
  readonly displayName: string;
  readonly capabilities: ConnectorCapabilities;
  readonly settingsSchema: z.ZodType<Settings>;
  readonly secretPaths: readonly string[];
  /** As {@link Connector.outboundUrls}: every URL in the settings the gateway calls, checked when saved. */
  outboundUrls(settings: Settings): readonly GuardedUrl[];
  /**
   * Who the provider writes as at the carrier, in the form {@link CarrierNote.author} carries: notes by this
   * identity are our own. `null` when the carrier does not tell authors apart.
   */
  integrationIdentity(settings: Settings): string | null;
  /**
   * Whether the connection copies the carrier's notes to the client's ticket as public comments (otherwise they
   * stay internal). The engine asks here, never reads a setting by name.
   */
  relaysNotesToClient(settings: Settings): boolean;
  /**
   * How often the engine re-reads the connection's open delegations, when the connection sets its own
   * interval; null for the engine's SYNC_POLL_INTERVAL_MS.
   */
  pollIntervalMs?(settings: Settings): number | null;
  createCarrierClient(settings: Settings, deps: Omit<ClientDeps<unknown>, "mapping">): CarrierClient;
  /**
   * Carriers that cannot sign their events are reached at `/webhooks/:connectionId/:secret/...`; the path
   * secret is checked here, in constant time. `subPath` is what the carrier appended (`listener/<event>`).
   */
  verifyWebhook(input: WebhookInput, settings: Settings, now: Date): VerifyResult;
  /** Event body (and the path the carrier appended) -> carrier ticket ids to re-read. */
  parseWebhook(rawBody: Uint8Array, headers: Headers, subPath: string): InboundNotice[];
  readonly mapping: CarrierMapping;
  /** As {@link Connector.setupSteps}: what the carrier's side needs, from the connector's doc. */
  setupSteps(context: SetupContext, settings: Settings): readonly SetupStep[];
}

export function defineCarrierConnector<Settings extends BaseConnectionSettings>(
  connector: CarrierConnector<Settings>,
): CarrierConnector<Settings> {
  return connector;
}
