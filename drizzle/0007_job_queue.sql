CREATE TABLE "jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"tenant_id" text,
	"connection_id" text,
	"order_key" text,
	"priority" smallint DEFAULT 3 NOT NULL,
	"singleton_key" text,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"locked_by" text,
	"last_error" text,
	"last_http_status" integer,
	"dead_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"first_attempt_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"dead_at" timestamp with time zone,
	CONSTRAINT "jobs_kind_check" CHECK (kind in ('inbox.apply', 'ticket.create', 'ticket.update', 'ticket.link', 'comment.add', 'attachment.copy', 'listener.register', 'delegation.open', 'delegation.note', 'delegation.cancel', 'delegation.close', 'delegation.reopen', 'connection.poll', 'sla.timers', 'jobs.prune'))
);
--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "paused_reason" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "paused_by" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "hold_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "concurrency_budget" integer;--> statement-breakpoint
CREATE INDEX "jobs_pending_idx" ON "jobs" USING btree ("next_attempt_at") WHERE "jobs"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "jobs_order_idx" ON "jobs" USING btree ("connection_id","order_key","id") WHERE "jobs"."status" in ('pending', 'dead');--> statement-breakpoint
CREATE INDEX "jobs_dead_idx" ON "jobs" USING btree ("dead_at") WHERE "jobs"."status" = 'dead';--> statement-breakpoint
CREATE INDEX "jobs_finished_idx" ON "jobs" USING btree ("finished_at") WHERE "jobs"."status" in ('done', 'skipped');--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_singleton_idx" ON "jobs" USING btree ("singleton_key") WHERE "jobs"."status" = 'pending';