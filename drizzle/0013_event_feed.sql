CREATE TABLE "event_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"subscription_id" text NOT NULL,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"job_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" text NOT NULL,
	"http_status" integer,
	"latency_ms" integer NOT NULL,
	"error" text,
	"attempted_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text,
	"audience" text NOT NULL,
	"format" text NOT NULL,
	"target_encrypted" text NOT NULL,
	"target_display" text NOT NULL,
	"event_types" jsonb NOT NULL,
	"secret_encrypted" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "jobs" DROP CONSTRAINT "jobs_kind_check";--> statement-breakpoint
ALTER TABLE "event_deliveries" ADD CONSTRAINT "event_deliveries_subscription_id_event_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."event_subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "event_subscriptions" ADD CONSTRAINT "event_subscriptions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "event_deliveries_subscription_idx" ON "event_deliveries" USING btree ("subscription_id","id");--> statement-breakpoint
CREATE INDEX "event_deliveries_attempted_idx" ON "event_deliveries" USING btree ("attempted_at");--> statement-breakpoint
CREATE INDEX "event_subscriptions_tenant_idx" ON "event_subscriptions" USING btree ("tenant_id");--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_check" CHECK (kind in ('inbox.apply', 'ticket.create', 'ticket.update', 'ticket.link', 'comment.add', 'attachment.copy', 'worklog.add', 'listener.register', 'delegation.open', 'delegation.note', 'delegation.cancel', 'delegation.close', 'delegation.reopen', 'event.fanout', 'event.deliver', 'connection.poll', 'sla.timers', 'jobs.prune', 'ledger.checkpoint'));