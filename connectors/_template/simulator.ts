import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import { type CommonFault, createSimulatorKit, isBasic } from "../sdk/testing/simulator-kit.js";

export type { FaultMatch } from "../sdk/testing/simulator-kit.js";

// An in-memory vendor for tests, local development and demos. EXAMPLE: it serves the made-up API of
// api-types.ts. TODO: serve the vendor's real paths and shapes (validate them against the official spec
// in the simulator test), follow documented behaviour where known, and answer 400 where the real vendor
// would silently ignore a mistake (unknown field or filter), so the connector cannot rely on the mistake.

export interface SimulatorCredentials {
  username: string;
  password: string;
}

export interface SimulatorWebhookOptions {
  /** The gateway's webhook URL for the connection. */
  url: string;
  /** Sent as `Authorization: Bearer <secret>`. TODO: sign instead, if the vendor signs. */
  secret: string;
  /** Also notify changes made by the integration user (a vendor rule without the recommended condition). */
  includeIntegrationUser?: boolean;
}

export interface TemplateSimulatorOptions {
  /** The only account Basic auth accepts. Default `svc.ticketsync` / `simulator-password`. */
  integrationUser?: SimulatorCredentials;
  /**
   * Where webhooks go. Read at every delivery (the simulator kit never copies it): the gateway's webhook URL
   * exists only once the connection does, so tests set this, or call `setWebhook`, after construction.
   */
  webhook?: SimulatorWebhookOptions;
  now?: () => Date;
  /** Delivers webhooks. Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * A fault consumed by the next `times` matching requests (or webhooks): the simulator kit's status, timeout
 * and drop-webhooks faults. TODO: add the vendor's own (a conflict, an exhausted rate budget) to the union.
 */
export type SimulatorFault = CommonFault;

export interface SimRecord {
  id: string;
  key: string;
  title: string;
  description: string | null;
  status: string;
  priority: string | null;
  correlation_id: string | null;
  resolution_notes: string | null;
  requester: { name: string; email: string | null } | null;
  created_at: string;
  updated_at: string;
  updated_by: string;
  version: number;
}

export interface SimComment {
  id: string;
  record_id: string;
  body: string;
  public: boolean;
  author: string;
  created_at: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface TemplateSimulator {
  app: Hono;
  state: { records: Map<string, SimRecord>; comments: SimComment[] };
  /** Push faults here; each is removed once used `times` times. */
  faults: SimulatorFault[];
  requests: RecordedRequest[];
  webhooks: { delivered: { recordId: string; status: number | null }[]; dropped: string[] };
  integrationUser: SimulatorCredentials;
  setWebhook(webhook: SimulatorWebhookOptions | undefined): void;
  /** A person working at the vendor (not the integration user). */
  simulateAgentCreate(fields: AgentFields): SimRecord;
  simulateAgentUpdate(id: string, fields: AgentFields): SimRecord;
  simulateAgentComment(id: string, comment: { body: string; public: boolean }): SimComment;
  /** Resolves when every webhook delivery started so far has finished. */
  settled(): Promise<void>;
}

export const agentUser = "agent.smith";
const statuses = ["new", "open", "pending", "on-hold", "solved", "closed", "cancelled"] as const;
const priorities = ["critical", "high", "medium", "low", "planning"] as const;

/** Fields a write may set; the rest are the system's. */
type RecordFields = Partial<
  Pick<SimRecord, "title" | "description" | "status" | "priority" | "correlation_id" | "resolution_notes">
>;
type AgentFields = Partial<Pick<SimRecord, "title" | "description" | "status" | "priority">>;

const RecordWrite = z.strictObject({
  title: z.string().min(1).max(255).optional(),
  description: z.string().optional(),
  status: z.enum(statuses).optional(),
  priority: z.enum(priorities).optional(),
  correlation_id: z.string().min(1).optional(),
  resolution_notes: z.string().optional(),
});
const CommentWrite = z.strictObject({ body: z.string().min(1), public: z.boolean() });
const listQueries = [
  ["correlation_id", "sort", "limit"],
  ["updated_since", "sort", "limit"],
  ["sort", "limit"],
  ["updated_at", "after_id", "sort", "limit"],
  ["updated_after", "sort", "limit"],
];

export function createTemplateSimulator(options: TemplateSimulatorOptions = {}): TemplateSimulator {
  const integrationUser = options.integrationUser ?? {
    username: "svc.ticketsync",
    password: "simulator-password",
  };
  const now = options.now ?? (() => new Date());
  const state: TemplateSimulator["state"] = { records: new Map(), comments: [] };
  const kit = createSimulatorKit<SimulatorFault, RecordedRequest, SimulatorWebhookOptions>(options);
  const webhooks: TemplateSimulator["webhooks"] = { delivered: [], dropped: [] };
  let nextKey = 1001;

  // The vendor stores whole seconds, like most; same-second updates are what the cursor tie-break is for.
  const stamp = () =>
    now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");

  function emitWebhook(record: SimRecord, event: "created" | "updated", user: string): void {
    // Read now, not when built: the target is set once the gateway's connection exists.
    const webhook = kit.webhookTarget();
    if (webhook === undefined) return;
    if (user === integrationUser.username && webhook.includeIntegrationUser !== true) return;
    if (kit.dropWebhook()) {
      webhooks.dropped.push(record.id);
      return;
    }
    const body = JSON.stringify({
      record_id: record.id,
      event_id: `${record.id}:${record.version}`,
      event,
      updated_at: record.updated_at,
    });
    kit.deliver(
      webhook.url,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${webhook.secret}` },
        body,
      },
      ({ status }) => webhooks.delivered.push({ recordId: record.id, status }),
    );
  }

  function save(existing: SimRecord | null, fields: RecordFields, user: string): SimRecord {
    const at = stamp();
    const record: SimRecord = existing ?? {
      id: randomBytes(8).toString("hex"),
      key: `REC-${nextKey++}`,
      title: "",
      description: null,
      status: "new",
      priority: "medium",
      correlation_id: null,
      resolution_notes: null,
      requester: null,
      created_at: at,
      updated_at: at,
      updated_by: user,
      version: 0,
    };
    Object.assign(record, fields, { updated_at: at, updated_by: user, version: record.version + 1 });
    state.records.set(record.id, record);
    emitWebhook(record, existing === null ? "created" : "updated", user);
    return record;
  }

  function addComment(record: SimRecord, input: z.infer<typeof CommentWrite>, user: string): SimComment {
    const comment: SimComment = {
      id: randomBytes(8).toString("hex"),
      record_id: record.id,
      ...input,
      author: user,
      created_at: stamp(),
    };
    state.comments.push(comment);
    save(record, {}, user);
    return comment;
  }

  const ref = (record: SimRecord) => ({ id: record.id, key: record.key, updated_at: record.updated_at });
  const notFound = (c: Context) => c.json({ error: { code: "not_found", message: "No such record" } }, 404);
  const invalid = (c: Context, message: string) => c.json({ error: { code: "invalid", message } }, 400);
  const byUpdate = (a: SimRecord, b: SimRecord) =>
    a.updated_at.localeCompare(b.updated_at) || a.id.localeCompare(b.id);

  const app = new Hono();

  app.use("/api/*", async (c, next) => {
    if (!isBasic(c.req.header("authorization"), integrationUser.username, integrationUser.password)) {
      return c.json({ error: { code: "unauthorized", message: "Bad credentials" } }, 401);
    }
    const body = ["POST", "PATCH"].includes(c.req.method)
      ? await c.req.raw
          .clone()
          .json()
          .catch(() => undefined)
      : undefined;
    kit.record({ method: c.req.method, path: c.req.path, query: c.req.query(), body });
    const fault = kit.takeRequestFault(c.req.method, c.req.path);
    if (fault?.kind === "status") {
      if (fault.retryAfterSeconds !== undefined) c.header("Retry-After", String(fault.retryAfterSeconds));
      return c.json({ error: { code: "unavailable", message: `simulated ${fault.status}` } }, fault.status);
    }
    await next();
    if (fault?.kind === "timeout") await sleep(fault.delayMs);
  });

  app.get("/api/v1/me", (c) =>
    c.json({ user: { id: integrationUser.username, name: "Ticket Sync Integration" } }),
  );

  app.get("/api/v1/records", (c) => {
    const query = c.req.query();
    const keys = Object.keys(query).sort();
    if (
      !listQueries.some(
        (allowed) => allowed.length === keys.length && [...allowed].sort().every((k, i) => k === keys[i]),
      )
    ) {
      return invalid(c, `unsupported filter combination: ${keys.join(",")}`);
    }
    const limit = Number(query["limit"] ?? "100");
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return invalid(c, "limit must be 1-1000");
    const records = [...state.records.values()];
    if (query["correlation_id"] !== undefined) {
      const matches = records
        .filter((record) => record.correlation_id === query["correlation_id"])
        .sort((a, b) => a.created_at.localeCompare(b.created_at));
      return c.json({ records: matches.slice(0, limit).map(ref) });
    }
    const instant = (name: string) =>
      query[name] === undefined ? null : new Date(query[name]!).toISOString().replace(/\.000Z$/, "Z");
    const since = instant("updated_since");
    const at = instant("updated_at");
    const after = instant("updated_after");
    const afterId = query["after_id"];
    const changed = records
      .filter(
        (record) =>
          (since === null || record.updated_at >= since) &&
          (at === null || (record.updated_at === at && afterId !== undefined && record.id > afterId)) &&
          (after === null || record.updated_at > after),
      )
      .sort(byUpdate);
    return c.json({
      records: changed.slice(0, limit).map((record) => ({ id: record.id, updated_at: record.updated_at })),
    });
  });

  app.post("/api/v1/records", async (c) => {
    const parsed = RecordWrite.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success || parsed.data.title === undefined)
      return invalid(c, parsed.error?.message ?? "title is required");
    return c.json({ record: ref(save(null, parsed.data, integrationUser.username)) }, 201);
  });

  app.get("/api/v1/records/:id", (c) => {
    const record = state.records.get(c.req.param("id"));
    if (record === undefined) return notFound(c);
    const { resolution_notes: _notes, ...rendered } = record;
    return c.json({ record: rendered });
  });

  app.patch("/api/v1/records/:id", async (c) => {
    const record = state.records.get(c.req.param("id"));
    if (record === undefined) return notFound(c);
    const parsed = RecordWrite.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return invalid(c, parsed.error.message);
    return c.json({ record: ref(save(record, parsed.data, integrationUser.username)) });
  });

  app.get("/api/v1/records/:id/comments", (c) => {
    const id = c.req.param("id");
    if (!state.records.has(id)) return notFound(c);
    const since = c.req.query("created_since");
    const sinceAt = since === undefined ? null : new Date(since).toISOString().replace(/\.000Z$/, "Z");
    const comments = state.comments.filter(
      (comment) => comment.record_id === id && (sinceAt === null || comment.created_at >= sinceAt),
    );
    return c.json({ comments: comments.map(({ record_id: _recordId, ...comment }) => comment) });
  });

  app.post("/api/v1/records/:id/comments", async (c) => {
    const record = state.records.get(c.req.param("id"));
    if (record === undefined) return notFound(c);
    const parsed = CommentWrite.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return invalid(c, parsed.error.message);
    const { record_id: _recordId, ...comment } = addComment(record, parsed.data, integrationUser.username);
    return c.json({ comment }, 201);
  });

  const recordOf = (id: string) => {
    const record = state.records.get(id);
    if (record === undefined) throw new Error(`no simulated record ${id}`);
    return record;
  };

  return {
    app,
    state,
    faults: kit.faults,
    requests: kit.exchanges,
    webhooks,
    integrationUser,
    setWebhook: kit.setWebhookTarget,
    simulateAgentCreate: (fields) => save(null, { title: "Untitled", ...fields }, agentUser),
    simulateAgentUpdate: (id, fields) => save(recordOf(id), fields, agentUser),
    simulateAgentComment: (id, comment) => addComment(recordOf(id), comment, agentUser),
    settled: kit.settled,
  };
}
