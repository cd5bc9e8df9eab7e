-- The worker's claim as one statement from the client: a claim was four round trips (BEGIN, the claim lock,
-- the claim, COMMIT), and workers claim after every batch of finished jobs. In a VOLATILE plpgsql function
-- each query takes its own snapshot, so the claim reads the leases committed before it got the lock, as the
-- separate statements did. Claims are serialised by the transaction-level advisory lock ("jobs"), so the
-- per-connection concurrency counted from committed leases is exact. A lease need not survive a crash of the
-- database (lost, the job is claimed and run again, as after a worker's crash), so the claim does not wait for
-- its commit to reach the disk, and the lock is not held through the WAL flush.
-- Runnable: pending, due, not leased, first open row of its (connection, order key) (a dead letter holds its
-- ticket's later jobs, inbox rows excepted), its connection active, not held and below its concurrency.
-- Fair: round-robin across tenants, by priority then age within a tenant. The candidates come from each
-- connection with a free slot, at most that many each, so a claim reads the heads of the runnable queues,
-- not the backlog of paused, held or busy connections, nor jobs in backoff.
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
  candidates AS (
    SELECT q.id, q.tenant_id, q.priority
    FROM open_connections o CROSS JOIN LATERAL (
      SELECT d.id, d.tenant_id, d.priority FROM (
        -- The connection's due jobs by its due index (offset 0 keeps the planner from walking the whole
        -- queue in claim order instead, which reads every job in backoff).
        SELECT j.id, j.tenant_id, j.priority, j.connection_id, j.order_key FROM jobs j
        WHERE j.connection_id = o.id AND j.status = 'pending' AND j.next_attempt_at <= p_now
          AND (j.locked_until IS NULL OR j.locked_until < p_now)
          AND (p_kinds IS NULL OR j.kind = ANY (p_kinds))
        OFFSET 0
      ) d
      WHERE d.order_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM jobs p
        WHERE p.connection_id = d.connection_id AND p.order_key = d.order_key AND p.id < d.id
          AND (p.status = 'pending' OR (p.status = 'dead' AND p.kind <> 'inbox.apply')))
      ORDER BY d.priority, d.id
      LIMIT greatest(o.free, 0)
    ) q
    WHERE o.free > 0
    UNION ALL
    (SELECT j.id, j.tenant_id, j.priority FROM jobs j
     WHERE j.connection_id IS NULL AND j.status = 'pending' AND j.next_attempt_at <= p_now
       AND (j.locked_until IS NULL OR j.locked_until < p_now)
       AND (p_kinds IS NULL OR j.kind = ANY (p_kinds))
     ORDER BY j.priority, j.id
     LIMIT p_limit)
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
