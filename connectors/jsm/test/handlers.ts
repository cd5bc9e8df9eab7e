import { HttpResponse, http } from "msw";
import { fixture, linkedCanonicalId, siteUrl } from "./fixtures/index.js";

export { siteUrl };
export const api = `${siteUrl}/rest/api/3`;
export const serviceDeskApi = `${siteUrl}/rest/servicedeskapi`;

/** A request as a handler saw it, for assertions on what the client sent. */
export interface SeenRequest {
  method: string;
  url: URL;
  body: unknown;
  headers: Headers;
}

export async function see(seen: SeenRequest[], request: Request): Promise<void> {
  const type = request.headers.get("content-type") ?? "";
  const body =
    request.method === "GET"
      ? undefined
      : type.startsWith("application/json")
        ? await request
            .clone()
            .json()
            .catch(() => undefined)
        : await request.clone().text();
  seen.push({ method: request.method, url: new URL(request.url), body, headers: request.headers });
}

/** Jira's platform error body. */
export function jiraError(status: number, errorMessages: string[], errors: Record<string, string> = {}) {
  return HttpResponse.json({ errorMessages, errors }, { status });
}

/** A search hit as `POST /search/jql` returns it with `fields: [correlation, updated, status]`. */
export function searchHit(
  id: string,
  key: string,
  correlation: string | null,
  updated = "2024-05-01T12:30:05.123+1000",
) {
  const issue = fixture<{ fields: { status: unknown } }>("issue-get-help-1");
  return {
    id,
    key,
    self: `${api}/issue/${id}`,
    fields: { customfield_10050: correlation, updated, status: issue.fields.status },
  };
}

/** The issue ref the client reads after writes (`fields=updated,status`). */
export function issueRef(id: string, key = "HELP-1", statusName?: string) {
  const issue = fixture<{ fields: { updated: string; status: { name: string } } }>("issue-get-help-1");
  const status =
    statusName === undefined ? issue.fields.status : { ...issue.fields.status, name: statusName };
  return { id, key, self: `${api}/issue/${id}`, fields: { updated: issue.fields.updated, status } };
}

/**
 * Platform and servicedesk handlers answering from the fixtures; every request is pushed to `seen`.
 * The JQL search knows one correlated issue, HELP-1 carrying {@link linkedCanonicalId}.
 */
export function jsmHandlers(seen: SeenRequest[]) {
  return [
    http.get(`${api}/myself`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("myself"));
    }),
    http.get(`${api}/field`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("fields"));
    }),
    http.get(
      `${serviceDeskApi}/servicedesk/:serviceDeskId/requesttype/:requestTypeId`,
      async ({ request }) => {
        await see(seen, request);
        return HttpResponse.json({ id: "10", name: "Get IT help", serviceDeskId: "1" });
      },
    ),
    http.post(`${api}/search/jql`, async ({ request }) => {
      await see(seen, request);
      const { jql } = (await request.json()) as { jql: string };
      if (jql.includes(`"\\"${linkedCanonicalId}\\""`)) {
        return HttpResponse.json({ issues: [searchHit("10001", "HELP-1", linkedCanonicalId)], isLast: true });
      }
      return HttpResponse.json({ issues: [], isLast: true });
    }),
    http.post(`${serviceDeskApi}/request`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("request-create-response"), { status: 201 });
    }),
    http.post(`${api}/issue`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("issue-create-response"), { status: 201 });
    }),
    http.get(`${api}/issue/:issueIdOrKey`, async ({ request, params }) => {
      await see(seen, request);
      const fields = new URL(request.url).searchParams.get("fields") ?? "";
      if (fields === "updated,status") return HttpResponse.json(issueRef(String(params["issueIdOrKey"])));
      if (fields === "attachment") {
        return HttpResponse.json({ id: params["issueIdOrKey"], key: "HELP-1", fields: { attachment: [] } });
      }
      return HttpResponse.json(fixture("issue-get-help-1"));
    }),
    http.put(`${api}/issue/:issueIdOrKey`, async ({ request }) => {
      await see(seen, request);
      return new HttpResponse(null, { status: 204 });
    }),
    http.get(`${api}/issue/:issueIdOrKey/transitions`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("transitions-waiting-for-customer"));
    }),
    http.post(`${api}/issue/:issueIdOrKey/transitions`, async ({ request }) => {
      await see(seen, request);
      return new HttpResponse(null, { status: 204 });
    }),
    http.get(`${api}/issue/:issueIdOrKey/comment`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("comments-help-1"));
    }),
    http.post(`${serviceDeskApi}/request/:issueIdOrKey/comment`, async ({ request }) => {
      await see(seen, request);
      const sent = (await request.json()) as { body: string; public: boolean };
      return HttpResponse.json(
        { ...fixture<Record<string, unknown>>("request-comment-create-response"), ...sent },
        { status: 201 },
      );
    }),
  ];
}
