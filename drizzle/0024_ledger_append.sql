-- An append in one round trip (it was two: the locks, heads and sequences, then the insert). The caller sends
-- each entry with its hash input split around the two values only the database knows under the chain's lock:
-- `hash_prefix` is the entry's canonical JSON up to `"prevHash":`, `hash_suffix` what follows the sequence
-- (src/ledger/entry-hash.ts), so the hash is the same SHA-256 of the same bytes that verification recomputes.
-- Locks as in ledger_lock_chains (`ledger:<chain key>`, hashed, in key order), so appends by this function and
-- by ledger_lock_chains exclude each other during a rolling deploy; heads are read after the locks, in a
-- later statement (its own snapshot). Sequences ascend in entry order. Entries with an `event_type` get one
-- event fan-out job (`p_fanout`: kind, priority, trace_parent; its tenant the events' one tenant, else none),
-- due at once, when an enabled subscription could take one of them (its tenant's or every tenant's, one of
-- the types): the fan-out would find nothing to deliver otherwise. A subscription committed after this
-- statement started sees later events only, as one created a moment later would. Returns each entry's
-- sequence, previous hash and hash, in entry order.
CREATE OR REPLACE FUNCTION ledger_append(p_entries jsonb, p_fanout jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  heads jsonb;
  e jsonb;
  seq bigint;
  prev text;
  digest text;
  stored jsonb := '[]';
  event_sequences jsonb := '[]';
  fanout_types text[] := '{}';
  fanout_tenants text[] := '{}';
  fanout_tenant text;
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended(l.k, 0)))
    FROM (SELECT DISTINCT 'ledger:' || (x ->> 'chain_key') AS k FROM jsonb_array_elements(p_entries) AS x
          ORDER BY 1) AS l;
  SELECT coalesce(jsonb_object_agg(c.k, (SELECT le.hash FROM ledger_entries le
                                         WHERE le.chain_key = c.k ORDER BY le.sequence DESC LIMIT 1)), '{}')
    INTO heads
    FROM (SELECT DISTINCT x ->> 'chain_key' AS k FROM jsonb_array_elements(p_entries) AS x) AS c;
  FOR e IN SELECT x FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(x, n) ORDER BY n LOOP
    seq := nextval(pg_get_serial_sequence('ledger_entries', 'sequence'));
    prev := heads ->> (e ->> 'chain_key');
    digest := encode(sha256(convert_to(
      (e ->> 'hash_prefix') || coalesce('"' || prev || '"', 'null') || ',"sequence":' || seq || (e ->> 'hash_suffix'),
      'UTF8')), 'hex');
    heads := jsonb_set(heads, ARRAY[e ->> 'chain_key'], to_jsonb(digest));
    INSERT INTO ledger_entries (sequence, occurred_at, chain_key, tenant_id, ticket_id, connection_id, direction,
                                kind, actor_type, actor_id, side, external_id, payload_hash, detail, prev_hash, hash)
    VALUES (seq, (e ->> 'occurred_at')::timestamptz, e ->> 'chain_key', e ->> 'tenant_id', e ->> 'ticket_id',
            e ->> 'connection_id', e ->> 'direction', e ->> 'kind', e ->> 'actor_type', e ->> 'actor_id',
            e ->> 'side', e ->> 'external_id', e ->> 'payload_hash', e -> 'detail', prev, digest);
    IF e ->> 'event_type' IS NOT NULL THEN
      event_sequences := event_sequences || to_jsonb(seq);
      fanout_types := fanout_types || (e ->> 'event_type');
      fanout_tenants := fanout_tenants || coalesce(e ->> 'tenant_id', '');
    END IF;
    stored := stored || jsonb_build_array(jsonb_build_array(seq, prev, digest));
  END LOOP;
  IF jsonb_array_length(event_sequences) > 0 THEN
    fanout_tenant := CASE WHEN (SELECT count(DISTINCT t) FROM unnest(fanout_tenants) AS t) = 1
                          THEN nullif(fanout_tenants[1], '') END;
    IF EXISTS (SELECT 1 FROM event_subscriptions s
               WHERE s.enabled
                 AND (s.tenant_id IS NULL OR fanout_tenant IS NULL OR s.tenant_id = fanout_tenant)
                 AND s.event_types ?| fanout_types) THEN
      INSERT INTO jobs (kind, tenant_id, priority, payload, trace_parent, next_attempt_at)
      VALUES (p_fanout ->> 'kind', fanout_tenant, (p_fanout ->> 'priority')::int,
              jsonb_build_object('sequences', event_sequences), p_fanout ->> 'trace_parent', 'epoch');
    END IF;
  END IF;
  RETURN stored;
END;
$$;
