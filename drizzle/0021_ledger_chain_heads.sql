-- An append's chain locks and the chains' heads in one round trip (they were two). The heads must be read
-- after the locks: a statement's snapshot is taken when it starts, and in a VOLATILE plpgsql function each
-- query takes its own, so the second query sees every append committed before the locks were granted.
-- The locks are the same as before (`ledger:<chain key>`, hashed), taken in key order so that two
-- transactions appending to the same chains cannot deadlock. Returns each chain's head hash and one sequence
-- number per entry to append, ascending.
CREATE OR REPLACE FUNCTION ledger_lock_chains(p_chain_keys text[], p_entries int) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  result json;
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended(l.k, 0)))
    FROM (SELECT 'ledger:' || c AS k FROM unnest(p_chain_keys) AS c ORDER BY 1) AS l;
  SELECT json_build_object(
    'heads', (SELECT json_agg(json_build_array(c, (SELECT e.hash FROM ledger_entries e
                                                   WHERE e.chain_key = c ORDER BY e.sequence DESC LIMIT 1)))
              FROM unnest(p_chain_keys) AS c),
    'sequences', (SELECT json_agg(s ORDER BY s) FROM (
                    SELECT nextval(pg_get_serial_sequence('ledger_entries', 'sequence')) AS s
                    FROM generate_series(1, p_entries)) AS allocated))
  INTO result;
  RETURN result;
END;
$$;
