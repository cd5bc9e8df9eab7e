import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, asc, eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { jobs, ledgerEntries } from "../../src/db/schema/index.js";
import { ensurePeriodicJobs } from "../../src/jobs/queue.js";
import { JobRunner } from "../../src/jobs/runner.js";
import { appendLedger } from "../../src/ledger/append.js";
import { signCheckpoints } from "../../src/ledger/checkpoints.js";
import { computeEntryHash } from "../../src/ledger/entry-hash.js";
import { generateSigningKey, LedgerKeyring, parsePublicKey, parseSigningKey } from "../../src/ledger/keys.js";
import { verifyExport } from "../../src/ledger/offline-verify.js";
import { jobContext } from "../../src/runtime.js";
import { client, createTenant, createTestApp, openTicket, type TestContext } from "../harness.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

const keyring = () => ctx.deps.config.ledger.keyring;
const sign = (ring: LedgerKeyring = keyring()) =>
  signCheckpoints(ctx.database.db, { keyring: ring, now: () => new Date() });

/**
 * Runs SQL as an attacker with database rights would: one session, triggers off for it
 * (`session_replication_role = replica` needs a superuser on PostgreSQL; PGlite runs the same SQL).
 */
async function asAttacker(statements: [string, unknown[]?][]) {
  if (ctx.database.testUrl) {
    const session = postgres(ctx.database.testUrl, { max: 1, onnotice: () => {} });
    try {
      await session.begin(async (tx) => {
        await tx.unsafe("set local session_replication_role = replica");
        for (const [text, params] of statements) await tx.unsafe(text, (params ?? []) as never[]);
      });
    } finally {
      await session.end();
    }
    return;
  }
  await ctx.database.pglite!.transaction(async (tx) => {
    await tx.exec("set local session_replication_role = replica");
    for (const [text, params] of statements) await tx.query(text, params ?? []);
  });
}

/** A tenant with tickets and changes, so its ledger spreads over several chains, one of them long. */
async function busyTenant() {
  const tenant = await createTenant(ctx);
  const ticket = await openTicket(tenant.client);
  await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { status: "acknowledged" });
  await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { priority: "P1" });
  await ctx.admin.post(`/v1/tickets/${ticket.id}/comments`, { body: "on it", visibility: "public" });
  await openTicket(tenant.client, { title: "second" });
  const chain = await ctx.database.db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.ticketId, ticket.id))
    .orderBy(asc(ledgerEntries.sequence));
  const chainKey = chain[0]!.chainKey;
  const full = await ctx.database.db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.chainKey, chainKey))
    .orderBy(asc(ledgerEntries.sequence));
  expect(full.length, "the ticket's chain is long enough to tamper with").toBeGreaterThanOrEqual(4);
  return { tenant, ticket, chainKey, chain: full };
}

/** Signs, and returns the tenant's newest checkpoint as the tenant itself fetched and kept it. */
async function keepCheckpoint(tenant: Awaited<ReturnType<typeof createTenant>>) {
  await sign();
  const res = await tenant.client.get(`/v1/ledger/checkpoints?scope=${tenant.id}&limit=1`);
  expect(res.status, res.text).toBe(200);
  expect(res.body.items).toHaveLength(1);
  return res.body.items[0];
}

async function verifyKept(tenant: { client: ReturnType<typeof client> }, checkpoints: unknown[]) {
  const res = await tenant.client.post("/v1/ledger/verify", { checkpoints });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function exportOf(tenantId: string) {
  const res = await ctx.admin.get(`/v1/ledger/export?tenantId=${tenantId}`);
  expect(res.status).toBe(200);
  return res.text;
}

describe("signing checkpoints", () => {
  it("commits to every chain head of a tenant, and signs again only when the chains moved", async () => {
    const { tenant, ticket } = await busyTenant();
    const first = await sign();
    const mine = first.signed.find((c) => c.scope === tenant.id)!;
    expect(mine).toBeDefined();
    expect(mine.heads.length).toBeGreaterThanOrEqual(2);
    const entries = (await ctx.admin.get(`/v1/ledger?tenantId=${tenant.id}&limit=200`)).body.items;
    expect(mine.entries).toBe(entries.length);

    const again = await sign();
    expect(again.signed.find((c) => c.scope === tenant.id)).toBeUndefined();

    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { title: "moved" });
    const moved = await sign();
    const next = moved.signed.find((c) => c.scope === tenant.id)!;
    expect(next.entries).toBeGreaterThan(mine.entries);
    const verified = await verifyKept(tenant, [
      (await tenant.client.get(`/v1/ledger/checkpoints?scope=${tenant.id}`)).body.items[1],
    ]);
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
  });

  it("signs a checkpoint for the provider's own chain (entries without a tenant)", async () => {
    const res = await ctx.admin.post("/v1/operators", { name: "auditor", tenantIds: null });
    expect(res.status).toBe(201);
    await sign();
    const page = await ctx.admin.get("/v1/ledger/checkpoints?scope=provider");
    expect(page.status).toBe(200);
    expect(page.body.items[0]).toMatchObject({ scope: "provider", tenantId: null });
  });

  it("publishes the keys as a JWKS and each checkpoint names its key", async () => {
    const tenant = await createTenant(ctx);
    const jwks = await tenant.client.get("/v1/ledger/keys");
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).toMatchObject({
      kty: "OKP",
      crv: "Ed25519",
      alg: "EdDSA",
      kid: keyring().keyId,
    });
    const kept = await keepCheckpoint(tenant);
    expect(kept.keyId).toBe(jwks.body.keys[0].kid);
  });
});

describe("who sees which checkpoints", () => {
  it("a tenant key lists its own, and another tenant's checkpoint or the provider's is 404", async () => {
    const a = await busyTenant();
    const b = await busyTenant();
    await sign();
    const own = await a.tenant.client.get("/v1/ledger/checkpoints");
    expect(own.body.items.length).toBeGreaterThan(0);
    expect(own.body.items.every((c: { scope: string }) => c.scope === a.tenant.id)).toBe(true);
    expect((await a.tenant.client.get(`/v1/ledger/checkpoints?scope=${b.tenant.id}`)).status).toBe(404);
    expect((await a.tenant.client.get("/v1/ledger/checkpoints?scope=provider")).status).toBe(404);
    const theirs = (await b.tenant.client.get("/v1/ledger/checkpoints?limit=1")).body.items[0];
    const res = await a.tenant.client.post("/v1/ledger/verify", { checkpoints: [theirs] });
    expect(res.status, res.text).toBe(404);
  });

  it("rejects a malformed verify request as a problem", async () => {
    const res = await ctx.admin.post("/v1/ledger/verify", { checkpoints: [{ id: "x" }] });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("tampering, done with triggers disabled, is caught against checkpoints kept before it", () => {
  it("an intact ledger verifies, online and offline", async () => {
    const { tenant } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const result = await verifyKept(tenant, [kept]);
    expect(result, JSON.stringify(result)).toMatchObject({
      ok: true,
      results: [{ ok: true, signature: "valid" }],
    });
    const offline = await verifyExport(await exportOf(tenant.id), keyring().jwks, [kept]);
    expect(offline.ok, JSON.stringify(offline)).toBe(true);
    expect(offline.checkpoints).toHaveLength(2);
  });

  it("an entry edited in the middle of a chain: entry_altered at that entry", async () => {
    const { tenant, chain } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const target = chain[1]!;
    await asAttacker([
      [`update ledger_entries set detail = '{"forged":true}'::jsonb where sequence = $1`, [target.sequence]],
    ]);
    const result = await verifyKept(tenant, [kept]);
    expect(result.ok).toBe(false);
    expect(result.results[0].firstDivergence, JSON.stringify(result)).toMatchObject({
      kind: "entry_altered",
      sequence: target.sequence,
    });
    const offline = await verifyExport(await exportOf(tenant.id), keyring().jwks, [kept]);
    expect(offline.ok).toBe(false);
    expect(offline.checkpoints[1]!.divergences[0]).toMatchObject({
      kind: "entry_altered",
      sequence: target.sequence,
    });
  });

  it("the newest entries deleted: truncated at the committed head (GET /v1/ledger/verify alone says ok)", async () => {
    const { tenant, chain, chainKey } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const head = chain[chain.length - 1]!;
    await asAttacker([["delete from ledger_entries where sequence = $1", [head.sequence]]]);
    const plain = await ctx.admin.get(`/v1/ledger/verify?tenantId=${tenant.id}`);
    expect(plain.body.ok, "the hash chains alone cannot see a tail deletion").toBe(true);
    const result = await verifyKept(tenant, [kept]);
    expect(result.results[0].firstDivergence, JSON.stringify(result)).toMatchObject({
      chainKey,
      kind: "truncated",
      sequence: head.sequence,
    });
    const refused = await sign();
    expect(refused.refused.find((r) => r.scope === tenant.id)?.divergences[0]).toMatchObject({
      kind: "entry_missing",
    });
    const offline = await verifyExport(await exportOf(tenant.id), keyring().jwks, [kept]);
    expect(offline.ok).toBe(false);
    expect(offline.checkpoints.some((c) => c.divergences.some((d) => d.kind === "truncated"))).toBe(true);
  });

  it("the newest entry deleted and the chain gone on: entry_missing at the committed head", async () => {
    const { tenant, ticket, chain } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const head = chain[chain.length - 1]!;
    await asAttacker([["delete from ledger_entries where sequence = $1", [head.sequence]]]);
    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { title: "after the deletion" });
    const result = await verifyKept(tenant, [kept]);
    expect(result.results[0].firstDivergence, JSON.stringify(result)).toMatchObject({
      kind: "entry_missing",
      sequence: head.sequence,
    });
  });

  it("a chain rewritten with recomputed hashes: head_rewritten at the committed head", async () => {
    const { tenant, chain, chainKey } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const statements: [string, unknown[]][] = [];
    let prevHash: string | null = chain[0]!.prevHash;
    chain.forEach((entry, i) => {
      const content = { ...entry, prevHash, detail: i === 1 ? { forged: true } : entry.detail };
      const { hash: _old, ...rest } = content;
      const hash = computeEntryHash(rest);
      if (i >= 1) {
        statements.push([
          "update ledger_entries set detail = $1::jsonb, prev_hash = $2, hash = $3 where sequence = $4",
          [JSON.stringify(content.detail), prevHash, hash, entry.sequence],
        ]);
      }
      prevHash = hash;
    });
    await asAttacker(statements);
    const plain = await ctx.admin.get(`/v1/ledger/verify?tenantId=${tenant.id}`);
    expect(plain.body.ok, "a rewritten chain is consistent in itself").toBe(true);
    const result = await verifyKept(tenant, [kept]);
    expect(result.results[0].firstDivergence, JSON.stringify(result)).toMatchObject({
      chainKey,
      kind: "head_rewritten",
      sequence: chain[chain.length - 1]!.sequence,
    });
    const offline = await verifyExport(await exportOf(tenant.id), keyring().jwks, [kept]);
    expect(offline.ok).toBe(false);
    expect(offline.checkpoints[1]!.divergences[0]).toMatchObject({ kind: "head_rewritten" });
  });

  it("a whole shard removed: chain_missing", async () => {
    const { tenant, chainKey } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    await asAttacker([["delete from ledger_entries where chain_key = $1", [chainKey]]]);
    const plain = await ctx.admin.get(`/v1/ledger/verify?tenantId=${tenant.id}`);
    expect(plain.body.ok, "the other chains are intact in themselves").toBe(true);
    const result = await verifyKept(tenant, [kept]);
    expect(result.results[0].divergences, JSON.stringify(result)).toEqual([
      expect.objectContaining({ chainKey, kind: "chain_missing" }),
    ]);
    const offline = await verifyExport(await exportOf(tenant.id), keyring().jwks, [kept]);
    expect(offline.checkpoints[1]!.divergences[0]).toMatchObject({ chainKey, kind: "chain_missing" });
  });

  it("two entries swapped in order: link_broken at the first swapped position", async () => {
    const { tenant, chain } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const [a, b] = [chain[1]!, chain[2]!];
    await asAttacker([
      ["update ledger_entries set sequence = -1 where sequence = $1", [a.sequence]],
      ["update ledger_entries set sequence = $1 where sequence = $2", [a.sequence, b.sequence]],
      ["update ledger_entries set sequence = $1 where sequence = -1", [b.sequence]],
    ]);
    const result = await verifyKept(tenant, [kept]);
    expect(result.results[0].firstDivergence, JSON.stringify(result)).toMatchObject({
      kind: "link_broken",
      sequence: a.sequence,
    });
  });

  it("a checkpoint whose root or heads were altered no longer verifies", async () => {
    const { tenant } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const forged = { ...kept, entries: kept.entries - 1, heads: kept.heads.slice(1) };
    const result = await verifyKept(tenant, [forged]);
    expect(result.results[0]).toMatchObject({ ok: false, signature: "invalid" });
    expect(result.results[0].problems.join()).toMatch(/root/);
  });
});

describe("a chain that moved by more than one read batch since the last checkpoint", () => {
  it("is walked in batches: signed with every entry counted, and an edit in a later batch refuses it", async () => {
    const appendMany = (tenantId: string, ticketId: string) =>
      ctx.database.db.transaction((tx) =>
        appendLedger(
          tx,
          Array.from({ length: 1010 }, (_, n) => ({
            tenantId,
            ticketId,
            direction: "internal" as const,
            kind: "ticket.updated",
            actor: { type: "system" as const, id: "test" },
            side: "provider" as const,
            detail: { n },
          })),
        ),
      );
    const intact = await createTenant(ctx);
    const intactTicket = await openTicket(intact.client);
    const tampered = await createTenant(ctx);
    const tamperedTicket = await openTicket(tampered.client);
    await sign();
    await appendMany(intact.id, intactTicket.id);
    const victim = (await appendMany(tampered.id, tamperedTicket.id))[1005]!;
    await asAttacker([
      [`update ledger_entries set detail = '{"forged":true}'::jsonb where sequence = $1`, [victim.sequence]],
    ]);
    const run = await sign();
    const intactEntries = await ctx.database.db
      .select({ sequence: ledgerEntries.sequence })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.tenantId, intact.id));
    expect(run.signed.find((c) => c.scope === intact.id)?.entries).toBe(intactEntries.length);
    expect(run.refused.find((r) => r.scope === tampered.id)?.divergences[0]).toMatchObject({
      kind: "entry_altered",
      sequence: victim.sequence,
    });
  }, 120_000);
});

describe("key rotation", () => {
  it("old checkpoints verify under a previous key, new ones carry the new kid, a dropped key is unknown", async () => {
    const { tenant, ticket } = await busyTenant();
    const old = await keepCheckpoint(tenant);
    const oldKeyring = keyring();
    const nextKey = parseSigningKey(generateSigningKey());
    // What LEDGER_SIGNING_KEYS_PREVIOUS holds after a rotation: the old key's published `x`.
    const rotated = new LedgerKeyring(
      nextKey,
      oldKeyring.jwks.keys.map((k) => parsePublicKey(k.x)),
    );
    const next = new LedgerKeyring(nextKey);
    const rotatedApp = createApp({
      ...ctx.deps,
      config: { ...ctx.deps.config, ledger: { keyring: rotated, checkpointIntervalMs: 60_000 } },
    });
    const rotatedClient = client(rotatedApp, tenant.apiKey);
    const jwks = (await rotatedClient.get("/v1/ledger/keys")).body;
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([rotated.keyId, oldKeyring.keyId]);

    await ctx.admin.patch(`/v1/tickets/${ticket.id}`, { title: "after rotation" });
    const signed = await sign(rotated);
    expect(signed.signed.find((c) => c.scope === tenant.id)?.keyId).toBe(rotated.keyId);
    const fresh = (await rotatedClient.get(`/v1/ledger/checkpoints?scope=${tenant.id}&limit=1`)).body
      .items[0];

    const both = await rotatedClient.post("/v1/ledger/verify", { checkpoints: [old, fresh] });
    expect(both.body, both.text).toMatchObject({ ok: true });
    const offline = await verifyExport(await exportOf(tenant.id), jwks, [old]);
    expect(offline.ok, JSON.stringify(offline)).toBe(true);

    const dropped = createApp({
      ...ctx.deps,
      config: { ...ctx.deps.config, ledger: { keyring: next, checkpointIntervalMs: 60_000 } },
    });
    const withoutOld = await client(dropped, tenant.apiKey).post("/v1/ledger/verify", { checkpoints: [old] });
    expect(withoutOld.body.results[0]).toMatchObject({ ok: false, signature: "unknown_key" });
  });
});

describe("the offline verifier command", () => {
  it("exits 0 on an intact export and 1 on a tampered one", async () => {
    const { tenant, chain } = await busyTenant();
    const kept = await keepCheckpoint(tenant);
    const dir = mkdtempSync(join(tmpdir(), "tsg-verify-"));
    const keysFile = join(dir, "jwks.json");
    writeFileSync(keysFile, JSON.stringify((await tenant.client.get("/v1/ledger/keys")).body));
    const keptFile = join(dir, "kept.json");
    writeFileSync(keptFile, JSON.stringify([kept]));
    const exportFile = join(dir, "export.ndjson");
    const run = () => {
      const res = spawnSync(
        process.execPath,
        [
          "bin/ticket-sync-gateway.mjs",
          "verify-export",
          exportFile,
          "--keys",
          keysFile,
          "--checkpoints",
          keptFile,
        ],
        { encoding: "utf8" },
      );
      return { status: res.status, out: `${res.stdout}${res.stderr}` };
    };
    writeFileSync(exportFile, await exportOf(tenant.id));
    const good = run();
    expect(good.status, good.out).toBe(0);
    expect(good.out).toContain("VERIFIED");

    await asAttacker([
      ["delete from ledger_entries where sequence = $1", [chain[chain.length - 1]!.sequence]],
    ]);
    writeFileSync(exportFile, await exportOf(tenant.id));
    const bad = run();
    expect(bad.status, bad.out).toBe(1);
    expect(bad.out).toContain("truncated");
    expect(spawnSync(process.execPath, ["bin/ticket-sync-gateway.mjs"], { encoding: "utf8" }).status).toBe(2);
  });
});

describe("the ledger.checkpoint job", () => {
  it("signs the moved chains, then runs again LEDGER_CHECKPOINT_INTERVAL_MS later", async () => {
    const tenant = await createTenant(ctx);
    await openTicket(tenant.client);
    const now = new Date();
    const deps = {
      ...ctx.deps,
      config: { ...ctx.deps.config, ledger: { keyring: keyring(), checkpointIntervalMs: 60_000 } },
    };
    const runner = new JobRunner({
      ctx: { ...jobContext(deps, "test-worker"), now: () => now },
      processConcurrency: 1,
      connectionConcurrency: 1,
      tickMs: 10,
      leaseMs: 5_000,
      kinds: ["ledger.checkpoint"],
    });
    await ensurePeriodicJobs(ctx.database.db, now);
    expect(await runner.runUntilIdle(1)).toBe(1);
    const [job] = await ctx.database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.kind, "ledger.checkpoint"), eq(jobs.status, "pending")));
    expect(job!.nextAttemptAt.getTime()).toBe(now.getTime() + 60_000);
    // Not due again yet; the tenant's chains were signed by the job, so a new entry moves them again.
    expect(await runner.runUntilIdle(1)).toBe(0);
    expect(await sign().then((r) => r.signed.some((c) => c.scope === tenant.id))).toBe(false);
    await openTicket(tenant.client);
    expect(await sign().then((r) => r.signed.some((c) => c.scope === tenant.id))).toBe(true);
  });
});
