ALTER TABLE "tenants" ADD COLUMN "sla_alerts" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "sla_clocks" ADD COLUMN "warnings_recorded" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "sla_clocks" ADD COLUMN "update_due_recorded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sla_clocks" ADD COLUMN "auto_update_posted_at" timestamp with time zone;