CREATE TABLE "connection_health" (
	"connection_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text,
	"state" text NOT NULL,
	"state_since" timestamp with time zone NOT NULL,
	"reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"pending_state" text,
	"pending_since" timestamp with time zone,
	"pending_reasons" jsonb,
	"evaluated_at" timestamp with time zone NOT NULL,
	"last_success_at" timestamp with time zone,
	"last_failure_at" timestamp with time zone,
	"last_failure_reason" text,
	"deliveries_15m" integer DEFAULT 0 NOT NULL,
	"failures_15m" integer DEFAULT 0 NOT NULL,
	"deliveries_24h" integer DEFAULT 0 NOT NULL,
	"failures_24h" integer DEFAULT 0 NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"version" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "jobs" DROP CONSTRAINT "jobs_kind_check";--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "rate_limit_remaining" integer;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "rate_limit_reset_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "rate_limit_seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "last_polled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "last_poll_error" text;--> statement-breakpoint
ALTER TABLE "connection_health" ADD CONSTRAINT "connection_health_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ledger_connection_outcome_idx" ON "ledger_entries" USING btree ("connection_id","occurred_at") WHERE "ledger_entries"."kind" in ('sync.sent', 'sync.applied', 'sync.failed');--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_check" CHECK (kind in ('inbox.apply', 'ticket.create', 'ticket.update', 'ticket.link', 'comment.add', 'attachment.copy', 'worklog.add', 'listener.register', 'delegation.open', 'delegation.note', 'delegation.cancel', 'delegation.close', 'delegation.reopen', 'event.fanout', 'event.deliver', 'connection.poll', 'sla.timers', 'jobs.prune', 'ledger.checkpoint', 'connection.health'));