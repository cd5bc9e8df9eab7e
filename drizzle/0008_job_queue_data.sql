-- Open work moves from the outbox, the inbox leases and the connections' poll columns into the one job queue.
INSERT INTO "jobs" ("kind", "tenant_id", "connection_id", "order_key", "payload", "status", "attempts",
  "next_attempt_at", "last_error", "created_at", "first_attempt_at", "dead_at", "dead_reason")
SELECT "kind", "tenant_id", "connection_id", "ticket_id", "payload", "status", "attempts", "next_attempt_at",
  "last_error", "created_at", "first_attempt_at", "dead_at", CASE WHEN "status" = 'dead' THEN 'migrated' END
FROM "outbox" WHERE "status" IN ('pending', 'dead') ORDER BY "id";
--> statement-breakpoint
INSERT INTO "jobs" ("kind", "connection_id", "order_key", "priority", "payload", "status", "attempts",
  "next_attempt_at", "last_error", "created_at", "dead_at", "dead_reason")
SELECT 'inbox.apply', "connection_id", 'in:' || "external_id", 2, jsonb_build_object('inboxId', "id"), "status",
  "attempts", "next_attempt_at", "last_error", "received_at", CASE WHEN "status" = 'dead' THEN now() END,
  CASE WHEN "status" = 'dead' THEN 'migrated' END
FROM "inbox" WHERE "status" IN ('pending', 'dead') ORDER BY "id";
--> statement-breakpoint
INSERT INTO "jobs" ("kind", "tenant_id", "connection_id", "priority", "singleton_key", "next_attempt_at")
SELECT 'connection.poll', "tenant_id", "id", 5, 'poll:' || "id", coalesce("poll_next_at", now())
FROM "connections" WHERE "status" = 'active' AND "direction" IN ('both', 'inbound');
