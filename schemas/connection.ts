import { z } from "@hono/zod-openapi";
import { Instant } from "./common.js";
import { CarrierOptions } from "./delegation.js";

/**
 * A connector type id. The list of types is the connector registry (`connectors/index.ts`), which schemas/ may
 * not import: the API narrows this to an enum of the registered types where it mounts the routes.
 */
export const ConnectorTypeId = z.string().min(1).max(64);

export const CreateConnection = z
  .strictObject({
    type: ConnectorTypeId,
    name: z.string().trim().min(1).max(200),
    role: z.enum(["servicedesk", "carrier"]),
    direction: z.enum(["both", "inbound", "outbound"]).default("both"),
    tenantId: z.string().min(1).optional().openapi({
      description: "Servicedesk connections belong to one tenant; provider credentials name it.",
    }),
    carrier: CarrierOptions.optional().openapi({
      description: "Carrier connections only: OLA and relay options.",
    }),
    settings: z.record(z.string(), z.unknown()).openapi({
      description:
        "The connector's settings: `{baseUrl, auth, webhookSecret?, mapping?, filter?, inboundQuery?}` plus its own fields (docs/connectors/<type>.md). Secrets are encrypted at rest and never returned.",
    }),
  })
  .openapi("CreateConnection");

export const UpdateConnection = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    direction: z.enum(["both", "inbound", "outbound"]).optional(),
    carrier: CarrierOptions.optional(),
    settings: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "Merged into the stored settings; a secret left out keeps its value." }),
  })
  .openapi("UpdateConnection");

export const Connection = z
  .object({
    id: z.string().openapi({ example: "con_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    type: ConnectorTypeId,
    name: z.string(),
    role: z.enum(["servicedesk", "carrier"]),
    direction: z.enum(["both", "inbound", "outbound"]),
    tenantId: z.string().nullable(),
    carrier: CarrierOptions.nullable(),
    webhookUrl: z
      .string()
      .openapi({ description: "Where the vendor sends events (absolute, from PUBLIC_URL)." }),
    settings: z.record(z.string(), z.unknown()).openapi({ description: "Settings with secrets redacted." }),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .openapi("Connection");

export const CreatedConnection = Connection.extend({
  webhookSecret: z
    .string()
    .optional()
    .openapi({ description: "Generated when none was given; shown once. Configure it at the vendor." }),
}).openapi("CreatedConnection");

export const ConnectionTestResult = z
  .object({ ok: z.boolean(), detail: z.string() })
  .openapi("ConnectionTestResult");

export const DeadLetter = z
  .object({
    id: z.number().int(),
    connectionId: z.string(),
    ticketId: z.string(),
    tenantId: z.string().nullable(),
    kind: z.string(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: Instant,
    deadAt: Instant.nullable(),
  })
  .openapi("DeadLetter");

export const DeadLetterQuery = z.object({
  connectionId: z.string().min(1).optional(),
  ticketId: z.string().min(1).optional(),
});
