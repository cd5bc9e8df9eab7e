CREATE TABLE "ledger_checkpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"tenant_id" text,
	"issued_at" timestamp with time zone NOT NULL,
	"entries" bigint NOT NULL,
	"root" text NOT NULL,
	"heads" jsonb NOT NULL,
	"key_id" text NOT NULL,
	"signature" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "jobs" DROP CONSTRAINT "jobs_kind_check";--> statement-breakpoint
CREATE INDEX "ledger_checkpoints_scope_idx" ON "ledger_checkpoints" USING btree ("scope","issued_at");--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_check" CHECK (kind in ('inbox.apply', 'ticket.create', 'ticket.update', 'ticket.link', 'comment.add', 'attachment.copy', 'listener.register', 'delegation.open', 'delegation.note', 'delegation.cancel', 'delegation.close', 'delegation.reopen', 'connection.poll', 'sla.timers', 'jobs.prune', 'ledger.checkpoint'));