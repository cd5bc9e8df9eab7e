import { HttpResponse, http } from "msw";
import { fixture, fixtureTicket, fixtureTicketId, fixtureUpdatedAt } from "./fixtures/index.js";

export const accountUrl = "https://acme.zendesk.com";
export const apiUrl = (path: string) => `${accountUrl}/api/v2${path}`;
/** The canonical id the list-by-external_id handler finds on ticket 35436. */
export const linkedCanonicalId = "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P";
/** Id the create handler gives a new ticket. */
export const createdTicketId = 35437;

/** A request as a handler saw it, for assertions on what the client sent. */
export interface SeenRequest {
  method: string;
  url: URL;
  body: unknown;
  contentType: string | null;
  authorization: string | null;
}

/** Zendesk's error envelope. */
export function zendeskError(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return HttpResponse.json(body, { status, headers });
}

export const closedRefusal = {
  error: "RecordInvalid",
  description: "Record validation errors",
  details: { status: [{ description: "Status: closed prevents ticket update" }] },
};

export const updateConflict = {
  error: "UpdateConflict",
  description:
    "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
};

export async function see(seen: SeenRequest[], request: Request): Promise<void> {
  const contentType = request.headers.get("content-type");
  const body =
    request.method === "GET" || !(contentType ?? "").includes("json")
      ? undefined
      : await request
          .clone()
          .json()
          .catch(() => undefined);
  seen.push({
    method: request.method,
    url: new URL(request.url),
    body,
    contentType,
    authorization: request.headers.get("authorization"),
  });
}

/** `{ticket, audit}` as `PUT /api/v2/tickets/{id}` answers; a comment in the request becomes a Comment event. */
export function updateResponse(
  requestBody: unknown,
  ticket: Record<string, unknown> = {},
  commentId = 206091192547,
) {
  const input = (requestBody as { ticket?: Record<string, unknown> } | undefined)?.ticket ?? {};
  const { comment, safe_update: _safe, updated_stamp: _stamp, ...fields } = input;
  const base = fixture("ticket-update-response") as { ticket: Record<string, unknown> };
  return {
    ticket: {
      ...base.ticket,
      created_at: "2009-07-20T22:55:29Z",
      updated_at: "2011-05-05T10:40:00Z",
      ...fields,
      ...ticket,
    },
    audit: {
      id: 206091192545,
      author_id: 235323,
      created_at: "2011-05-05T10:40:00Z",
      events:
        comment === undefined
          ? [{ id: 206091192548, type: "Change", field_name: "status", value: "open" }]
          : [{ id: commentId, type: "Comment", body: (comment as { body?: string }).body ?? "" }],
    },
  };
}

/** Support API handlers answering from the spec's examples; every request is pushed to `seen`. */
export function zendeskHandlers(seen: SeenRequest[]) {
  return [
    http.get(apiUrl("/tickets"), async ({ request }) => {
      await see(seen, request);
      const externalId = new URL(request.url).searchParams.get("external_id");
      const tickets =
        externalId === linkedCanonicalId ? [fixtureTicket({ external_id: linkedCanonicalId })] : [];
      return HttpResponse.json({ tickets, next_page: null, previous_page: null, count: tickets.length });
    }),
    http.get(apiUrl("/tickets/:ticketId"), async ({ request, params }) => {
      await see(seen, request);
      if (Number(params["ticketId"]) !== fixtureTicketId) {
        return zendeskError(404, { error: "RecordNotFound", description: "Not found" });
      }
      return HttpResponse.json(fixture("ticket-response"));
    }),
    http.post(apiUrl("/tickets"), async ({ request }) => {
      await see(seen, request);
      const { ticket } = (await request.json()) as { ticket: Record<string, unknown> };
      const { comment: _comment, requester: _requester, via_followup_source_id: _source, ...fields } = ticket;
      return HttpResponse.json(
        {
          ticket: fixtureTicket({
            ...fields,
            id: createdTicketId,
            url: apiUrl(`/tickets/${createdTicketId}.json`),
            created_at: "2024-05-01T10:00:00Z",
            updated_at: "2024-05-01T10:00:00Z",
          }),
        },
        { status: 201, headers: { Location: apiUrl(`/tickets/${createdTicketId}.json`) } },
      );
    }),
    http.put(apiUrl("/tickets/:ticketId"), async ({ request, params }) => {
      await see(seen, request);
      return HttpResponse.json(updateResponse(await request.json(), { id: Number(params["ticketId"]) }));
    }),
    http.get(apiUrl("/tickets/:ticketId/comments"), async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json({
        ...fixture("ticket-comments-response"),
        meta: { has_more: false, after_cursor: null, before_cursor: null },
        links: { prev: null, next: null },
      });
    }),
    http.get(apiUrl("/tickets/:ticketId/audits"), async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("audits-response"));
    }),
    http.get(apiUrl("/users/me"), async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json({
        user: {
          ...(fixture("user-response")["user"] as object),
          id: 235323,
          name: "Ticket Sync",
          role: "admin",
        },
      });
    }),
    http.get(apiUrl("/users/:userId"), async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("user-response"));
    }),
    http.get(apiUrl("/incremental/tickets/cursor"), async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("incremental-tickets-cursor-response"));
    }),
  ];
}

export { fixtureUpdatedAt };
