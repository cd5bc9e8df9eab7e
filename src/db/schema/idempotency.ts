import { boolean, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { instant } from "./columns.js";

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    /** The calling credential (api key id, or "admin"): keys are scoped to who sent them. */
    credentialId: text("credential_id").notNull(),
    key: text("key").notNull(),
    method: text("method").notNull(),
    path: text("path").notNull(),
    requestHash: text("request_hash").notNull(),
    statusCode: integer("status_code"),
    responseBody: jsonb("response_body"),
    responseHeaders: jsonb("response_headers").$type<Record<string, string>>(),
    containsSecret: boolean("contains_secret").notNull().default(false),
    createdAt: instant("created_at").notNull().defaultNow(),
    completedAt: instant("completed_at"),
  },
  (t) => [primaryKey({ columns: [t.credentialId, t.key] })],
);
