import { HttpResponse, http } from "msw";
import type { ContractResult } from "../../sdk/contract/index.js";
import type { Tmf621Version } from "../config.js";
import { tmf621Contracts } from "./contract.js";
import { type JsonRecord, ticketFixture } from "./fixtures/index.js";

export const carrierOrigin = "https://carrier.example";
export const baseUrls: Record<Tmf621Version, string> = {
  v4: `${carrierOrigin}/tmf-api/troubleTicket/v4`,
  v5: `${carrierOrigin}/tmf-api/troubleTicket/v5`,
};
/** The delegation id the default list handler finds a ticket for. */
export const linkedDelegationId = "dlg_01JD8X4Q2W3E4R5T6Y7U8I9O0L";
export const linkedTicketId = "3180";

/** A request as a handler saw it, with its check against the official spec of the version. */
export interface SeenRequest {
  method: string;
  url: URL;
  contentType: string | null;
  body: unknown;
  authorization: string | null;
  contract: ContractResult;
}

export async function see(
  seen: SeenRequest[],
  version: Tmf621Version,
  request: Request,
): Promise<SeenRequest> {
  const text = request.method === "GET" || request.method === "DELETE" ? "" : await request.clone().text();
  const body: unknown = text === "" ? undefined : JSON.parse(text);
  const url = new URL(request.url);
  const contentType = request.headers.get("content-type");
  const contract = tmf621Contracts()[version].validateRequest({
    method: request.method,
    path: url.pathname,
    body,
    ...(contentType === null ? {} : { contentType }),
  });
  const entry = {
    method: request.method,
    url,
    contentType,
    body,
    authorization: request.headers.get("authorization"),
    contract,
  };
  seen.push(entry);
  return entry;
}

/** The TMF Error body (v5 needs `@type`). */
export function tmfError(version: Tmf621Version, status: number, reason: string) {
  const body: JsonRecord = { code: String(status), reason };
  return HttpResponse.json(version === "v5" ? { ...body, "@type": "Error" } : body, { status });
}

/** A ticket carrying our delegation id, in the version's shape. */
export function linkedTicket(version: Tmf621Version, delegationId = linkedDelegationId): JsonRecord {
  return version === "v4"
    ? ticketFixture("v4", { externalId: delegationId })
    : ticketFixture("v5", {
        externalIdentifier: [
          {
            id: delegationId,
            owner: "ticket-sync-gateway",
            externalIdentifierType: "Delegation",
            "@type": "ExternalIdentifier",
          },
        ],
      });
}

/** Carrier handlers answering from the fixtures; every request is checked and pushed to `seen`. */
export function carrierHandlers(version: Tmf621Version, seen: SeenRequest[]) {
  const base = baseUrls[version];
  return [
    http.get(`${base}/troubleTicket`, async ({ request }) => {
      await see(seen, version, request);
      const query = new URL(request.url).searchParams;
      const wanted = query.get(version === "v4" ? "externalId" : "externalIdentifier.id");
      return HttpResponse.json(wanted === linkedDelegationId ? [linkedTicket(version)] : []);
    }),
    http.get(`${base}/troubleTicket/:id`, async ({ request, params }) => {
      await see(seen, version, request);
      return HttpResponse.json(ticketFixture(version, { id: params["id"] }));
    }),
    http.post(`${base}/troubleTicket`, async ({ request }) => {
      const { body } = await see(seen, version, request);
      const created = {
        ...(body as JsonRecord),
        id: "4242",
        href: `${base}/troubleTicket/4242`,
        creationDate: "2026-01-05T10:00:00.000Z",
        lastUpdate: "2026-01-05T10:00:00.000Z",
      };
      return HttpResponse.json(created, { status: 201 });
    }),
    http.patch(`${base}/troubleTicket/:id`, async ({ request, params }) => {
      await see(seen, version, request);
      return HttpResponse.json(ticketFixture(version, { id: params["id"] }));
    }),
    http.post(`${base}/hub`, async ({ request }) => {
      const { body } = await see(seen, version, request);
      const hub = { ...(body as JsonRecord), id: "hub-7" };
      return HttpResponse.json(hub, { status: 201 });
    }),
    http.delete(`${base}/hub/:id`, async ({ request }) => {
      await see(seen, version, request);
      return new HttpResponse(null, { status: 204 });
    }),
  ];
}
