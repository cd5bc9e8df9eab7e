-- Claims skip connections with nothing runnable. A claim read the head of every open connection's queue: one
-- index probe each, so its cost grew with the connections that have pending work at all (retries in backoff,
-- work queued behind a running or dead job), not with the work that is due. Now a claim that finds nothing
-- runnable on a connection marks it (`job_connection_due`) with the earliest time something there may be:
-- its first retry, the end of a running job's lease. Later claims skip it until then.
--
-- A mark must never be later than a job of its connection becomes runnable. Every write that can make a job
-- runnable earlier than the mark (an insert, a retry rescheduled, a lease given back, a job leaving pending or
-- dead, which frees the jobs queued behind it) fires `jobs_wake_connection`: it takes a shared advisory lock
-- on the connection, held to its commit, and, when the mark says later, adds a wakeup row that the next claim
-- folds into the mark. A claim raises a mark only under that lock's exclusive form, taken with a try (never
-- waiting) after its probe, and computes the new mark from a snapshot taken after the lock: a writer still
-- in flight holds the shared lock, so the claim leaves that mark alone; a writer that committed before is
-- seen; a writer that comes after waits for the claim's commit, then reads the raised mark and wakes it.
-- Writers never wait on one another (shared locks, inserts only); marks are written by claims alone, which
-- the claim lock serialises. Lock keys: (1785684596, one of 1,024 buckets of the connection id's hash), so a
-- transaction that queues work on thousands of connections holds at most 1,024 locks (the lock table is
-- finite); connections sharing a bucket only skip each other's raises while a writer is in flight.
CREATE FUNCTION jobs_wake_connection() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_connection text;
  v_at timestamptz;
  v_due timestamptz;
BEGIN
  IF TG_OP = 'DELETE' THEN
    v_connection := OLD.connection_id;
    v_at := least(OLD.next_attempt_at, now());
  ELSIF NEW.status = 'pending' THEN
    v_connection := NEW.connection_id;
    v_at := NEW.next_attempt_at;
  ELSE
    -- Left pending or dead: the jobs queued behind it may run now.
    v_connection := NEW.connection_id;
    v_at := least(OLD.next_attempt_at, NEW.next_attempt_at, now());
  END IF;
  PERFORM pg_advisory_xact_lock_shared(1785684596, hashtext(v_connection) & 1023);
  -- A statement of its own: its snapshot sees a mark a claim raised while this writer waited for the lock.
  SELECT m.due_at INTO v_due FROM job_connection_due m WHERE m.connection_id = v_connection;
  -- No second wakeup as early as one already committed: while no claim runs, a connection gets one row, not
  -- one per job queued on it.
  IF v_due > v_at AND NOT EXISTS (
    SELECT 1 FROM job_connection_wakeups w WHERE w.connection_id = v_connection AND w.due_at <= v_at
  ) THEN
    INSERT INTO job_connection_wakeups (connection_id, due_at) VALUES (v_connection, v_at);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER jobs_wake_connection_on_insert AFTER INSERT ON jobs FOR EACH ROW
WHEN (NEW.connection_id IS NOT NULL AND NEW.status = 'pending')
EXECUTE FUNCTION jobs_wake_connection();
--> statement-breakpoint
-- Not on a claim's lease or its extension (the lease only ever moves later): those are most updates.
CREATE TRIGGER jobs_wake_connection_on_update AFTER UPDATE ON jobs FOR EACH ROW
WHEN (NEW.connection_id IS NOT NULL AND (OLD.status IN ('pending', 'dead') OR NEW.status = 'pending') AND (
  OLD.status IS DISTINCT FROM NEW.status
  OR OLD.next_attempt_at IS DISTINCT FROM NEW.next_attempt_at
  OR OLD.connection_id IS DISTINCT FROM NEW.connection_id
  OR (OLD.locked_until IS NOT NULL AND (NEW.locked_until IS NULL OR NEW.locked_until < OLD.locked_until))))
EXECUTE FUNCTION jobs_wake_connection();
--> statement-breakpoint
CREATE TRIGGER jobs_wake_connection_on_delete AFTER DELETE ON jobs FOR EACH ROW
WHEN (OLD.connection_id IS NOT NULL AND OLD.status IN ('pending', 'dead'))
EXECUTE FUNCTION jobs_wake_connection();
--> statement-breakpoint
-- The earliest time a job of the connection may be runnable, as of the caller's snapshot: a due job that is
-- not queued behind another gives its lease end (now or earlier when it has none, or it lapsed), a job in
-- backoff its retry time; a job queued behind another is freed by that one's write, which wakes the mark.
-- 'infinity' when nothing is pending.
CREATE FUNCTION connection_next_due(p_connection text, p_now timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT least(
    (SELECT min(greatest(j.next_attempt_at, coalesce(j.locked_until, '-infinity'::timestamptz))) FROM jobs j
     WHERE j.connection_id = p_connection AND j.status = 'pending' AND j.next_attempt_at <= p_now
       AND (j.order_key IS NULL OR NOT EXISTS (
         SELECT 1 FROM jobs p
         WHERE p.connection_id = j.connection_id AND p.order_key = j.order_key AND p.id < j.id
           AND (p.status = 'pending' OR (p.status = 'dead' AND p.kind <> 'inbox.apply'))))),
    (SELECT j.next_attempt_at FROM jobs j
     WHERE j.connection_id = p_connection AND j.status = 'pending' AND j.next_attempt_at > p_now
     ORDER BY j.next_attempt_at LIMIT 1),
    'infinity'::timestamptz)
$$;
--> statement-breakpoint
-- The claim of 0020, reading only connections whose mark is due, and marking those it finds idle.
-- Fair: round-robin across tenants (the n-th job of every tenant before the n+1-th of any), by priority then
-- age within a tenant. The candidates come from each connection with a free slot and a due mark: first each
-- connection's first runnable job; only when those come from fewer tenants than the claim takes jobs are the
-- connections' further jobs read (up to their free slots). With as many tenants as the limit, every pick is
-- some tenant's first job, and each tenant's first job is among its connections' first ones, so the pick is
-- the same as from all candidates. See 0020 for the lock, the snapshots and the commit.
CREATE OR REPLACE FUNCTION claim_jobs(
  p_worker text,
  p_now timestamptz,
  p_lease_end timestamptz,
  p_limit int,
  p_connection_concurrency int,
  p_kinds text[]
) RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_connections text[];
  v_free int[];
  v_head_ids bigint[];
  v_head_tenants text[];
  v_head_priorities smallint[];
  v_idle text[];
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(1785684595);

  WITH woken AS (DELETE FROM job_connection_wakeups w RETURNING w.connection_id, w.due_at)
  UPDATE job_connection_due m SET due_at = x.due_at
  FROM (SELECT woken.connection_id, min(woken.due_at) AS due_at FROM woken GROUP BY woken.connection_id) x
  WHERE m.connection_id = x.connection_id AND x.due_at < m.due_at;

  WITH busy AS (
    SELECT b.connection_id, count(*)::int AS n FROM jobs b
    WHERE b.status = 'pending' AND b.locked_until >= p_now AND b.connection_id IS NOT NULL
    GROUP BY b.connection_id
  ),
  open_connections AS (
    SELECT c.id, least(p_limit, greatest(least(p_connection_concurrency,
             coalesce(c.concurrency_budget, p_connection_concurrency)), 1) - coalesce(busy.n, 0)) AS free
    FROM connections c
      LEFT JOIN busy ON busy.connection_id = c.id
      LEFT JOIN job_connection_due m ON m.connection_id = c.id
    WHERE c.status = 'active' AND (c.hold_until IS NULL OR c.hold_until <= p_now)
      AND (m.due_at IS NULL OR m.due_at <= p_now)
  )
  SELECT array_agg(o.id), array_agg(o.free), array_agg(q.id), array_agg(q.tenant_id), array_agg(q.priority)
  INTO v_connections, v_free, v_head_ids, v_head_tenants, v_head_priorities
  FROM open_connections o LEFT JOIN LATERAL (
    SELECT r.id, r.tenant_id, r.priority FROM runnable_jobs_of(o.id, p_now, p_kinds) r
    ORDER BY r.priority, r.id LIMIT 1
  ) q ON true
  WHERE o.free > 0;

  RETURN QUERY
  WITH heads AS (
    SELECT h.connection_id, h.free, h.id, h.tenant_id, h.priority
    FROM unnest(v_connections, v_free, v_head_ids, v_head_tenants, v_head_priorities)
      AS h(connection_id, free, id, tenant_id, priority)
    WHERE h.id IS NOT NULL
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

  -- The connections read with nothing runnable (of the kinds asked for), each one whose writers are all
  -- committed (the try fails while one holds the shared lock; CASE keeps the try off the others). At most
  -- 200 a claim, so a claim after a restart with thousands of idle connections stays short; the next
  -- claims mark the rest.
  SELECT array_agg(i.connection_id) INTO v_idle
  FROM (SELECT h.connection_id FROM unnest(v_connections, v_head_ids) AS h(connection_id, id)
        WHERE h.id IS NULL LIMIT 200) i
  WHERE pg_try_advisory_xact_lock(1785684596, hashtext(i.connection_id) & 1023);

  -- A new statement, so a new snapshot: it sees every writer that committed before the locks were taken.
  IF v_idle IS NOT NULL THEN
    INSERT INTO job_connection_due AS m (connection_id, due_at)
    SELECT n.connection_id, n.due_at
    FROM (SELECT i.connection_id, connection_next_due(i.connection_id, p_now) AS due_at
          FROM unnest(v_idle) AS i(connection_id)) n
    WHERE n.due_at > p_now
    ON CONFLICT (connection_id) DO UPDATE SET due_at = excluded.due_at;
  END IF;
END;
$$;
