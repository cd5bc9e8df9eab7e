import { HttpResponse, http } from "msw";
import { fixture, fixtureRecord, getFixtureSysId, linkedCanonicalId } from "./fixtures/index.js";

export const instanceUrl = "https://acme.service-now.com";
export const incidentTableUrl = `${instanceUrl}/api/now/table/incident`;
export const journalTableUrl = `${instanceUrl}/api/now/table/sys_journal_field`;
export const userTableUrl = `${instanceUrl}/api/now/table/sys_user`;

/** A request as a handler saw it, for assertions on what the client sent. */
export interface SeenRequest {
  method: string;
  url: URL;
  query: string;
  body: unknown;
  authorization: string | null;
}

/** The Table API error envelope. */
export function serviceNowError(status: number, message: string, detail: string | null = null) {
  return HttpResponse.json({ error: { message, detail }, status: "failure" }, { status });
}

export async function see(seen: SeenRequest[], request: Request): Promise<void> {
  const body =
    request.method === "GET"
      ? undefined
      : await request
          .clone()
          .json()
          .catch(() => undefined);
  const url = new URL(request.url);
  seen.push({
    method: request.method,
    url,
    query: url.searchParams.get("sysparm_query") ?? "",
    body,
    authorization: request.headers.get("authorization"),
  });
}

/** Table API handlers answering from the recorded fixtures; every request is pushed to `seen`. */
export function serviceNowHandlers(seen: SeenRequest[]) {
  return [
    http.get(incidentTableUrl, async ({ request }) => {
      await see(seen, request);
      const query = new URL(request.url).searchParams.get("sysparm_query") ?? "";
      if (query.startsWith(`correlation_id=${linkedCanonicalId}^`)) {
        return HttpResponse.json(fixture("incident-list-by-correlation-response"));
      }
      return HttpResponse.json(fixture("incident-list-empty-response"));
    }),
    http.get(`${incidentTableUrl}/:sysId`, async ({ request, params }) => {
      await see(seen, request);
      if (params["sysId"] !== getFixtureSysId) {
        return serviceNowError(
          404,
          "No Record found",
          "Record doesn't exist or ACL restricts the record retrieval",
        );
      }
      return HttpResponse.json(fixture("incident-get-response"));
    }),
    http.post(incidentTableUrl, async ({ request }) => {
      await see(seen, request);
      const body = (await request.json()) as Record<string, unknown>;
      return HttpResponse.json({ result: fixtureRecord("incident-create-response", body) }, { status: 201 });
    }),
    http.patch(`${incidentTableUrl}/:sysId`, async ({ request, params }) => {
      await see(seen, request);
      const {
        comments: _comments,
        work_notes: _workNotes,
        ...fields
      } = (await request.json()) as Record<string, unknown>;
      return HttpResponse.json({
        result: fixtureRecord("incident-patch-response", { ...fields, sys_id: params["sysId"] }),
      });
    }),
    http.get(journalTableUrl, async ({ request }) => {
      await see(seen, request);
      const query = new URL(request.url).searchParams.get("sysparm_query") ?? "";
      const entries = (fixture("journal-list-response")["result"] as Record<string, string>[]).filter(
        (entry) => query.includes(`element_id=${entry["element_id"]}`),
      );
      return HttpResponse.json({ result: entries });
    }),
    http.get(`${userTableUrl}/:sysId`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("sys-user-get-response"));
    }),
  ];
}
