import { describe, expect, it } from "vitest";
import { servicenow } from "../../servicenow/index.js";
import { AuthSettings, baseConnectionSettings, baseSecretPaths, redacted, redactSecrets } from "../index.js";

const valid = {
  baseUrl: "https://acme.service-now.com",
  auth: { type: "basic", username: "svc", password: "pw-123456" },
  webhookSecret: "whsec-0123456789abcdef",
};

describe("baseConnectionSettings", () => {
  it("accepts every auth type", () => {
    for (const auth of [
      valid.auth,
      { type: "bearer", token: "t" },
      {
        type: "oauth2",
        tokenUrl: "https://acme.service-now.com/oauth_token.do",
        clientId: "c",
        clientSecret: "s",
      },
    ]) {
      expect(baseConnectionSettings.safeParse({ ...valid, auth }).success, JSON.stringify(auth)).toBe(true);
    }
  });

  it.each([
    ["an unknown top-level key", { ...valid, baseURL: "https://x" }],
    ["an unknown auth key", { ...valid, auth: { ...valid.auth, token: "t" } }],
    ["an unknown auth type", { ...valid, auth: { type: "apikey", key: "k" } }],
    ["a non-http URL", { ...valid, baseUrl: "ftp://acme" }],
    ["a short webhook secret", { ...valid, webhookSecret: "short" }],
    [
      "an unknown canonical status in a mapping override",
      { ...valid, mapping: { status: { inbound: { "9": "open" } } } },
    ],
  ])("rejects %s", (_case, settings) => {
    expect(baseConnectionSettings.safeParse(settings).success).toBe(false);
  });

  it("stays strict when a connector extends it", () => {
    const result = servicenow.settingsSchema.safeParse({ ...valid, tabel: "incident" });
    expect(result.success).toBe(false);
  });

  it("applies connector defaults", () => {
    expect(servicenow.settingsSchema.parse(valid)).toMatchObject({
      table: "incident",
      publicCommentsAsWorkNotes: false,
    });
  });

  it("rejects an inbound query that would reorder the poll", () => {
    expect(
      servicenow.settingsSchema.safeParse({ ...valid, inboundQuery: "active=true^ORDERBYnumber" }).success,
    ).toBe(false);
  });
});

describe("redactSecrets", () => {
  it("replaces every secret path that is present and nothing else", () => {
    const settings = {
      ...valid,
      auth: AuthSettings.parse({
        type: "oauth2",
        tokenUrl: "https://x.test/token",
        clientId: "client",
        clientSecret: "cs",
        refreshToken: "rt",
      }),
    };
    expect(redactSecrets(settings, baseSecretPaths)).toEqual({
      ...settings,
      auth: { ...settings.auth, clientSecret: redacted, refreshToken: redacted },
      webhookSecret: redacted,
    });
    expect(settings.webhookSecret).toBe(valid.webhookSecret);
  });
});
