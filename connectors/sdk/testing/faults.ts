/**
 * Building blocks for simulators and their conformance adapters: the fault every simulator's queue takes for
 * "fail the next calls with this status", and a permanent rejection of the next writes with the vendor's own
 * error body.
 */

/** The status fault of a simulator's fault queue; a 429 carries `Retry-After: 1`. */
export function statusFault(status: 429 | 500 | 502 | 503 | 504, times: number) {
  return { kind: "status" as const, status, times, ...(status === 429 ? { retryAfterSeconds: 1 } : {}) };
}

/**
 * Makes the next `times` requests matching `isWrite` answer `status` with the JSON `body`, as a vendor refusing
 * the write for good (a validator, a business rule). Wraps `app.fetch` in place.
 */
export function rejectNextRequests(
  app: { fetch(request: Request, ...rest: never[]): Response | Promise<Response> },
  times: number,
  isWrite: (request: Request) => boolean,
  rejection: { status: number; body: unknown },
): void {
  let left = times;
  const original = app.fetch.bind(app);
  app.fetch = ((request: Request, ...rest: never[]) => {
    if (left > 0 && isWrite(request)) {
      left--;
      return Response.json(rejection.body, { status: rejection.status });
    }
    return original(request, ...rest);
  }) as typeof app.fetch;
}
