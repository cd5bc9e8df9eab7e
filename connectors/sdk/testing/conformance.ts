import type { Priority } from "../../../schemas/ticket.js";

/**
 * What the gateway's conformance kit (test/conformance/kit.ts) needs to drive one servicedesk connector's
 * simulator. Each servicedesk connector exports one as `conformance` from `connectors/<type>/test/conformance.ts`;
 * the kit finds it there for every servicedesk connector in the registry, so no wiring file is needed elsewhere.
 */
export interface ConformanceAdapter {
  /** The connector's type id (its registry key). */
  type: string;
  /**
   * `signature`: webhooks are signed over the body (HMAC), so a tampered body must be refused (401).
   * `secret`: a shared secret in a header, which cannot tell a changed body: the kit checks that such a body
   * changes nothing by itself (the engine re-reads the record).
   */
  webhookAuth: "signature" | "secret";
  /** A fresh simulator (Hono app) and handles on its state. */
  createSimulator(): SimulatorHandle;
}

/** One simulator under test, as the kit drives it. */
export interface SimulatorHandle {
  app: { fetch(request: Request): Response | Promise<Response> };
  /** Connection settings pointing at the simulator's base URL, with this webhook secret. */
  settings(baseUrl: string, webhookSecret: string): Record<string, unknown>;
  /**
   * Where the simulator sends webhooks (the connection's webhookUrl). Settable at any time: the simulator must
   * read it when it sends, not copy it when built. The kit points it elsewhere to test polling.
   */
  setWebhookTarget(url: string, secret: string): void;
  setBaseUrl?(url: string): void;
  /** A human opens a record at the vendor; returns its external id. */
  agentCreate(input: { title: string; priority: Priority; comment?: string }): string;
  /** A human comments at the vendor: publicly, or as an internal note the requester cannot see. */
  agentComment(externalId: string, body: string, options?: { internal?: boolean }): void;
  /** A human moves the record to the vendor status that means this canonical status. */
  agentSetStatus(externalId: string, status: "in_progress" | "resolved"): void;
  /** The record as the vendor holds it, normalised for assertions. */
  read(externalId: string): { title: string; comments: { body: string; public: boolean }[] } | undefined;
  /** External id of the record carrying our canonical id. */
  findByCanonicalId(canonicalId: string): string | undefined;
  /** Makes the next `times` API calls fail with this status (429 carries Retry-After: 1). */
  failNext(status: 500 | 503 | 429, times: number): void;
  /** Makes the next writes fail permanently (a 4xx the connector must not retry) with this text in the body. */
  rejectNextWrites(times: number): void;
  /** Text the vendor's rejection body carries: dead letters must show it. */
  readonly rejectionText: string;
  /** A webhook request the vendor would send for the record. */
  webhook(externalId: string): { headers: Record<string, string>; body: string };
  /**
   * Moves the vendor's clock forward, for vendors whose change feed lags (Zendesk's incremental export leaves
   * out the latest minute): the kit calls it before polling.
   */
  advanceVendorClock?(ms: number): void;
  /** Resolves once every webhook the simulator started sending has been answered. */
  settled(): Promise<void>;
}
