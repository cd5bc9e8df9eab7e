CREATE TABLE "worklog_links" (
	"connection_id" text NOT NULL,
	"worklog_id" text NOT NULL,
	"external_worklog_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "worklog_links_connection_id_worklog_id_pk" PRIMARY KEY("connection_id","worklog_id")
);
--> statement-breakpoint
ALTER TABLE "jobs" DROP CONSTRAINT "jobs_kind_check";--> statement-breakpoint
CREATE UNIQUE INDEX "worklog_links_external_idx" ON "worklog_links" USING btree ("connection_id","external_worklog_id");--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_check" CHECK (kind in ('inbox.apply', 'ticket.create', 'ticket.update', 'ticket.link', 'comment.add', 'attachment.copy', 'worklog.add', 'listener.register', 'delegation.open', 'delegation.note', 'delegation.cancel', 'delegation.close', 'delegation.reopen', 'connection.poll', 'sla.timers', 'jobs.prune', 'ledger.checkpoint'));