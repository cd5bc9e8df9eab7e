CREATE TABLE "sla_clocks" (
	"ticket_id" text NOT NULL,
	"clock" text NOT NULL,
	"tenant_id" text NOT NULL,
	"target_minutes" integer,
	"target_business_days" integer,
	"started_at" timestamp with time zone,
	"pauses" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"met_at" timestamp with time zone,
	"stopped_at" timestamp with time zone,
	"breached_at" timestamp with time zone,
	"at_risk_recorded_at" timestamp with time zone,
	"due_at" timestamp with time zone,
	"cycle" integer DEFAULT 1 NOT NULL,
	"elapsed_business_seconds" integer,
	"next_check_at" timestamp with time zone,
	"locked_until" timestamp with time zone,
	"locked_by" text,
	CONSTRAINT "sla_clocks_ticket_id_clock_pk" PRIMARY KEY("ticket_id","clock")
);
--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "holidays" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "holiday_country" text;--> statement-breakpoint
ALTER TABLE "sla_clocks" ADD CONSTRAINT "sla_clocks_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sla_clocks_next_check_idx" ON "sla_clocks" USING btree ("next_check_at") WHERE "sla_clocks"."next_check_at" is not null;--> statement-breakpoint
CREATE INDEX "sla_clocks_tenant_idx" ON "sla_clocks" USING btree ("tenant_id");