-- A connection's runnable jobs: pending, due, not leased, of the kinds asked for (all when null), each the
-- first open row of its (connection, order key); a dead letter holds its ticket's later jobs (inbox rows
-- excepted). Read from the connection's due index (offset 0 keeps the planner from walking the whole queue
-- in claim order instead, which reads every job in backoff). A SQL function the planner inlines where used.
CREATE OR REPLACE FUNCTION runnable_jobs_of(p_connection text, p_now timestamptz, p_kinds text[])
RETURNS TABLE (id bigint, tenant_id text, priority smallint)
LANGUAGE sql STABLE AS $$
  SELECT d.id, d.tenant_id, d.priority FROM (
    SELECT j.id, j.tenant_id, j.priority, j.connection_id, j.order_key FROM jobs j
    WHERE j.connection_id = p_connection AND j.status = 'pending' AND j.next_attempt_at <= p_now
      AND (j.locked_until IS NULL OR j.locked_until < p_now)
      AND (p_kinds IS NULL OR j.kind = ANY (p_kinds))
    OFFSET 0
  ) d
  WHERE d.order_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM jobs p
    WHERE p.connection_id = d.connection_id AND p.order_key = d.order_key AND p.id < d.id
      AND (p.status = 'pending' OR (p.status = 'dead' AND p.kind <> 'inbox.apply')))
$$;
--> statement-breakpoint
-- The worker's claim as one statement from the client: a claim was four round trips (BEGIN, the claim lock,
-- the claim, COMMIT), and workers claim after every batch of finished jobs. In a VOLATILE plpgsql function
-- each query takes its own snapshot, so the claim reads the leases committed before it got the lock, as the
-- separate statements did. Claims are serialised by the transaction-level advisory lock ("jobs"), so the
-- per-connection concurrency counted from committed leases is exact. A lease need not survive a crash of the
-- database (lost, the job is claimed and run again, as after a worker's crash), so the claim does not wait for
-- its commit to reach the disk, and the lock is not held through the WAL flush.
-- Runnable: as `runnable_jobs_of` says, and its connection active, not held and below its concurrency.
-- Fair: round-robin across tenants (the n-th job of every tenant before the n+1-th of any), by priority then
-- age within a tenant. The candidates come from each connection with a free slot, so a claim reads the heads
-- of the runnable queues, not the backlog of paused, held or busy connections, nor jobs in backoff: first
-- each connection's first runnable job; only when those come from fewer tenants than the claim takes jobs
-- are the connections' further jobs read (up to their free slots). With as many tenants as the limit, every
-- pick is some tenant's first job, and each tenant's first job is among its connections' first ones, so the
-- pick is the same as from all candidates, for a read of one job per busy connection.
CREATE OR REPLACE FUNCTION claim_jobs(
  p_worker text,
  p_now timestamptz,
  p_lease_end timestamptz,
  p_limit int,
  p_connection_concurrency int,
  p_kinds text[]
) RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(1785684595);
  RETURN QUERY
  WITH busy AS (
    SELECT b.connection_id, count(*)::int AS n FROM jobs b
    WHERE b.status = 'pending' AND b.locked_until >= p_now AND b.connection_id IS NOT NULL
    GROUP BY b.connection_id
  ),
  open_connections AS (
    SELECT c.id, least(p_limit, greatest(least(p_connection_concurrency,
             coalesce(c.concurrency_budget, p_connection_concurrency)), 1) - coalesce(busy.n, 0)) AS free
    FROM connections c LEFT JOIN busy ON busy.connection_id = c.id
    WHERE c.status = 'active' AND (c.hold_until IS NULL OR c.hold_until <= p_now)
  ),
  heads AS (
    SELECT o.id AS connection_id, o.free, q.id, q.tenant_id, q.priority
    FROM open_connections o CROSS JOIN LATERAL (
      SELECT r.id, r.tenant_id, r.priority FROM runnable_jobs_of(o.id, p_now, p_kinds) r
      ORDER BY r.priority, r.id LIMIT 1
    ) q
    WHERE o.free > 0
  ),
  unconnected AS (
    SELECT j.id, j.tenant_id, j.priority FROM jobs j
    WHERE j.connection_id IS NULL AND j.status = 'pending' AND j.next_attempt_at <= p_now
      AND (j.locked_until IS NULL OR j.locked_until < p_now)
      AND (p_kinds IS NULL OR j.kind = ANY (p_kinds))
    ORDER BY j.priority, j.id
    LIMIT p_limit
  ),
  enough_tenants AS (
    SELECT count(DISTINCT coalesce(f.tenant_id, '')) >= p_limit AS yes
    FROM (SELECT heads.tenant_id FROM heads UNION ALL SELECT unconnected.tenant_id FROM unconnected) f
  ),
  further AS (
    SELECT q.id, q.tenant_id, q.priority
    FROM heads h CROSS JOIN LATERAL (
      SELECT r.id, r.tenant_id, r.priority FROM runnable_jobs_of(h.connection_id, p_now, p_kinds) r
      ORDER BY r.priority, r.id OFFSET 1 LIMIT h.free - 1
    ) q
    WHERE h.free > 1 AND NOT (SELECT yes FROM enough_tenants)
  ),
  candidates AS (
    SELECT heads.id, heads.tenant_id, heads.priority FROM heads
    UNION ALL SELECT further.id, further.tenant_id, further.priority FROM further
    UNION ALL SELECT unconnected.id, unconnected.tenant_id, unconnected.priority FROM unconnected
  ),
  picked AS (
    SELECT r.id FROM (
      SELECT candidates.id, candidates.priority,
        row_number() OVER (PARTITION BY coalesce(candidates.tenant_id, '')
                           ORDER BY candidates.priority, candidates.id) AS tenant_rank
      FROM candidates
    ) r
    ORDER BY r.tenant_rank, r.priority, r.id
    LIMIT p_limit
  ),
  claimed AS (
    UPDATE jobs SET locked_until = p_lease_end, locked_by = p_worker, attempts = jobs.attempts + 1,
      first_attempt_at = coalesce(jobs.first_attempt_at, p_now)
    WHERE jobs.id IN (
      SELECT l.id FROM jobs l
      WHERE l.id IN (SELECT picked.id FROM picked) AND l.status = 'pending'
        AND (l.locked_until IS NULL OR l.locked_until < p_now)
      FOR UPDATE SKIP LOCKED)
    RETURNING jobs.*
  )
  SELECT * FROM claimed;
END;
$$;
