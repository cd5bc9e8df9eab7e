-- The queue probes keyed by a record's queue, (connection, order key), read that queue's jobs only, whatever
-- the statistics say. Written with `status = 'pending'`, the probe of store_webhooks (does a notice for the
-- record wait unread?) and enqueue_jobs's predecessor lookup could also be answered by jobs_due_idx
-- (connection, next_attempt_at) or jobs_leased_idx (locked_until), whose predicate is `status = 'pending'`;
-- with statistics from when the queue was small the planner took those and filtered the connection's whole
-- backlog per notice (1-8 ms with 8,000 pending; ingest fell from ~2,400 to ~700 webhooks/s within 20 s of a
-- fresh database, before any analyze ran). Now each reads its queue's pending and dead jobs behind a fence
-- (OFFSET 0, so the pending filter is not pushed into the scan): only jobs_order_idx, whose predicate is
-- `status in ('pending', 'dead')`, can answer that, and the filter applies to the few rows it returns.
CREATE OR REPLACE FUNCTION enqueue_jobs(p_jobs jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  INSERT INTO jobs (kind, tenant_id, connection_id, order_key, priority, payload, singleton_key, trace_parent,
                    next_attempt_at)
  SELECT r.kind, r.tenant_id, r.connection_id, r.order_key, r.priority, r.payload, r.singleton_key, r.trace_parent,
         CASE WHEN r.connection_id IS NULL OR r.order_key IS NULL
              THEN coalesce(r.next_attempt_at, date_trunc('milliseconds', now()))
              ELSE greatest(coalesce(r.next_attempt_at, date_trunc('milliseconds', now())), (
                SELECT max(p.at) FROM (
                  SELECT q.next_attempt_at AS at, q.status FROM jobs q
                  WHERE q.connection_id = r.connection_id AND q.order_key = r.order_key
                    AND q.status IN ('pending', 'dead')
                  OFFSET 0) p
                WHERE p.status = 'pending')) END
  FROM jsonb_to_recordset(p_jobs) AS r(kind text, tenant_id text, connection_id text, order_key text,
                                      priority smallint, payload jsonb, singleton_key text, trace_parent text,
                                      next_attempt_at timestamptz)
  ON CONFLICT DO NOTHING;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION store_webhooks(p_items jsonb, p_fanout jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  item jsonb;
  notice jsonb;
  conn record;
  results jsonb := '[]';
  entries jsonb := '[]';
  queued jsonb := '[]';
  stored_records jsonb := '{}';
  record_key text;
  dedupe text;
  inbox_id bigint;
  accepted int;
  duplicates int;
BEGIN
  FOR item IN SELECT x FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(x, n) ORDER BY n LOOP
    SELECT c.status, c.settings_encrypted, c.path_secret_encrypted INTO conn
      FROM connections c WHERE c.id = item ->> 'connection_id';
    IF NOT FOUND OR conn.status NOT IN ('active', 'paused')
       OR conn.status IS DISTINCT FROM item ->> 'status'
       OR conn.settings_encrypted IS DISTINCT FROM item ->> 'settings_encrypted'
       OR conn.path_secret_encrypted IS DISTINCT FROM item ->> 'path_secret_encrypted' THEN
      results := results || jsonb_build_array(jsonb_build_object('stale', true));
      CONTINUE;
    END IF;
    entries := entries || (item -> 'repairs');
    accepted := 0;
    duplicates := 0;
    FOR notice IN SELECT x FROM jsonb_array_elements(item -> 'notices') WITH ORDINALITY AS t(x, n) ORDER BY n LOOP
      IF notice ->> 'delivery_key' IS NOT NULL THEN
        dedupe := notice ->> 'delivery_key';
      ELSE
        record_key := (item ->> 'connection_id') || E'\n' || (notice ->> 'external_id');
        IF stored_records ? record_key OR EXISTS (
             SELECT 1 FROM (
               SELECT j.kind, j.status, j.attempts, j.locked_until FROM jobs j
               WHERE j.connection_id = item ->> 'connection_id' AND j.order_key = 'in:' || (notice ->> 'external_id')
                 AND j.status IN ('pending', 'dead')
               OFFSET 0) j
             WHERE j.kind = 'inbox.apply' AND j.status = 'pending' AND j.attempts = 0 AND j.locked_until IS NULL) THEN
          dedupe := NULL;
        ELSE
          dedupe := notice ->> 'unique_key';
          stored_records := stored_records || jsonb_build_object(record_key, true);
        END IF;
      END IF;
      inbox_id := NULL;
      IF dedupe IS NOT NULL THEN
        INSERT INTO inbox (connection_id, dedupe_key, external_id, notice, source, received_at)
        VALUES (item ->> 'connection_id', dedupe, notice ->> 'external_id', notice -> 'notice', 'webhook',
                (item ->> 'received_at')::timestamptz)
        ON CONFLICT DO NOTHING
        RETURNING id INTO inbox_id;
      END IF;
      IF inbox_id IS NOT NULL THEN
        accepted := accepted + 1;
        queued := queued || jsonb_build_array(jsonb_set(notice -> 'job', '{payload,inboxId}', to_jsonb(inbox_id)));
        entries := entries || jsonb_build_array(notice -> 'received_entry');
      ELSE
        duplicates := duplicates + 1;
        entries := entries || jsonb_build_array(notice -> 'duplicate_entry');
      END IF;
    END LOOP;
    results := results || jsonb_build_array(jsonb_build_object('accepted', accepted, 'duplicates', duplicates));
  END LOOP;
  IF jsonb_array_length(queued) > 0 THEN
    PERFORM enqueue_jobs(queued);
  END IF;
  IF jsonb_array_length(entries) > 0 THEN
    PERFORM ledger_append(entries, p_fanout);
  END IF;
  RETURN results;
END;
$$;
