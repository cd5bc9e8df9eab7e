CREATE TABLE "console_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"principal_kind" text NOT NULL,
	"key_id" text,
	"csrf_token" text NOT NULL,
	"viewer_zone" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "console_sessions_expires_idx" ON "console_sessions" USING btree ("expires_at");