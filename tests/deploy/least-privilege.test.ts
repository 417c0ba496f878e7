/**
 * The service as production runs it: tables owned by the user that
 * migrated them, the service connected as a login that owns nothing. What
 * that login can and cannot do, what readiness says when its grants are
 * missing, and that the database functions cannot be hijacked through
 * search_path.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { ownerClient, runMaintenance } from "../../src/storage/maintenance";
import { buildApp, freshTenants, HOUR, makeEvent, postJson, serviceUrl, testConfig, wideWindow } from "../support/harness";
import { openLeastPrivilegeStore, type LeastPrivilegeHandle } from "../support/least-privilege";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
if (!databaseUrl) console.log("least-privilege tests skipped: TEST_DATABASE_URL is not set");

describe.skipIf(!databaseUrl)("the service's login", () => {
  let handle: LeastPrivilegeHandle;
  let service: postgres.Sql;
  const tenants = freshTenants();

  beforeAll(async () => {
    handle = await openLeastPrivilegeStore(databaseUrl!, { pgbouncer: false });
    const app = buildApp(handle.store, tenants);
    for (const [key, i] of [[tenants.a.key, 1], [tenants.b.key, 2]] as const) {
      expect((await postJson(app, "/ingest", [makeEvent(i), makeEvent(i + 10)], key)).status).toBe(200);
    }
    service = postgres(handle.url(handle.roles.service), { max: 1, onnotice: () => {}, connection: { search_path: handle.schema } });
  }, 60_000);

  afterAll(async () => {
    await service?.end();
    await handle?.cleanup();
  });

  test("is no superuser, owns nothing, has no BYPASSRLS", async () => {
    const [me] = await service<{ superuser: boolean; bypass: boolean; owner: boolean }[]>`
      SELECT rolsuper AS superuser, rolbypassrls AS bypass,
             pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'events'::regclass), 'MEMBER') AS owner
      FROM pg_roles WHERE rolname = current_user`;
    expect(me).toEqual({ superuser: false, bypass: false, owner: false });
  });

  test("reads nothing without a tenant, only its tenant's rows with one, and RESET ROLE changes neither", async () => {
    const count = (tx: postgres.TransactionSql) => tx<{ n: number }[]>`SELECT count(*)::int AS n FROM events`.then((r) => r[0]!.n);
    const [all] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
    expect(all!.n).toBe(4);
    await service.begin(async (tx) => {
      expect(await count(tx)).toBe(0);
      await tx`RESET ROLE`;
      expect(await count(tx)).toBe(0);
      await tx`SELECT set_config('app.tenant_id', ${tenants.a.tenant}, true)`;
      expect(await count(tx)).toBe(2);
      await tx`RESET ROLE`;
      expect(await count(tx)).toBe(2);
    });
    // Rows of another tenant cannot be written either.
    const foreign = service.begin(async (tx) => {
      await tx`SELECT set_config('app.tenant_id', ${tenants.a.tenant}, true)`;
      await tx`INSERT INTO events (tenant_id, event_id, event_type, service_name, ts, payload) VALUES (${tenants.b.tenant}, 'x', 'log', 's', now(), '{}')`;
    });
    expect(foreign).rejects.toThrow("row-level security");
  });

  test("cannot run DDL, turn row-level security off, or become the owner", async () => {
    for (const statement of [
      "CREATE TABLE stolen (a int)",
      "DROP TABLE tenant_usage",
      "ALTER TABLE events DISABLE ROW LEVEL SECURITY",
      "ALTER TABLE events NO FORCE ROW LEVEL SECURITY",
      "DROP POLICY tenant_isolation ON events",
      `SET ROLE ${handle.roles.owner}`,
      "CREATE FUNCTION vault.unnest(text[]) RETURNS SETOF text LANGUAGE sql AS 'SELECT 1::text'",
    ]) {
      expect(service.unsafe(statement)).rejects.toThrow(/permission denied|must be owner|must be a member/);
    }
  });

  test("a planted public.unnest is never called by the service's functions", async () => {
    // As a superuser, as an attacker able to create in public would: a better-typed unnest that records its calls.
    await handle.sql.unsafe(`
      CREATE TABLE public.planted_calls (at timestamptz DEFAULT now());
      GRANT INSERT, SELECT ON public.planted_calls TO PUBLIC;
      CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO public.planted_calls DEFAULT VALUES;
        RETURN QUERY SELECT x FROM pg_catalog.unnest($1) AS x;
      END $$;
      GRANT EXECUTE ON FUNCTION public.unnest(text[]) TO PUBLIC`);
    const calls = async () => (await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM public.planted_calls`)[0]!.n;
    // The plant works: an unqualified call from a caller whose search_path has public picks it.
    await service.begin(async (tx) => {
      await tx`SET LOCAL search_path = public, vault`;
      await tx`SELECT unnest(ARRAY['a', 'b']::text[])`;
    });
    expect(await calls()).toBe(1);
    // The service's write function, called with public first on the path, does not.
    const rows = await service.begin(async (tx) => {
      await tx`SET LOCAL search_path = public, vault`;
      return tx`
        SELECT event_id FROM vault.ingest_events(
          ${tenants.a.tenant}, ${handle.roles.app}, ARRAY['planted-1']::text[], ARRAY['log']::text[], ARRAY['svc']::text[],
          ARRAY[now()]::timestamptz[], '[{"a":1}]'::jsonb, ARRAY[7]::int4[], ARRAY['planted-1']::text[], ARRAY[NULL]::text[], 1)`;
    });
    expect(rows.map((r) => r.event_id)).toEqual(["planted-1"]);
    expect(await calls()).toBe(1);
    // Every function of the schema carries its own search_path, and PUBLIC may execute none.
    const loose = await handle.sql<{ name: string }[]>`
      SELECT p.proname AS name FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
      WHERE n.nspname = 'vault' AND (p.proconfig IS NULL OR NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')
                                     OR has_function_privilege('public', p.oid, 'EXECUTE'))`;
    expect([...loose]).toEqual([]);
    await handle.sql.unsafe("DROP FUNCTION public.unnest(text[]); DROP TABLE public.planted_calls");
  });

  test("maintenance builds search slices only through the owner's login (MIGRATION_DATABASE_URL), and says so once without it", async () => {
    const partition = 6 * HOUR;
    const start = Math.ceil(Date.now() / partition) * partition;
    const app = buildApp(handle.store, tenants);
    const early = { eventId: "lp-slice", eventType: "log", serviceName: "s", timestamp: new Date(start + 30 * 60_000).toISOString(), payload: { msg: "slice me" } };
    // The other tenant's: the test below counts tenant a's events up to now.
    expect((await postJson(app, "/ingest", [early], tenants.b.key)).status).toBe(200);
    const warnings: string[] = [];
    const logger = { info() {}, warn: ((_: object, message: string) => void warnings.push(message)) as never };
    const run = (owner: postgres.Sql | undefined) =>
      runMaintenance({
        sql: handle.store.sql, appRole: handle.store.appRole, partitionHours: 6, logger, now: () => start + 2 * HOUR,
        retention: { RETENTION_DAYS: undefined, TENANT_RETENTION_DAYS: new Map() }, owner,
      });
    const { MIGRATION_DATABASE_URL: _, ...serviceOnly } = handle.env;
    const asService = ownerClient(testConfig(serviceOnly));
    const asOwner = ownerClient(testConfig(handle.env));
    let sliced = 0;
    try {
      for (let i = 0; i < 40; i++) sliced += (await run(asService)).slicesIndexed;
      expect(sliced).toBe(0);
      expect(warnings.filter((m) => m.includes("search slices need the tables' owner"))).toHaveLength(1);
      // Closed partitions got their full index all the same, through index_closed_partition.
      const [full] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'vault' AND indexname LIKE '%\_search\_idx'`;
      expect(full!.n).toBeGreaterThan(0);

      for (let i = 0; i < 40 && sliced === 0; i++) sliced += (await run(asOwner)).slicesIndexed;
    } finally {
      await asService?.end();
      await asOwner?.end();
    }
    expect(sliced).toBe(1);
    const slices = await handle.sql<{ lo: Date; hi: Date }[]>`SELECT lo, hi FROM search_slices`;
    expect(slices.map((s) => [s.lo.getTime(), s.hi.getTime()])).toEqual([[start, start + HOUR]]);
  }, 60_000);

  test("missing grants show as not ready, not as 500s behind a green probe", async () => {
    const app = buildApp(handle.store, tenants);
    expect((await app.request("/health/ready")).status).toBe(200);
    await handle.sql.unsafe(`REVOKE SELECT ON events, events_all FROM ${handle.roles.app}`);
    try {
      const ready = await app.request("/health/ready");
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "unavailable", checks: { postgres: "down" } });
    } finally {
      await handle.sql.unsafe(`GRANT SELECT ON events, events_all TO ${handle.roles.app}`);
    }
    expect((await app.request("/health/ready")).status).toBe(200);
    const res = await postJson(app, "/query", wideWindow(), tenants.a.key);
    const [stored] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenants.a.tenant}`;
    expect(((await res.json()) as any).pagination.total).toBe(stored!.n);
  });
});
