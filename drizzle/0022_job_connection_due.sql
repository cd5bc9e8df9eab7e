CREATE TABLE "job_connection_due" (
	"connection_id" text PRIMARY KEY NOT NULL,
	"due_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_connection_wakeups" (
	"connection_id" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "job_connection_wakeups_idx" ON "job_connection_wakeups" USING btree ("connection_id","due_at");