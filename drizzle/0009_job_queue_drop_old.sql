ALTER TABLE "outbox" DISABLE ROW LEVEL SECURITY;--> statement-breakpoint
DROP TABLE "outbox" CASCADE;--> statement-breakpoint
DROP INDEX "inbox_pending_idx";--> statement-breakpoint
CREATE INDEX "inbox_applied_idx" ON "inbox" USING btree ("applied_at") WHERE "inbox"."status" = 'applied';--> statement-breakpoint
ALTER TABLE "connections" DROP COLUMN "poll_next_at";--> statement-breakpoint
ALTER TABLE "connections" DROP COLUMN "poll_locked_until";--> statement-breakpoint
ALTER TABLE "inbox" DROP COLUMN "attempts";--> statement-breakpoint
ALTER TABLE "inbox" DROP COLUMN "next_attempt_at";--> statement-breakpoint
ALTER TABLE "inbox" DROP COLUMN "locked_until";--> statement-breakpoint
ALTER TABLE "inbox" DROP COLUMN "locked_by";--> statement-breakpoint
ALTER TABLE "inbox" DROP COLUMN "last_error";