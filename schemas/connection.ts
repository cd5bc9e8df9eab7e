import { z } from "@hono/zod-openapi";
import { Instant, text } from "./common.js";
import { CarrierOptions } from "./delegation.js";

export const connectorTypeIds = ["servicenow", "jsm", "zendesk", "tmf621", "mef-sonata"] as const;

export const CreateConnection = z
  .strictObject({
    type: z.enum(connectorTypeIds),
    name: text().trim().min(1).max(200),
    role: z.enum(["servicedesk", "carrier"]),
    direction: z.enum(["both", "inbound", "outbound"]).default("both"),
    tenantId: text().min(1).optional().openapi({
      description: "Servicedesk connections belong to one tenant; provider credentials name it.",
    }),
    carrier: CarrierOptions.optional().openapi({
      description: "Carrier connections only: OLA and relay options.",
    }),
    settings: z.record(text(), z.unknown()).openapi({
      description:
        "The connector's settings: `{baseUrl, auth, webhookSecret?, mapping?, filter?, inboundQuery?}` plus its own fields (docs/connectors/<type>.md). Secrets are encrypted at rest and never returned.",
    }),
  })
  .openapi("CreateConnection");

export const UpdateConnection = z
  .strictObject({
    name: text().trim().min(1).max(200).optional(),
    direction: z.enum(["both", "inbound", "outbound"]).optional(),
    carrier: CarrierOptions.optional(),
    settings: z
      .record(text(), z.unknown())
      .optional()
      .openapi({ description: "Merged into the stored settings; a secret left out keeps its value." }),
  })
  .openapi("UpdateConnection");

export const Connection = z
  .object({
    id: text().openapi({ example: "con_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    type: z.enum(connectorTypeIds),
    name: text(),
    role: z.enum(["servicedesk", "carrier"]),
    direction: z.enum(["both", "inbound", "outbound"]),
    tenantId: text().nullable(),
    carrier: CarrierOptions.nullable(),
    webhookUrl: text().openapi({ description: "Where the vendor sends events (absolute, from PUBLIC_URL)." }),
    settings: z.record(text(), z.unknown()).openapi({ description: "Settings with secrets redacted." }),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .openapi("Connection");

export const CreatedConnection = Connection.extend({
  webhookSecret: text()
    .optional()
    .openapi({ description: "Generated when none was given; shown once. Configure it at the vendor." }),
}).openapi("CreatedConnection");

export const ConnectionTestResult = z
  .object({ ok: z.boolean(), detail: text() })
  .openapi("ConnectionTestResult");

export const DeadLetter = z
  .object({
    id: z.number().int(),
    connectionId: text(),
    ticketId: text(),
    tenantId: text().nullable(),
    kind: text(),
    attempts: z.number().int(),
    lastError: text().nullable(),
    createdAt: Instant,
    deadAt: Instant.nullable(),
  })
  .openapi("DeadLetter");

export const DeadLetterQuery = z.object({
  connectionId: text().min(1).optional(),
  ticketId: text().min(1).optional(),
});
