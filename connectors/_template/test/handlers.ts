import { HttpResponse, http } from "msw";
import { fixture, fixtureRecordId } from "./fixtures/index.js";

// msw handlers answering from the recorded fixtures, for test/client.test.ts. Use them with
//   const seen: SeenRequest[] = [];
//   const server = setupServer(...templateHandlers(seen));
//   beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
//   afterEach(() => { server.resetHandlers(); seen.length = 0; });
//   afterAll(() => server.close());
// and override single answers with `server.use(...)` in a test (errors, 429 with Retry-After, timeouts).
// With an official spec, check every request the client sends with connectors/sdk/contract here (see
// connectors/mef-sonata/test/handlers.ts). TODO: the vendor's URLs and fixtures.

export const baseUrl = "https://acme.vendor.example";
export const recordsUrl = `${baseUrl}/api/v1/records`;

/** A request as a handler saw it, for assertions on what the client sent. */
export interface SeenRequest {
  method: string;
  url: URL;
  body: unknown;
  authorization: string | null;
}

/** The vendor's error envelope. */
export function vendorError(status: number, message: string, headers: Record<string, string> = {}) {
  return HttpResponse.json({ error: { code: String(status), message } }, { status, headers });
}

export async function see(seen: SeenRequest[], request: Request): Promise<void> {
  const text = await request.clone().text();
  seen.push({
    method: request.method,
    url: new URL(request.url),
    body: text === "" ? undefined : JSON.parse(text),
    authorization: request.headers.get("authorization"),
  });
}

export function templateHandlers(seen: SeenRequest[]) {
  return [
    http.get(recordsUrl, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json({ records: [] });
    }),
    http.get(`${recordsUrl}/:id`, async ({ request, params }) => {
      await see(seen, request);
      if (params["id"] !== fixtureRecordId) return vendorError(404, "No such record");
      return HttpResponse.json(fixture("record-get-response"));
    }),
    http.get(`${recordsUrl}/:id/comments`, async ({ request }) => {
      await see(seen, request);
      return HttpResponse.json(fixture("comments-list-response"));
    }),
  ];
}
