import { z } from "@hono/zod-openapi";
import { Instant } from "./common.js";
import { PrioritySchemeId, PriorityTableOverride } from "./priority.js";

const timezone = z
  .string()
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
    id: z.string().openapi({ example: "ten_01JD8X4Q2W3E4R5T6Y7U8I9O0P" }),
    name: z.string(),
    plan: z.string(),
    timezone: z
      .string()
      .nullable()
      .openapi({ description: "IANA zone; null means the plan's default zone." }),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .openapi("Tenant");

export const CreateTenant = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    plan: z.string().trim().min(1).max(100).openapi({ example: "ombori-production" }),
    timezone: timezone.optional(),
    priorityOverrides: z.partialRecord(PrioritySchemeId, PriorityTableOverride).optional(),
  })
  .openapi("CreateTenant");

export const UpdateTenant = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    plan: z.string().trim().min(1).max(100).optional(),
    timezone: timezone.optional(),
    priorityOverrides: z.partialRecord(PrioritySchemeId, PriorityTableOverride).optional(),
  })
  .openapi("UpdateTenant");

export const ApiKeyInfo = z
  .object({
    id: z.string(),
    prefix: z.string().openapi({ description: "The first characters of the key, to tell keys apart." }),
    createdAt: Instant,
    revokedAt: Instant.nullable(),
    lastUsedAt: Instant.nullable(),
  })
  .openapi("ApiKeyInfo");

export const CreatedApiKey = z
  .object({
    keyId: z.string(),
    apiKey: z.string().openapi({ description: "Shown once; only its hash is stored." }),
    prefix: z.string(),
    createdAt: Instant,
  })
  .openapi("CreatedApiKey");

export const CreatedTenant = Tenant.extend({
  apiKey: z.string().openapi({ description: "Shown once; only its hash is stored." }),
  keyId: z.string(),
}).openapi("CreatedTenant");

export const Operator = z
  .object({
    id: z.string(),
    name: z.string(),
    tenantIds: z
      .array(z.string())
      .nullable()
      .openapi({ description: "Tenants this operator may act for; null means all." }),
    createdAt: Instant,
  })
  .openapi("Operator");

export const CreateOperator = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    tenantIds: z.array(z.string().min(1)).max(1000).nullable().optional(),
  })
  .openapi("CreateOperator");

export const CreatedOperator = Operator.extend({ apiKey: z.string(), keyId: z.string() }).openapi(
  "CreatedOperator",
);

export const TenantHolidays = z
  .strictObject({
    dates: z
      .array(z.iso.date())
      .max(5000)
      .openapi({ example: ["2026-12-24", "2026-12-31"] }),
    country: z
      .string()
      .regex(/^[A-Z]{2}(-[A-Z0-9]{1,3})?$/, "ISO 3166 country code, optionally with a region: SE, DE-BY")
      .nullable()
      .optional()
      .openapi({ description: "Adds the country's public holidays (date-holidays data).", example: "SE" }),
  })
  .openapi("TenantHolidays");

export const TenantHolidaysView = z
  .object({ tenantId: z.string(), dates: z.array(z.string()), country: z.string().nullable() })
  .openapi("TenantHolidaysView");
