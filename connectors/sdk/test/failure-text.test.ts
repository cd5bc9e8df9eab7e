import { describe, expect, it } from "vitest";
import { failureText, maxErrorBodyChars, PermanentHttpError, secretValues } from "../index.js";

const httpError = (responseBody: string | null) =>
  new PermanentHttpError("PUT /api/things/1 answered 400", {
    method: "PUT",
    url: "https://vendor.example/api/things/1",
    status: 400,
    attempts: 1,
    latencyMs: 5,
    responseBody,
  });

describe("failureText", () => {
  it("shows the vendor's error body after the message", () => {
    expect(failureText(httpError('{"error":"Assignee is required"}'))).toBe(
      'PUT /api/things/1 answered 400: {"error":"Assignee is required"}',
    );
  });

  it("is the message alone without a body, and for other errors", () => {
    expect(failureText(httpError(null))).toBe("PUT /api/things/1 answered 400");
    expect(failureText(new Error("bad data"))).toBe("bad data");
  });

  it("replaces every secret the vendor echoes back", () => {
    const settings = { auth: { type: "basic", username: "svc", password: "hunter2-long-password" } };
    const secrets = secretValues(settings, ["auth.password", "auth.token", "webhookSecret"]);
    expect(secrets).toEqual(["hunter2-long-password"]);
    const text = failureText(httpError("invalid credentials svc:hunter2-long-password"), secrets);
    expect(text).not.toContain("hunter2");
    expect(text).toContain("[redacted]");
  });

  it("keeps the body capped", () => {
    const text = failureText(httpError("x".repeat(10 * maxErrorBodyChars)));
    expect(text.length).toBeLessThan(maxErrorBodyChars + 100);
  });
});
