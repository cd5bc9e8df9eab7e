/**
 * The scaffolding every vendor simulator needs and none should rewrite: a fault queue, request recording,
 * webhook (or carrier event) delivery that `settled()` can wait for, and reading Basic/Bearer credentials.
 * What the vendor says (bodies, status codes, headers, signatures, where events go) stays in each simulator.
 */

/** Restricts a fault to some requests; all given conditions must hold. */
export interface FaultMatch {
  method?: string;
  pathIncludes?: string;
}

/** Answer with the status instead of handling the request (nothing is applied). */
export interface StatusFault {
  kind: "status";
  status: 429 | 500 | 502 | 503 | 504;
  retryAfterSeconds?: number;
  times: number;
  match?: FaultMatch;
}

/** Handle the request (writes are applied), then hold the response `delayMs`: the client times out not knowing. */
export interface TimeoutFault {
  kind: "timeout";
  delayMs: number;
  times: number;
  match?: FaultMatch;
}

/** Lose the next `times` webhook deliveries. */
export interface DropWebhooksFault {
  kind: "drop-webhooks";
  times: number;
}

/** The faults every simulator supports; a simulator adds its vendor's own kinds to this union. */
export type CommonFault = StatusFault | TimeoutFault | DropWebhooksFault;

/** Any fault a kit's queue can hold: used up after `times` takes. */
export interface QueuedFault {
  kind: string;
  times: number;
  match?: FaultMatch;
}

/**
 * Whether `fault` is a request fault (not the delivery-dropping kind, `drop-webhooks` unless the simulator
 * names its own) that applies to this request.
 */
export function faultApplies(
  fault: QueuedFault,
  method: string,
  path: string,
  dropKind = "drop-webhooks",
): boolean {
  return (
    fault.kind !== dropKind &&
    (fault.match?.method === undefined || fault.match.method === method) &&
    (fault.match?.pathIncludes === undefined || path.includes(fault.match.pathIncludes))
  );
}

/** How one webhook delivery ended: the receiver's status, or null and the error when it failed. */
export interface DeliveryOutcome {
  status: number | null;
  error?: string;
}

/** What the kit reads from the simulator's options: the object itself, so later changes are seen. */
export interface SimulatorKitOptions<Target> {
  /**
   * Where webhooks go. Read at every delivery, never copied: tests and conformance adapters learn the
   * gateway's webhook URL only after the simulator exists, and set it here (or through `setWebhookTarget`).
   */
  webhook?: Target | undefined;
  /** Delivers webhooks. Defaults to the global `fetch`, looked up at delivery time. */
  fetch?: typeof fetch;
}

/** How a simulator's deliveries behave, where vendors differ. */
export interface SimulatorKitBehaviour {
  /**
   * The fault kind that loses the next deliveries, in the vendor's words (`drop-events` for TMF621 events,
   * `drop-notifications` for MEF notifications). Default `drop-webhooks`.
   */
  dropKind?: string;
  /** Deliver one at a time, in the order started (MEF R60: notifications in order). Default concurrent. */
  ordered?: boolean;
}

export interface SimulatorKit<Fault extends QueuedFault, Exchange, Target> {
  /** Push faults here; each is removed once used `times` times. */
  faults: Fault[];
  /** Takes one use of the first fault matching `predicate`. */
  takeFault(predicate: (fault: Fault) => boolean): Fault | null;
  /** Takes one use of the first request fault that applies to this request (see {@link faultApplies}). */
  takeRequestFault(method: string, path: string, also?: (fault: Fault) => boolean): Fault | null;
  /** Takes one use of a delivery-dropping fault: true when the next delivery is to be lost. */
  dropWebhook(): boolean;
  /** Every request received, in order, as the simulator records it. */
  exchanges: Exchange[];
  /** Appends to `exchanges` and returns the entry, so the simulator can fill in the response later. */
  record(exchange: Exchange): Exchange;
  /** The current webhook target, read from the options now. */
  webhookTarget(): Target | undefined;
  setWebhookTarget(target: Target | undefined): void;
  /**
   * POSTs (or whatever `init` says) to `url` in the background, as vendors do (fire and forget), reads the
   * answer, and reports how it ended through `onOutcome`. `settled()` waits for it, `onOutcome` included.
   */
  deliver(url: string, init: RequestInit, onOutcome: (outcome: DeliveryOutcome) => void): void;
  /** Other background work of the simulator (a scheduled vendor action) that `settled()` waits for. */
  track(work: Promise<unknown>): void;
  /** Resolves when every delivery and tracked work started so far, and any they started, has finished. */
  settled(): Promise<void>;
}

/** A simulator's kit; pass the simulator's own options object (see {@link SimulatorKitOptions}). */
export function createSimulatorKit<Fault extends QueuedFault, Exchange, Target = unknown>(
  options: SimulatorKitOptions<Target>,
  behaviour: SimulatorKitBehaviour = {},
): SimulatorKit<Fault, Exchange, Target> {
  const dropKind = behaviour.dropKind ?? "drop-webhooks";
  const faults: Fault[] = [];
  const exchanges: Exchange[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let lastDelivery: Promise<unknown> = Promise.resolve();
  const track = (work: Promise<unknown>) => {
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  function send(url: string, init: RequestInit): Promise<DeliveryOutcome> {
    const fetchImpl = options.fetch ?? globalThis.fetch;
    return fetchImpl(url, { signal: AbortSignal.timeout(10_000), ...init })
      .then(async (response): Promise<DeliveryOutcome> => {
        await response.arrayBuffer();
        return { status: response.status };
      })
      .catch(
        (error: unknown): DeliveryOutcome => ({
          status: null,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
  }

  function takeFault(predicate: (fault: Fault) => boolean): Fault | null {
    const index = faults.findIndex(predicate);
    const fault = faults[index];
    if (fault === undefined) return null;
    fault.times -= 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return fault;
  }

  return {
    faults,
    takeFault,
    takeRequestFault: (method, path, also = () => true) =>
      takeFault((fault) => faultApplies(fault, method, path, dropKind) && also(fault)),
    dropWebhook: () => takeFault((fault) => fault.kind === dropKind) !== null,
    exchanges,
    record(exchange) {
      exchanges.push(exchange);
      return exchange;
    },
    webhookTarget: () => options.webhook,
    setWebhookTarget(target) {
      options.webhook = target;
    },
    deliver(url, init, onOutcome) {
      const delivery = behaviour.ordered
        ? lastDelivery.then(() => send(url, init)).then(onOutcome)
        : send(url, init).then(onOutcome);
      if (behaviour.ordered) lastDelivery = delivery.catch(() => undefined);
      track(delivery);
    },
    track,
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

/** The credentials of an `Authorization` header, or null when it has none the simulators understand. */
export type PresentedCredentials =
  | { scheme: "basic"; username: string; password: string }
  | { scheme: "bearer"; token: string };

/**
 * Reads a Basic (`user:password`, the password may hold colons) or Bearer `Authorization` header. The
 * simulator decides what it accepts.
 */
export function readCredentials(header: string | undefined): PresentedCredentials | null {
  const basic = /^Basic\s+(\S+)$/i.exec(header ?? "");
  if (basic?.[1] !== undefined) {
    const [username = "", ...rest] = Buffer.from(basic[1], "base64").toString("utf8").split(":");
    return { scheme: "basic", username, password: rest.join(":") };
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return bearer?.[1] === undefined ? null : { scheme: "bearer", token: bearer[1] };
}

/** Whether the header carries exactly this user name and password as Basic credentials. */
export function isBasic(header: string | undefined, username: string, password: string): boolean {
  const credentials = readCredentials(header);
  return (
    credentials?.scheme === "basic" && credentials.username === username && credentials.password === password
  );
}
