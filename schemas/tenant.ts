import { z } from "@hono/zod-openapi";
import { Instant, isoDate, text } from "./common.js";
import { SlaAlertSettings } from "./plan.js";
import { PrioritySchemeId, PriorityTableOverride } from "./priority.js";

const timezone = text()
  .min(1)
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, "must be an IANA time zone such as Europe/Stockholm")
  .nullable();

export const Tenant = z
  .object({
    id: text().openapi({ example: "ten_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    name: text(),
    plan: text(),
    timezone: text().nullable().openapi({ description: "IANA zone; null means the plan's default zone." }),
    slaAlerts: SlaAlertSettings.openapi({
      description: "The tenant's overrides of its plan's SLA warnings and automatic status updates.",
    }),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .openapi("Tenant");

export const CreateTenant = z.strictObject({
  name: text().trim().min(1).max(200),
  plan: text().trim().min(1).max(100).openapi({ example: "ombori-production" }),
  timezone: timezone.optional(),
  priorityOverrides: z.partialRecord(PrioritySchemeId, PriorityTableOverride).optional(),
  slaAlerts: SlaAlertSettings.optional(),
});

export const UpdateTenant = z.strictObject({
  name: text().trim().min(1).max(200).optional(),
  plan: text().trim().min(1).max(100).optional(),
  timezone: timezone.optional(),
  priorityOverrides: z.partialRecord(PrioritySchemeId, PriorityTableOverride).optional(),
  slaAlerts: SlaAlertSettings.optional(),
});

export const ApiKeyInfo = z
  .object({
    id: text(),
    prefix: text().openapi({ description: "The first characters of the key, to tell keys apart." }),
    createdAt: Instant,
    revokedAt: Instant.nullable(),
    lastUsedAt: Instant.nullable(),
  })
  .openapi("ApiKeyInfo");

export const CreatedApiKey = z
  .object({
    keyId: text(),
    apiKey: text().openapi({ description: "Shown once; only its hash is stored." }),
    prefix: text(),
    createdAt: Instant,
  })
  .openapi("CreatedApiKey");

export const CreatedTenant = Tenant.extend({
  apiKey: text().openapi({ description: "Shown once; only its hash is stored." }),
  keyId: text(),
}).openapi("CreatedTenant");

export const Operator = z
  .object({
    id: text(),
    name: text(),
    tenantIds: z
      .array(text())
      .nullable()
      .openapi({ description: "Tenants this operator may act for; null means all." }),
    createdAt: Instant,
  })
  .openapi("Operator");

export const CreateOperator = z
  .strictObject({
    name: text().trim().min(1).max(200),
    tenantIds: z.array(text().min(1)).max(1000).nullable().optional(),
  })
  .openapi("CreateOperator");

export const CreatedOperator = Operator.extend({ apiKey: text(), keyId: text() }).openapi("CreatedOperator");

export const TenantHolidays = z
  .strictObject({
    dates: z
      .array(isoDate())
      .max(5000)
      .openapi({ example: ["2026-12-24", "2026-12-31"] }),
    country: text()
      .regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, "ISO 3166 country code, optionally with a region: SE, DE-BY")
      .nullable()
      .optional()
      .openapi({ description: "Adds the country's public holidays (date-holidays data).", example: "SE" }),
  })
  .openapi("TenantHolidays");

export const TenantHolidaysView = z
  .object({ tenantId: text(), dates: z.array(text()), country: text().nullable() })
  .openapi("TenantHolidaysView");
