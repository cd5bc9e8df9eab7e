import { createHash } from "node:crypto";
import {
  type CarrierClient,
  type ClientDeps,
  createHttpClient,
  defaultRetryPolicy,
  defaultTimeoutMs,
  type ExternalRef,
  findOwnWrite,
  HttpError,
  PermanentHttpError,
  TransientHttpError,
} from "../sdk/index.js";
import {
  EventSubscription,
  type EventSubscriptionInput,
  NoContent,
  type Note,
  TroubleTicket,
  type TroubleTicketFind,
  TroubleTicketFindList,
  type TroubleTicketNoteUpdate,
  troubleTicketEventTypes,
} from "./api-types.js";
import type { MefSonataSettings } from "./config.js";
import {
  buyerNote,
  isoUtc,
  schemesFor,
  terminalStatuses,
  toCarrierTicket,
  toTroubleTicketCreate,
  updatedAtOf,
} from "./mapping.js";

// Every call below is an operation of MEF 124 v4 Trouble Ticket Management
// (troubleTicketManagement.api.yaml, MEF-GIT/MEF-LSO-Sonata-SDK); the comment above each names
// its operationId and the Developer Guide section.

/** Attempts of one note write when the seller changes the note list under us (422/409). */
const maxNoteWriteRounds = 3;
/** Tickets re-read in parallel by the polling fallback. */
const pollConcurrency = 4;
/** The listTroubleTicket filter value used to prove access without reading real tickets. */
const connectionTestExternalId = "ticket-sync-gateway-connection-test";
/** Subscribe to ticket events only; incidents are not delegations (§6.9, R58: `eventType` query). */
const hubQuery = `eventType=${troubleTicketEventTypes.join(",")}`;

/** Position of {@link CarrierClient.listChanged}: a fingerprint of each open ticket as last read. */
interface PollCursor {
  v: 1;
  seen: Record<string, string>;
}

function parsePollCursor(cursor: string | null): PollCursor {
  if (cursor === null || cursor === "") return { v: 1, seen: {} };
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "v" in parsed &&
      parsed.v === 1 &&
      "seen" in parsed &&
      typeof parsed.seen === "object" &&
      parsed.seen !== null
    ) {
      return { v: 1, seen: parsed.seen as Record<string, string> };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new RangeError(`not a MEF Sonata poll cursor: ${cursor}`);
}

function formatPollCursor(seen: Record<string, string>): string {
  return Buffer.from(JSON.stringify({ v: 1, seen } satisfies PollCursor), "utf8").toString("base64url");
}

/** JSON with sorted keys, so a fingerprint does not change when a seller reorders properties. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableJson(entry)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function fingerprint(ticket: TroubleTicket): string {
  return createHash("sha256").update(stableJson(ticket)).digest("base64url").slice(0, 16);
}

/** Whether `after` holds the closure-rejection note the seller adds for our reopen (R46), newer than the last resolution. */
function carriesReopenReason(ticket: TroubleTicket, reason: string): boolean {
  const lastResolvedAt =
    (ticket.statusChange ?? [])
      .filter((change) => change.status === "resolved")
      .map((change) => isoUtc(change.changeDate) ?? "")
      .sort()
      .at(-1) ?? "";
  return (ticket.note ?? []).some(
    (note) =>
      note.author === "closureRejection" &&
      note.text.trim() === reason.trim() &&
      (isoUtc(note.date) ?? "") >= lastResolvedAt,
  );
}

function sameNoteIds(left: readonly Note[] | undefined, right: readonly Note[] | undefined): boolean {
  const ids = (notes: readonly Note[] | undefined) => (notes ?? []).map((note) => note.id).join("\u0000");
  return ids(left) === ids(right);
}

/** Creates the Trouble Ticket Management client of one MEF Sonata seller connection. */
export function createMefSonataClient(
  settings: MefSonataSettings,
  deps: Omit<ClientDeps<unknown>, "mapping">,
): CarrierClient {
  const http = createHttpClient({
    baseUrl: settings.baseUrl,
    auth: settings.auth,
    fetch: deps.fetch,
    timeoutMs: deps.timeoutMs ?? defaultTimeoutMs,
    retry: deps.retry ?? defaultRetryPolicy,
    now: deps.now,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const now = deps.now ?? (() => new Date());
  const schemes = schemesFor(settings);
  // R3-R7: only present when configured; `undefined` values are left out of the query.
  const party = { buyerId: settings.buyerId, sellerId: settings.sellerId };
  const ticketPath = (id: string) => `/troubleTicket/${encodeURIComponent(id)}`;

  const toRef = (ticket: TroubleTicket, action: ExternalRef["action"]): ExternalRef => ({
    externalId: ticket.id,
    // The seller's id is also what its NOC quotes; MEF has no separate human key or UI link.
    externalKey: null,
    url: null,
    updatedAt: updatedAtOf(ticket) ?? now().toISOString(),
    action,
  });

  async function findByExternalId(delegationId: string): Promise<TroubleTicketFind | null> {
    // listTroubleTicket - GET /troubleTicket?externalId= (§6.2, O6)
    const response = await http.request({
      method: "GET",
      path: "/troubleTicket",
      query: { ...party, externalId: delegationId },
      schema: TroubleTicketFindList,
    });
    // A seller may match the filter loosely; only an exact externalId is ours. Oldest first wins.
    const matches = response.data
      .filter((ticket) => ticket.externalId === delegationId)
      .sort((a, b) => (isoUtc(a.creationDate) ?? "").localeCompare(isoUtc(b.creationDate) ?? ""));
    return matches[0] ?? null;
  }

  async function readTicket(externalId: string): Promise<TroubleTicket> {
    // retrieveTroubleTicket - GET /troubleTicket/{id} (§6.3)
    const response = await http.request({
      method: "GET",
      path: ticketPath(externalId),
      query: party,
      schema: TroubleTicket,
    });
    return response.data;
  }

  async function patchNotes(externalId: string, body: TroubleTicketNoteUpdate): Promise<void> {
    // patchTroubleTicket - PATCH /troubleTicket/{id} (§6.4): JSON merge patch, so `note` replaces
    // the whole list; R29/R32 make it append-only, existing items resent unchanged.
    await http.request({
      method: "PATCH",
      path: ticketPath(externalId),
      query: party,
      body,
      schema: TroubleTicket,
      // The same list with the same new note id leaves the same ticket, so a replay is harmless.
      idempotent: true,
    });
  }

  /**
   * Adds a buyer note unless one with `id` is there (or `alreadyWritten` finds it). Reads first because the PATCH must carry
   * every existing note; a seller note added in between makes a strict seller refuse (422), so the
   * list is read again and the write repeated.
   */
  async function appendNote(
    externalId: string,
    note: { id: string; text: string; author: string },
    alreadyWritten: (existing: readonly Note[]) => boolean = () => false,
  ): Promise<void> {
    for (let round = 1; ; round++) {
      const ticket = await readTicket(externalId);
      const existing = ticket.note ?? [];
      if (existing.some((candidate) => candidate.id === note.id) || alreadyWritten(existing)) return;
      try {
        await patchNotes(externalId, { note: [...existing, buyerNote({ ...note, date: now() })] });
        return;
      } catch (error) {
        const refused = error instanceof PermanentHttpError && (error.status === 409 || error.status === 422);
        if (refused && round < maxNoteWriteRounds) {
          const again = await readTicket(externalId);
          if (!sameNoteIds(again.note, existing)) continue;
        }
        throw error;
      }
    }
  }

  /**
   * Runs a ticket operation (cancel, close, reopen: POST, 204). They are not idempotent at the
   * seller, which answers 422 when the ticket is no longer in a state that allows them, so the
   * ticket is read before and, after a 422 or an ambiguous failure, again: if it already shows
   * the outcome, an earlier attempt of ours got through.
   */
  async function runTicketOperation(
    externalId: string,
    operation: "cancel" | "close" | "reopen",
    body: { reason: string } | undefined,
    isDone: (ticket: TroubleTicket) => boolean,
    before?: TroubleTicket,
  ): Promise<void> {
    if (isDone(before ?? (await readTicket(externalId)))) return;
    try {
      await http.request({
        method: "POST",
        path: `${ticketPath(externalId)}/${operation}`,
        query: party,
        body,
        schema: NoContent,
        // Not replayed blindly after an ambiguous failure: the read below tells whether it landed.
      });
    } catch (error) {
      const ambiguous = error instanceof TransientHttpError && error.maybeProcessed;
      const refused = error instanceof PermanentHttpError && error.status === 422;
      if (ambiguous || refused) {
        const after = await readTicket(externalId).catch(() => null);
        if (after !== null && isDone(after)) return;
      }
      throw error;
    }
  }

  return {
    async openTicket(input) {
      // Built first: a delegation MEF cannot take fails before any request.
      const body = toTroubleTicketCreate(input, settings, schemes, now());
      const existing = await findByExternalId(input.delegationId);
      if (existing !== null) return toRef(await readTicket(existing.id), "linked");
      try {
        // createTroubleTicket - POST /troubleTicket (§6.1; R9 required attributes, R13 answers acknowledged)
        const response = await http.request({
          method: "POST",
          path: "/troubleTicket",
          query: party,
          body,
          schema: TroubleTicket,
        });
        return toRef(response.data, "created");
      } catch (error) {
        // The POST may have landed before the connection failed; if so, link what it created.
        if (error instanceof TransientHttpError && error.maybeProcessed) {
          const landed = await findByExternalId(input.delegationId).catch(() => null);
          if (landed !== null) return toRef(await readTicket(landed.id), "linked");
        }
        throw error;
      }
    },

    async getTicket(externalId) {
      return toCarrierTicket(await readTicket(externalId));
    },

    async addNote(externalId, note, opts) {
      await appendNote(
        externalId,
        { id: note.canonicalId, text: note.text, author: note.author },
        // Our id is the primary check; on a retry, the same text from us since the first try also counts.
        (existing) =>
          opts.attempt > 1 &&
          findOwnWrite(existing, {
            text: note.text,
            textOf: (candidate) => candidate.text,
            // Buyer notes are ours (`source`); MEF names no author to compare.
            identity: null,
            authorOf: () => null,
            since: opts.since,
            createdAtMs: (candidate) => Date.parse(isoUtc(candidate.date) ?? ""),
            // A buyer note of ours always carries its date.
            also: (candidate) => candidate.source === "buyer" && isoUtc(candidate.date) !== null,
          }) !== null,
      );
    },

    async cancel(externalId, reason) {
      const cancelling = (ticket: TroubleTicket) =>
        ticket.status === "assessingCancellation" || ticket.status === "cancelled";
      const before = await readTicket(externalId);
      if (cancelling(before)) return;
      // cancelTroubleTicket takes no body, so a reason travels as a note first (PATCH is refused
      // once the ticket is assessingCancellation, R35). The id is fixed: a ticket is cancelled once.
      const withReason = reason !== null && reason.trim() !== "";
      if (withReason) {
        await appendNote(externalId, {
          id: `${externalId}-cancellation`,
          text: reason,
          author: "cancellation",
        });
      }
      // cancelTroubleTicket - POST /troubleTicket/{id}/cancel (§6.5; R38 -> assessingCancellation, R40 422)
      await runTicketOperation(externalId, "cancel", undefined, cancelling, withReason ? undefined : before);
    },

    async close(externalId) {
      // closeTroubleTicket - POST /troubleTicket/{id}/close (§6.6; R42, R47 -> closed)
      await runTicketOperation(externalId, "close", undefined, (ticket) => ticket.status === "closed");
    },

    async reopen(externalId, reason) {
      const text = reason === null || reason.trim() === "" ? settings.defaultReopenReason : reason;
      // reopenTroubleTicket - POST /troubleTicket/{id}/reopen {reason} (§6.6; R43 reason required,
      // R45 -> reopened, R46 the seller keeps the reason as a buyer note by "closureRejection")
      await runTicketOperation(
        externalId,
        "reopen",
        { reason: text },
        (ticket) =>
          ticket.status === "reopened" ||
          (ticket.status !== "resolved" &&
            !terminalStatuses.has(ticket.status) &&
            carriesReopenReason(ticket, text)),
      );
    },

    async listChanged(cursor, openTicketIds) {
      // There is no changed-since filter (listTroubleTicket has no lastUpdate), so the open
      // tickets are re-read and compared with what the previous poll saw.
      const previous = parsePollCursor(cursor).seen;
      const seen: Record<string, string> = {};
      const changed: string[] = [];
      const ids = [...new Set(openTicketIds)];
      for (let start = 0; start < ids.length; start += pollConcurrency) {
        const batch = ids.slice(start, start + pollConcurrency);
        const results = await Promise.allSettled(batch.map((id) => readTicket(id)));
        results.forEach((result, index) => {
          const id = batch[index]!;
          if (result.status === "fulfilled") {
            seen[id] = fingerprint(result.value);
            if (previous[id] !== seen[id]) changed.push(id);
            return;
          }
          const error: unknown = result.reason;
          // A vanished or unreachable ticket is handed to the engine, whose own read reports it.
          if (error instanceof HttpError && (error.retryable || error.status === 404)) changed.push(id);
          else throw error;
        });
      }
      return { externalIds: changed, nextCursor: formatPollCursor(seen) };
    },

    async registerListener(callbackUrl) {
      const body: EventSubscriptionInput = { callback: callbackUrl.replace(/\/+$/, ""), query: hubQuery };
      // registerListener - POST /hub (§6.9). Not repeatable safely: there is no hub list to find a
      // subscription whose answer was lost; a duplicate only doubles notifications, which re-read.
      const response = await http.request({
        method: "POST",
        path: "/hub",
        query: party,
        body,
        schema: EventSubscription,
      });
      return { listenerId: response.data.id };
    },

    async unregisterListener(listenerId) {
      try {
        // unregisterListener - DELETE /hub/{id} (§6.10)
        await http.request({
          method: "DELETE",
          path: `/hub/${encodeURIComponent(listenerId)}`,
          query: party,
          schema: NoContent,
        });
      } catch (error) {
        // Already gone is what we wanted.
        if (error instanceof HttpError && error.status === 404) return;
        throw error;
      }
    },

    async testConnection() {
      try {
        // listTroubleTicket - GET /troubleTicket?externalId=<no such ticket>: proves URL, credentials and read access.
        await http.request({
          method: "GET",
          path: "/troubleTicket",
          query: { ...party, externalId: connectionTestExternalId },
          schema: TroubleTicketFindList,
        });
        return { ok: true, detail: "listed trouble tickets at the seller" };
      } catch (error) {
        if (error instanceof HttpError) {
          return {
            ok: false,
            detail: `${error.message}${error.status === 401 || error.status === 403 ? " (check the credentials)" : ""}`,
          };
        }
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
