CREATE TABLE "attachment_links" (
	"connection_id" text NOT NULL,
	"attachment_id" text NOT NULL,
	"external_attachment_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "attachment_links_connection_id_attachment_id_pk" PRIMARY KEY("connection_id","attachment_id")
);
--> statement-breakpoint
ALTER TABLE "attachments" ADD COLUMN "source_connection_id" text;--> statement-breakpoint
ALTER TABLE "attachments" ADD COLUMN "source_external_id" text;--> statement-breakpoint
ALTER TABLE "attachment_links" ADD CONSTRAINT "attachment_links_attachment_id_attachments_id_fk" FOREIGN KEY ("attachment_id") REFERENCES "public"."attachments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "attachment_links_external_idx" ON "attachment_links" USING btree ("connection_id","external_attachment_id");