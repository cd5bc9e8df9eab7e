DROP INDEX "jobs_pending_idx";--> statement-breakpoint
CREATE INDEX "jobs_due_idx" ON "jobs" USING btree ("connection_id","next_attempt_at") WHERE "jobs"."status" = 'pending';