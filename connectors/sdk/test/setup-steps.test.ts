import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ConnectorType, connectors, connectorTypes } from "../../index.js";
import { secretValues } from "../index.js";

const webhookSecret = "setup-steps-webhook-secret-0123456789";
const password = "setup-steps-password-0123456789";

/** Settings of one connection per type, with secrets the steps must never show. */
const sample: Record<ConnectorType, Record<string, unknown>> = {
  servicenow: {
    baseUrl: "https://acme.service-now.com",
    auth: { type: "basic", username: "svc.acme", password },
    webhookSecret,
  },
  jsm: {
    baseUrl: "https://acme.atlassian.net",
    auth: { type: "basic", username: "svc@acme.example", password },
    projectKey: "HELP",
    serviceDeskId: "1",
    requestTypeId: "10",
    correlationFieldId: "customfield_10050",
    integrationAccountId: "557058:acme",
    webhookSecret,
  },
  zendesk: {
    baseUrl: "https://acme.zendesk.com",
    auth: { type: "basic", username: "sync@acme.example/token", password },
    integrationUserId: 42,
    webhookSecret,
  },
  tmf621: {
    baseUrl: "https://carrier.example/tmf-api/troubleTicket/v5",
    auth: { type: "bearer", token: password },
    version: "v5",
    webhookSecret,
  },
  "mef-sonata": {
    baseUrl: "https://seller.example/mefApi/sonata/troubleTicket/v4",
    auth: { type: "bearer", token: password },
    reporterContact: {
      name: "Provider NOC",
      emailAddress: "noc@provider.example",
      number: "+44 20 7946 0000",
    },
    webhookSecret,
  },
};

/** The anchors GitHub gives the headings of a Markdown file (lower case, punctuation dropped, spaces to -). */
function headingAnchors(markdown: string): Set<string> {
  return new Set(
    markdown
      .split("\n")
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) =>
        line
          .replace(/^#+ /, "")
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}_\- ]/gu, "")
          .replaceAll(" ", "-"),
      ),
  );
}

describe("connector setup steps", () => {
  it.each(connectorTypes)("%s: name the webhook URL, point at its doc's headings, show no secret", (type) => {
    const connector = connectors[type];
    const settings = connector.settingsSchema.parse(sample[type]);
    const webhookUrl = `https://gateway.example/webhooks/con_${type}`;
    const steps = connector.setupSteps({ webhookUrl }, settings as never);
    expect(steps.length).toBeGreaterThan(0);
    const text = JSON.stringify(steps);
    expect(text).toContain(webhookUrl);
    const secrets = secretValues(settings, connector.secretPaths);
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
    const anchors = headingAnchors(
      readFileSync(new URL(`../../../docs/connectors/${type}.md`, import.meta.url), "utf8"),
    );
    for (const step of steps) expect(anchors, `${type}: #${step.docAnchor}`).toContain(step.docAnchor);
  });
});
