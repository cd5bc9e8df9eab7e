CREATE TABLE "delegation_notes" (
	"delegation_id" text NOT NULL,
	"external_note_id" text NOT NULL,
	"comment_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "delegation_notes_delegation_id_external_note_id_pk" PRIMARY KEY("delegation_id","external_note_id")
);
--> statement-breakpoint
CREATE TABLE "delegations" (
	"id" text PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"tenant_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"state" text NOT NULL,
	"carrier_ticket_id" text,
	"carrier_status" text,
	"reason" text,
	"service" jsonb,
	"pauses" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"breaches" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "carrier_options" jsonb;--> statement-breakpoint
ALTER TABLE "delegation_notes" ADD CONSTRAINT "delegation_notes_delegation_id_delegations_id_fk" FOREIGN KEY ("delegation_id") REFERENCES "public"."delegations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delegations" ADD CONSTRAINT "delegations_ticket_id_tickets_id_fk" FOREIGN KEY ("ticket_id") REFERENCES "public"."tickets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delegations" ADD CONSTRAINT "delegations_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delegations_ticket_idx" ON "delegations" USING btree ("ticket_id");--> statement-breakpoint
CREATE UNIQUE INDEX "delegations_carrier_ticket_idx" ON "delegations" USING btree ("connection_id","carrier_ticket_id");--> statement-breakpoint
CREATE INDEX "delegations_connection_state_idx" ON "delegations" USING btree ("connection_id","state");