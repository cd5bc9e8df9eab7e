-- The queue tables' statistics follow their contents. With statistics from when the job queue was nearly
-- empty, the planner rated every index at one row and probed a connection's whole backlog (or every pending
-- job) for each stored webhook, instead of the record's own queue (jobs_order_idx): 1-8 ms per notice with
-- 8,000 jobs pending, growing with the backlog. A new periodic job, `tables.analyze`, analyzes the queue tables
-- every 10 s once 1,000 of their rows changed (src/db/statistics.ts); and autovacuum, which would wait for 10 %
-- of a table to change, now analyzes them after 1,000 changes too, so the statistics follow a backlog that
-- builds while no worker runs.
ALTER TABLE "jobs" DROP CONSTRAINT "jobs_kind_check";--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_check" CHECK (kind in ('inbox.apply', 'ticket.create', 'ticket.update', 'ticket.link', 'comment.add', 'attachment.copy', 'worklog.add', 'listener.register', 'delegation.open', 'delegation.note', 'delegation.cancel', 'delegation.close', 'delegation.reopen', 'event.fanout', 'event.deliver', 'connection.poll', 'sla.timers', 'jobs.prune', 'ledger.checkpoint', 'connection.health', 'tables.analyze'));--> statement-breakpoint
ALTER TABLE "jobs" SET (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);--> statement-breakpoint
ALTER TABLE "inbox" SET (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);
