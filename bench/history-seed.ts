import { sql } from "drizzle-orm";
import { type Db, queryRows } from "../src/db/client.js";
import { chainKeyOf, entryHashInput } from "../src/ledger/entry-hash.js";
import { newId } from "../src/lib/ids.js";

/**
 * A year of history, written set-based (a million ledger entries in one statement): tenants sized like a long-tail
 * customer base (the n-th tenant has 1/n of the first one's tickets), each with a ServiceNow connection (a copy of
 * a connection created through the API, so its settings decrypt), ten hash-chained ledger entries per ticket
 * (created, SLA target, sent, applied, updated, comment, ...) on the ticket's chain shard, and pending jobs of
 * real kinds on those connections, spread as a queue with a long history holds them: retries in backoff,
 * work waiting behind a paused or held connection, updates queued behind an earlier update of the same ticket.
 */
export interface SeededHistory {
  tenantIds: string[];
  /** Ledger entries per seeded tenant, in `tenantIds` order (largest first). */
  entriesPerTenant: number[];
  entries: number;
  tickets: number;
  /** Pending jobs by what keeps them from running now. */
  pending: { backoff: number; pausedOrHeld: number; queuedBehind: number };
  seconds: number;
}

export const ENTRIES_PER_TICKET = 10;

/** The fields the hash covers, as SQL over the seed's columns (JSON literals built the way `canonicalJson` does). */
function canonicalEntrySql(): { prefix: string; suffix: string } {
  const json = (column: string) => `coalesce(to_json(${column})::text, 'null')`;
  const fields: Record<string, string> = {
    sequence: "sequence::text",
    occurredAt: `to_json(to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text`,
    chainKey: json("chain_key"),
    tenantId: json("tenant_id"),
    ticketId: json("ticket_id"),
    connectionId: json("connection_id"),
    direction: json("direction"),
    kind: json("kind"),
    actorType: json("actor_type"),
    actorId: json("actor_id"),
    side: json("side"),
    externalId: json("external_id"),
    payloadHash: json("payload_hash"),
    detail: "detail_text",
    prevHash: "",
  };
  // The key order of the hash input itself, so this follows any change to it.
  const probe = entryHashInput({
    sequence: 0,
    occurredAt: new Date(0),
    chainKey: "",
    tenantId: null,
    ticketId: null,
    connectionId: null,
    direction: "internal",
    kind: "",
    actorType: "",
    actorId: null,
    side: "provider",
    externalId: null,
    payloadHash: null,
    detail: {},
    prevHash: null,
  });
  const keys = Object.keys(JSON.parse(probe) as object);
  const at = keys.indexOf("prevHash");
  const part = (list: string[], first: boolean) =>
    list.map((key, i) => `'${i === 0 && first ? "{" : ","}"${key}":' || ${fields[key]}`).join(" || ");
  return {
    prefix: `${part(keys.slice(0, at), true)} || ',"prevHash":'`,
    suffix: `${part(keys.slice(at + 1), false)} || '}'`,
  };
}

/** Each receiving connection's poll, spread over the next poll interval as a running deployment has them. */
function seedPolls(run: (statement: string) => Promise<unknown>) {
  return run(`insert into jobs (kind, tenant_id, connection_id, priority, singleton_key, next_attempt_at)
    select 'connection.poll', t.id, c.id, 5, 'poll:' || c.id, now() + (60 + t.n % 300) * interval '1 second'
    from seed_tenants t join connections c on c.tenant_id = t.id on conflict do nothing`);
}

export async function seedHistory(
  db: Db,
  size: { tenants: number; entries: number; pendingJobs: number },
  template: { connectionId: string },
): Promise<SeededHistory> {
  const started = performance.now();
  const totalTickets = Math.floor(size.entries / ENTRIES_PER_TICKET);
  const harmonic = Array.from({ length: size.tenants }, (_, i) => 1 / (i + 1));
  const weight = harmonic.reduce((a, b) => a + b, 0);
  // No history at all (the empty phase): the same tenants and connections, no tickets, entries or jobs.
  const ticketsPerTenant = harmonic.map((h) =>
    totalTickets === 0 ? 0 : Math.max(1, Math.round((h / weight) * totalTickets)),
  );
  ticketsPerTenant[0]! += totalTickets - ticketsPerTenant.reduce((a, b) => a + b, 0);
  const tenantIds = ticketsPerTenant.map(() => newId("tenant"));
  const ticketIds: string[] = [];
  const ticketTenants: number[] = [];
  const ticketChains: string[] = [];
  ticketsPerTenant.forEach((count, t) => {
    for (let i = 0; i < count; i++) {
      const id = newId("ticket");
      ticketIds.push(id);
      ticketTenants.push(t + 1);
      ticketChains.push(chainKeyOf({ tenantId: tenantIds[t]!, ticketId: id }));
    }
  });
  const run = (statement: string) => db.execute(sql.raw(statement));
  await db.execute(sql`create temporary table seed_tenants as
    select n, id from unnest(${sql.raw(`array[${tenantIds.map((id) => `'${id}'`).join(",")}]`)}::text[])
      with ordinality as s(id, n)`);
  // Tickets arrive over the past year in random order across tenants (ticket n at `n` steps of the year).
  await db.execute(sql`create temporary table seed_tickets as
    select row_number() over (order by md5(s.id)) as n, s.id, s.tenant_n, s.chain_key
    from unnest(${sql.raw(`array[${ticketIds.map((id) => `'${id}'`).join(",")}]`)}::text[],
                ${sql.raw(`array[${ticketTenants.join(",")}]`)}::int[],
                ${sql.raw(`array[${ticketChains.map((c) => `'${c}'`).join(",")}]`)}::text[]) as s(id, tenant_n, chain_key)`);
  await run(`insert into tenants (id, name, plan, created_at, updated_at)
    select id, 'history-' || n, 'ombori-production', now() - interval '400 days', now() - interval '400 days' from seed_tenants`);
  // One ServiceNow connection per tenant: every 10th paused (jobs wait for an operator), every 20th held by the vendor.
  await run(`insert into connections (id, tenant_id, type, name, role, direction, settings_encrypted,
      path_secret_encrypted, status, paused_reason, paused_by, paused_at, hold_until, created_at, updated_at)
    select 'con_h' || lpad(t.n::text, 6, '0'), t.id, c.type, 'history-' || t.n, c.role, c.direction,
      c.settings_encrypted, c.path_secret_encrypted,
      case when t.n % 10 = 5 then 'paused' else 'active' end,
      case when t.n % 10 = 5 then 'vendor rejected the credentials' end,
      case when t.n % 10 = 5 then 'system' end,
      case when t.n % 10 = 5 then now() - interval '2 hours' end,
      case when t.n % 20 = 7 then now() + interval '1 hour' end,
      now() - interval '400 days', now() - interval '400 days'
    from seed_tenants t, connections c where c.id = '${template.connectionId}'`);
  if (totalTickets === 0) {
    await seedPolls(run);
    await run("analyze");
    await run("drop table seed_tickets");
    await run("drop table seed_tenants");
    return {
      tenantIds,
      entriesPerTenant: ticketsPerTenant.map(() => 0),
      entries: 0,
      tickets: 0,
      pending: { backoff: 0, pausedOrHeld: 0, queuedBehind: 0 },
      seconds: (performance.now() - started) / 1000,
    };
  }
  await run(`insert into tickets (id, tenant_id, title, description, priority, status, category, created_at, updated_at, version)
    select k.id, t.id, 'Circuit down at site ' || k.n, 'Packet loss on the primary circuit.',
      'P' || (1 + k.n % 4), case when k.n % 3 = 0 then 'open' else 'resolved' end, 'network',
      now() - interval '365 days' + k.n * interval '1 second' * (31536000.0 / ${totalTickets}),
      now() - interval '365 days' + k.n * interval '1 second' * (31536000.0 / ${totalTickets}) + interval '5 hours',
      4
    from seed_tickets k join seed_tenants t on t.n = k.tenant_n`);
  const base = Number(
    (
      await queryRows<{ max: string | number | null }>(
        db,
        sql`select coalesce(max(sequence), 0) as max from ledger_entries`,
      )
    )[0]?.max ?? 0,
  );
  // A running aggregate over each chain in sequence order: every entry's hash covers its predecessor's.
  await run(`create function pg_temp.chain_step(prev text, prefix text, suffix text) returns text
    language sql immutable as
    $$ select encode(sha256(convert_to(prefix || coalesce('"' || prev || '"', 'null') || suffix, 'UTF8')), 'hex') $$`);
  await run("create aggregate pg_temp.chain_hash(text, text) (sfunc = pg_temp.chain_step, stype = text)");
  const { prefix, suffix } = canonicalEntrySql();
  await run(`insert into ledger_entries (sequence, occurred_at, chain_key, tenant_id, ticket_id, connection_id,
      direction, kind, actor_type, actor_id, side, external_id, payload_hash, detail, prev_hash, hash)
    select sequence, occurred_at, chain_key, tenant_id, ticket_id, connection_id, direction, kind, actor_type,
      actor_id, side, external_id, payload_hash, detail_text::jsonb,
      lag(hash) over (partition by chain_key order by sequence), hash
    from (
      select *, pg_temp.chain_hash(${prefix}, ${suffix}) over (partition by chain_key order by sequence) as hash
      from (
        select ${base} + row_number() over (order by occurred_at, n, k) as sequence, *
        from (
          select k.n, e.k, k.chain_key, t.id as tenant_id, k.id as ticket_id,
            date_trunc('milliseconds', now() - interval '365 days')
              + (k.n * (31536000000 / ${totalTickets}) + e.k * 2221000) * interval '1 millisecond' as occurred_at,
            case when e.k in (2, 3, 5, 7, 9) then 'con_h' || lpad(t.n::text, 6, '0') end as connection_id,
            case when e.k in (2, 9) then 'outbound' when e.k in (3, 5, 7) then 'inbound' else 'internal' end as direction,
            (array['ticket.created', 'sla.target_set', 'sync.sent', 'sync.applied', 'ticket.updated', 'sync.applied',
              'ticket.updated', 'sync.applied', 'comment.added', 'sync.sent'])[e.k + 1] as kind,
            case when e.k in (0, 4, 6, 8) then 'api_key' else 'system' end as actor_type,
            case when e.k in (0, 4, 6, 8) then 'key_h' || t.n end as actor_id,
            case when e.k in (1) then 'provider' else 'client' end as side,
            case when e.k in (2, 3, 5, 7, 9) then 'INC' || lpad(k.n::text, 7, '0') end as external_id,
            case when e.k in (3, 5, 7) then md5(k.id || e.k) || md5(e.k || k.id) end as payload_hash,
            case e.k
              when 0 then '{"priority":"P' || (1 + k.n % 4) || '","status":"new"}'
              when 1 then '{"clock":"response","targetMinutes":' || (30 * (1 + k.n % 4)) || '}'
              when 2 then '{"job":"ticket.create"}'
              when 8 then '{"commentId":"cmt_h' || k.n || '","public":true}'
              when 9 then '{"job":"comment.add"}'
              when 4 then '{"fields":["status"],"version":2}'
              when 6 then '{"fields":["priority","status"],"version":3}'
              else '{"fields":["status"]}'
            end as detail_text
          from seed_tickets k join seed_tenants t on t.n = k.tenant_n
            cross join generate_series(0, ${ENTRIES_PER_TICKET - 1}) as e(k)
        ) entries
      ) numbered
    ) hashed`);
  await run(
    "select setval(pg_get_serial_sequence('ledger_entries', 'sequence'), (select max(sequence) from ledger_entries))",
  );
  // Pending jobs on the tickets' connections: on a paused or held connection everything waits (due); elsewhere
  // nine in ten retry in backoff (due in 15 min to 6 h) and every tenth is an update queued behind the previous
  // job of its ticket, itself in backoff, and due when it is (as `enqueueJobs` and a failed run leave it).
  await run(`insert into jobs (kind, tenant_id, connection_id, order_key, priority, payload, status, attempts,
      next_attempt_at, last_error, last_http_status, created_at)
    select kind, tenant_id, connection_id, order_key, priority, payload, 'pending',
      case when waiting then 0 when g % 10 = 9 then 0 else 1 + g % 8 end,
      case when waiting then now() - (g % 3600) * interval '1 second'
        when g % 10 = 9 then now() + (900 + (g - 1) * 7919 % 20700) * interval '1 second'
        else now() + (900 + g * 7919 % 20700) * interval '1 second' end,
      case when not waiting and g % 10 <> 9 then 'ServiceNow answered 503 Service Unavailable' end,
      case when not waiting and g % 10 <> 9 then 503 end,
      now() - (g % 86400) * interval '1 second'
    from (
      select g, t.id as tenant_id, c.id as connection_id,
        c.status = 'paused' or c.hold_until is not null as waiting,
        case when g % 20 = 0 then 'inbox.apply' else (array['ticket.update', 'ticket.update', 'comment.add',
          'ticket.create', 'ticket.update', 'attachment.copy', 'ticket.update', 'comment.add', 'ticket.update',
          'ticket.update'])[1 + g % 10] end as kind,
        case when g % 20 = 0 then 'in:INC' || lpad(k.n::text, 7, '0') else k.id end as order_key,
        1 + k.n % 4 as priority,
        case when g % 20 = 0 then jsonb_build_object('externalId', 'INC' || lpad(k.n::text, 7, '0'))
          else jsonb_build_object('ticketId', k.id) end as payload
      from generate_series(1, ${size.pendingJobs}) as g
        join seed_tickets k on k.n = 1 + (g - case when g % 10 = 9 then 1 else 0 end) % ${totalTickets}
        join seed_tenants t on t.n = k.tenant_n
        join connections c on c.id = 'con_h' || lpad(t.n::text, 6, '0')
      order by g
    ) j`);
  await seedPolls(run);
  await run("analyze");
  // A database with a year of history has its pages written out; without this the bulk load's checkpoint
  // (about a gigabyte of WAL on PostgreSQL) lands in the middle of the measurements that follow.
  await run("checkpoint");
  const [pending] = await queryRows<{ backoff: number; waiting: number; queued: number }>(
    db,
    sql`select count(*) filter (where j.next_attempt_at > now() and not behind)::int as backoff,
          count(*) filter (where j.next_attempt_at <= now() and (c.status = 'paused' or c.hold_until > now()))::int as waiting,
          count(*) filter (where behind and c.status = 'active' and c.hold_until is null)::int as queued
        from (select *, exists (select 1 from jobs p where p.connection_id = q.connection_id
                and p.order_key = q.order_key and p.id < q.id and p.status = 'pending') as behind
              from jobs q) j
        join connections c on c.id = j.connection_id
        where j.status = 'pending' and j.kind <> 'connection.poll' and c.id like 'con_h%'`,
  );
  await run("drop table seed_tickets");
  await run("drop table seed_tenants");
  return {
    tenantIds,
    entriesPerTenant: ticketsPerTenant.map((n) => n * ENTRIES_PER_TICKET),
    entries: totalTickets * ENTRIES_PER_TICKET,
    tickets: totalTickets,
    pending: {
      backoff: pending?.backoff ?? 0,
      pausedOrHeld: pending?.waiting ?? 0,
      queuedBehind: pending?.queued ?? 0,
    },
    seconds: (performance.now() - started) / 1000,
  };
}
