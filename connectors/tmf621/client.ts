import { z } from "@hono/zod-openapi";
import {
  type CarrierClient,
  type ClientDeps,
  createHttpClient,
  createOrLink,
  defaultRetryPolicy,
  defaultTimeoutMs,
  type ExternalRef,
  findOwnWrite,
  HttpError,
  type QueryValue,
  TransientHttpError,
} from "../sdk/index.js";
import { TmfHub, type TmfStatus, TmfTroubleTicket, TmfTroubleTicketList } from "./api-types.js";
import type { Tmf621Settings } from "./config.js";
import {
  buildCreateBody,
  buildHubBody,
  buildMergePatch,
  buildNote,
  buildNoteJsonPatch,
  buildStatusPatch,
  carriesExternalId,
  isOwnNote,
  toCarrierTicket,
  toUtcIso,
} from "./mapping.js";

// Every call below is a TMF621 Trouble Ticket API operation, v4.0.0 or v5.0.1 per `settings.version`:
// https://github.com/tmforum-apis/TMF621_TroubleTicket (specs: test/specs/tmf621/).

/** Tickets per page when listing. */
const pageSize = 100;
/** Pages walked when a carrier ignores the filter and the list has to be scanned (10 000 tickets). */
const maxScanPages = 100;
/** Open tickets re-read at once by the polling fallback. */
const rereadConcurrency = 4;
/** Carrier and gateway clocks differ; note read-back and the first poll cursor allow this much. */
const clockSkewMs = 60_000;

/**
 * SDK gap: `createHttpClient` always sends `content-type: application/json`, but TMF PATCHes need
 * `application/merge-patch+json` or `application/json-patch+json`. The request names its content type in
 * this header and the fetch below moves it into `content-type` (the SDK's timeouts, retries and auth stay).
 */
const bodyContentTypeHeader = "x-tmf621-body-content-type";

function withBodyContentType(fetchImpl: typeof fetch | undefined): typeof fetch {
  return (input, init) => {
    // Looked up per call, like the SDK does, so msw and test doubles installed later still apply.
    const target = fetchImpl ?? globalThis.fetch;
    const headers = new Headers(init?.headers);
    const contentType = headers.get(bodyContentTypeHeader);
    if (contentType === null) return target(input, init);
    headers.delete(bodyContentTypeHeader);
    headers.set("content-type", contentType);
    return target(input, { ...init, headers });
  };
}

/** Creates the TMF621 client of one carrier connection. */
export function createTmf621Client(
  settings: Tmf621Settings,
  deps: Omit<ClientDeps<unknown>, "mapping">,
): CarrierClient {
  const http = createHttpClient({
    baseUrl: settings.baseUrl,
    auth: settings.auth,
    fetch: withBodyContentType(deps.fetch),
    timeoutMs: deps.timeoutMs ?? defaultTimeoutMs,
    retry: deps.retry ?? defaultRetryPolicy,
    now: deps.now,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const now = deps.now ?? (() => new Date());
  const { version } = settings;
  // v5 declares merge-patch+json (mandatory) and json-patch+json; v4 declares only application/json.
  const mergeContentType = version === "v5" ? "application/merge-patch+json" : settings.v4PatchContentType;
  const ticketPath = (id: string) => `/troubleTicket/${encodeURIComponent(id)}`;

  const toRef = (record: TmfTroubleTicket, action: ExternalRef["action"]): ExternalRef => ({
    externalId: record.id,
    externalKey: null,
    url: record.href ?? null,
    updatedAt: toUtcIso(record.lastUpdate) ?? toUtcIso(record.creationDate) ?? now().toISOString(),
    action,
  });

  async function readTicket(id: string): Promise<TmfTroubleTicket> {
    // Retrieves a TroubleTicket by ID: GET /troubleTicket/{id}
    const response = await http.request({ method: "GET", path: ticketPath(id), schema: TmfTroubleTicket });
    return response.data;
  }

  /** One page of the list, with the carrier's `X-Total-Count` when it sends one. */
  async function listPage(
    query: Record<string, QueryValue>,
    offset: number,
  ): Promise<{ records: TmfTroubleTicket[]; total: number | null }> {
    // List or find TroubleTicket objects: GET /troubleTicket with TMF630 attribute filters, offset and limit.
    const response = await http.request({
      method: "GET",
      path: "/troubleTicket",
      query: { ...query, offset, limit: pageSize },
      schema: TmfTroubleTicketList,
    });
    const total = Number.parseInt(response.headers.get("x-total-count") ?? "", 10);
    return { records: response.data, total: Number.isNaN(total) ? null : total };
  }

  /**
   * Whether rows follow `offset`. Carriers may cap `limit` below ours, so X-Total-Count decides when sent;
   * without it, only a full page suggests more.
   */
  const morePages = (page: { records: TmfTroubleTicket[]; total: number | null }, offset: number) =>
    page.records.length > 0 && (page.total !== null ? offset < page.total : page.records.length >= pageSize);

  /** Walks the list from `offset` until `visit` says stop or the list ends. */
  async function walk(
    query: Record<string, QueryValue>,
    offset: number,
    visit: (records: TmfTroubleTicket[]) => boolean,
  ): Promise<void> {
    let next = offset;
    for (let pages = 0; pages < maxScanPages; pages++) {
      const page = await listPage(query, next);
      if (visit(page.records)) return;
      next += page.records.length;
      if (!morePages(page, next)) return;
    }
  }

  async function findByDelegationId(delegationId: string): Promise<TmfTroubleTicket | null> {
    // TMF630 attribute filtering: v4 `externalId=`, v5 `externalIdentifier.id=` (dot notation into the array).
    const filter =
      version === "v4" ? { externalId: delegationId } : { "externalIdentifier.id": delegationId };
    const matchIn = (records: TmfTroubleTicket[]) =>
      records.find((record) => carriesExternalId(record, delegationId, version)) ?? null;
    const first = await listPage(filter, 0);
    let found = matchIn(first.records);
    // Rows without our id mean the carrier ignored the filter and sent the start of its whole list: scan on.
    if (found === null && morePages(first, first.records.length)) {
      await walk(filter, first.records.length, (records) => {
        found = matchIn(records);
        return found !== null;
      });
    }
    return found;
  }

  async function patchStatus(id: string, status: TmfStatus, reason: string | null): Promise<void> {
    // Updates partially a TroubleTicket: PATCH /troubleTicket/{id} (merge semantics; a status is set, not added).
    await http.request({
      method: "PATCH",
      path: ticketPath(id),
      headers: { [bodyContentTypeHeader]: mergeContentType },
      body: buildStatusPatch(version, status, reason),
      // Setting the same status twice leaves the same ticket.
      idempotent: true,
      // v5 may answer 202 without a body.
      schema: TmfTroubleTicket.optional(),
    });
  }

  return {
    async openTicket(input) {
      const outcome = await createOrLink(
        () => findByDelegationId(input.delegationId),
        async () => {
          // Creates a TroubleTicket: POST /troubleTicket (v4 TroubleTicket_Create, v5 TroubleTicket_FVO).
          const response = await http.request({
            method: "POST",
            path: "/troubleTicket",
            body: buildCreateBody(input, settings, now()),
            // v5 may answer 202 Accepted without a body and create the ticket later.
            schema: TmfTroubleTicket.optional(),
          });
          return response.data;
        },
      );
      if (outcome.action === "linked") return toRef(outcome.record, "linked");
      if (outcome.record !== undefined) return toRef(outcome.record, "created");
      const accepted = await findByDelegationId(input.delegationId);
      if (accepted !== null) return toRef(accepted, "created");
      throw new TransientHttpError("the carrier accepted the ticket (202) but does not list it yet", {
        method: "POST",
        url: http.url("/troubleTicket"),
        status: 202,
        attempts: 1,
        latencyMs: 0,
        responseBody: null,
        maybeProcessed: true,
        retryAfterMs: 5_000,
      });
    },

    async getTicket(externalId) {
      return toCarrierTicket(await readTicket(externalId), settings);
    },

    async addNote(externalId, note, opts) {
      // Read first in every case: v4 must resend the whole array, and v5's `/note/-` needs the array to exist.
      const record = await readTicket(externalId);
      const existing = record.note ?? null;
      if (opts.attempt > 1) {
        const alreadyThere = findOwnWrite(existing ?? [], {
          text: note.text,
          textOf: (candidate) => candidate.text ?? "",
          // Our notes are told apart by the author tag, not by one identity.
          identity: null,
          authorOf: (candidate) => candidate.author,
          since: opts.since,
          clockSkewMs,
          createdAtMs: (candidate) => Date.parse(candidate.date ?? ""),
          also: (candidate) => isOwnNote(candidate, settings),
        });
        if (alreadyThere !== null) return;
      }
      const newNote = buildNote(version, note, settings, now());
      if (version === "v5" && settings.v5NotePatch === "json-patch") {
        // PATCH /troubleTicket/{id} with application/json-patch+json: `add` never touches existing notes.
        await http.request({
          method: "PATCH",
          path: ticketPath(externalId),
          headers: { [bodyContentTypeHeader]: "application/json-patch+json" },
          body: buildNoteJsonPatch(existing, newNote),
          idempotent: false,
          schema: TmfTroubleTicket.optional(),
        });
        return;
      }
      // PATCH /troubleTicket/{id} with merge semantics: arrays are replaced whole (RFC 7396), so the notes
      // read above go back unchanged with ours appended.
      await http.request({
        method: "PATCH",
        path: ticketPath(externalId),
        headers: { [bodyContentTypeHeader]: mergeContentType },
        body: buildMergePatch(version, { note: [...(existing ?? []), newNote] }),
        // Replaying the same whole array leaves the same notes.
        idempotent: true,
        schema: TmfTroubleTicket.optional(),
      });
    },

    async cancel(externalId, reason) {
      await patchStatus(externalId, "cancelled", reason ?? "Cancelled by the service provider");
    },

    async close(externalId) {
      await patchStatus(externalId, "closed", "Resolution confirmed by the service provider");
    },

    async reopen(externalId, reason) {
      await patchStatus(
        externalId,
        settings.reopenStatus,
        reason ?? "Resolution not accepted by the service provider",
      );
    },

    async listChanged(cursor, openTicketIds) {
      const since = cursor === null ? null : toUtcIso(cursor);
      if (cursor !== null && since === null)
        throw new RangeError(`not a TMF621 lastUpdate cursor: ${cursor}`);
      const changed = new Set<string>();
      let latest = since;
      const consider = (record: TmfTroubleTicket) => {
        const updatedAt = toUtcIso(record.lastUpdate);
        // Inclusive: a change in the cursor's own millisecond is read again rather than lost.
        if (since !== null && updatedAt !== null && updatedAt < since) return;
        changed.add(record.id);
        if (updatedAt !== null && (latest === null || updatedAt > latest)) latest = updatedAt;
      };

      if (settings.supportsLastUpdateFilter && since !== null) {
        // TMF630 filtering on GET /troubleTicket: `lastUpdate.gte=<date-time>`; rows are checked again here
        // in case the carrier ignores the operator.
        await walk({ "lastUpdate.gte": since }, 0, (records) => {
          records.forEach(consider);
          return false;
        });
        return { externalIds: [...changed], nextCursor: latest };
      }

      // Without the filter (or on the first poll) each open ticket is read again.
      const queue = [...openTicketIds];
      const worker = async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          try {
            consider(await readTicket(id));
          } catch (error) {
            // A ticket the carrier no longer has is a change too; the engine's getTicket will see the 404.
            if (error instanceof HttpError && error.status === 404) changed.add(id);
            else throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(rereadConcurrency, queue.length) }, worker));
      // The first poll starts the filtered window now, less the clock skew: everything older was just read.
      const nextCursor =
        settings.supportsLastUpdateFilter && since === null
          ? new Date(now().getTime() - clockSkewMs).toISOString()
          : latest;
      return { externalIds: [...changed], nextCursor };
    },

    async registerListener(callbackUrl) {
      // Register a listener: POST /hub (v4 EventSubscriptionInput, v5 Hub_FVO).
      const response = await http.request({
        method: "POST",
        path: "/hub",
        body: buildHubBody(version, callbackUrl, settings.hubQuery),
        schema: TmfHub,
        idempotent: false,
      });
      const listenerId =
        response.data.id ?? response.headers.get("location")?.split("/").filter(Boolean).at(-1);
      if (listenerId === undefined || listenerId === "") {
        throw new TypeError(
          "the carrier registered the listener but returned no id (neither in the body nor Location)",
        );
      }
      return { listenerId };
    },

    async unregisterListener(listenerId) {
      try {
        // Unregister a listener: DELETE /hub/{id}
        await http.request({
          method: "DELETE",
          path: `/hub/${encodeURIComponent(listenerId)}`,
          schema: z.unknown(),
        });
      } catch (error) {
        // Already gone is what we wanted.
        if (error instanceof HttpError && error.status === 404) return;
        throw error;
      }
    },

    async testConnection() {
      try {
        // GET /troubleTicket?limit=1 proves URL, credentials and read access.
        const response = await http.request({
          method: "GET",
          path: "/troubleTicket",
          query: { limit: 1 },
          schema: TmfTroubleTicketList,
        });
        return {
          ok: true,
          detail: `read the trouble ticket list (TMF621 ${version}, ${response.latencyMs} ms)`,
        };
      } catch (error) {
        if (error instanceof HttpError) {
          return {
            ok: false,
            detail: `${error.message}${error.status === 401 ? " (check the credentials)" : ""}`,
          };
        }
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
