import { index, pgTable, text } from "drizzle-orm/pg-core";
import { instant } from "./columns.js";

/**
 * Web console sign-ins: a key exchanged for a session. The cookie carries a random token; only its hash is
 * stored (like API keys), so a database read does not yield usable sessions.
 */
export const consoleSessions = pgTable(
  "console_sessions",
  {
    /** SHA-256 of the session token. */
    id: text("id").primaryKey(),
    principalKind: text("principal_kind", { enum: ["admin", "operator", "tenant"] }).notNull(),
    /** The API key signed in with; null for the admin token. Checked on every request: revoking it ends the session. */
    keyId: text("key_id"),
    /** Sent back in a hidden field of every form; a POST without it is refused. */
    csrfToken: text("csrf_token").notNull(),
    /** The IANA zone the viewer chose for times; null: UTC. */
    viewerZone: text("viewer_zone"),
    createdAt: instant("created_at").notNull().defaultNow(),
    expiresAt: instant("expires_at").notNull(),
  },
  // Pruning expired sessions.
  (t) => [index("console_sessions_expires_idx").on(t.expiresAt)],
);
