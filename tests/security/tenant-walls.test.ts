/**
 * Tenant walls in depth: every query filters by tenant, and PostgreSQL's
 * row-level security stands behind that filter.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApiKeyRegistry } from "../../src/auth/api-keys";
import type { EventStore } from "../../src/storage/event-store";
import {
  buildApp,
  freshTenants,
  makeEvent,
  openPostgresTestStore,
  postJson,
  serviceUrl,
  wideWindow,
  type StoreHandle,
} from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

describe.skipIf(!databaseUrl)("row-level security on PostgreSQL", () => {
  let handle: StoreHandle;
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!, { DB_POOL_MAX: "1" });
  });
  afterAll(async () => handle?.cleanup());

  test("as the service role, no tenant set means no rows; a tenant sees only its own", async () => {
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants);
    await postJson(app, "/ingest", [1, 2, 3].map((i) => makeEvent(i)), tenants.a.key);
    await postJson(app, "/ingest", [1, 2].map((i) => makeEvent(i)), tenants.b.key);

    const seen = await handle.sql.begin(async (tx) => {
      await tx`SET LOCAL ROLE tv_app`;
      const [none] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
      const [noCounts] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM event_counts_minute`;
      await tx`SELECT set_config('app.tenant_id', ${tenants.a.tenant}, true)`;
      const own = await tx<{ tenant_id: string }[]>`SELECT DISTINCT tenant_id FROM events`;
      return { none: none!.n, noCounts: noCounts!.n, own: own.map((r) => r.tenant_id) };
    });
    expect(seen).toEqual({ none: 0, noCounts: 0, own: [tenants.a.tenant] });
  });

  test("the service role cannot write rows for another tenant", async () => {
    const tenants = freshTenants();
    const attempt = handle.sql.begin(async (tx) => {
      await tx`SELECT set_config('app.tenant_id', ${tenants.a.tenant}, true), set_config('role', 'tv_app', true)`;
      await tx`INSERT INTO events (tenant_id, event_id, event_type, service_name, ts) VALUES (${tenants.b.tenant}, 'x', 'log', 's', now())`;
    });
    expect(attempt).rejects.toThrow(/row-level security/);
    await attempt.catch(() => {});
  });

  test("writes run as the service role under the policies: ingest_events switches before its insert", async () => {
    const tenants = freshTenants();
    const seen = await handle.sql.begin(async (tx) => {
      const inserted = await tx<{ event_id: string }[]>`
        SELECT event_id FROM ingest_events(${tenants.a.tenant}, 'tv_app',
          ARRAY['w1'], ARRAY['log'], ARRAY['svc'], ARRAY[now()], '[{}]') AS event_id`;
      // Still inside the function's transaction: what its statements ran as.
      const [state] = await tx<{ role: string; tenant: string }[]>`
        SELECT current_user AS role, current_setting('app.tenant_id', true) AS tenant`;
      // As tv_app with tenant a set, tenant b's rows cannot be written.
      const insertForB = tx
        .savepoint((sp) => sp`
          INSERT INTO events (tenant_id, event_id, event_type, service_name, ts)
          VALUES (${tenants.b.tenant}, 'w2', 'log', 'svc', now())`)
        .then(() => "written", (e: Error) => e.message);
      return { inserted: inserted.map((r) => r.event_id), ...state, insertForB: await insertForB };
    });
    expect(seen.inserted).toEqual(["w1"]);
    expect(seen.role).toBe("tv_app");
    expect(seen.tenant).toBe(tenants.a.tenant);
    expect(seen.insertForB).toMatch(/row-level security/);
  });

  test("a pooled connection does not carry one request's tenant or role into the next", async () => {
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants);
    expect((await postJson(app, "/ingest", makeEvent(1), tenants.a.key)).status).toBe(200);
    // The store's pool has exactly one connection: this runs on the same one.
    const [after] = await handle.store.sql<{ tenant: string | null; role: string }[]>`
      SELECT current_setting('app.tenant_id', true) AS tenant, current_user AS role`;
    expect(after!.tenant ?? "").toBe("");
    expect(after!.role).not.toBe("tv_app");
  });

  test("1000 interleaved requests of two tenants: no cross-tenant rows, counts or duplicates", async () => {
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants);
    // Both tenants use the same 500 event ids, in interleaved concurrent requests.
    const requests = Array.from({ length: 1000 }, (_, i) => {
      const key = i % 2 === 0 ? tenants.a.key : tenants.b.key;
      const event = makeEvent(Math.floor(i / 2), { payload: { owner: i % 2 === 0 ? "a" : "b" } });
      return postJson(app, "/ingest", event, key).then(async (r) => ({ key, status: r.status, body: (await r.json()) as any }));
    });
    const results = await Promise.all(requests);
    expect(results.every((r) => r.status === 200 && r.body.ingested === 1 && r.body.duplicates === 0)).toBe(true);

    for (const [tenant, owner] of [[tenants.a, "a"], [tenants.b, "b"]] as const) {
      const listed = (await (await postJson(app, "/query", { ...wideWindow(), limit: 1000 }, tenant.key)).json()) as any;
      expect(listed.pagination.total).toBe(500);
      expect(listed.data.every((e: any) => e.payload.owner === owner)).toBe(true);
      const groups = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "eventType" }, tenant.key)).json()) as any;
      expect(groups.total).toBe(500);
    }
    const rows = await handle.sql<{ tenant_id: string; owner: string; n: number }[]>`
      SELECT tenant_id, payload->>'owner' AS owner, count(*)::int AS n FROM events
      WHERE tenant_id IN (${tenants.a.tenant}, ${tenants.b.tenant}) GROUP BY 1, 2 ORDER BY 1`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { tenant_id: tenants.a.tenant, owner: "a", n: 500 },
      { tenant_id: tenants.b.tenant, owner: "b", n: 500 },
    ]);
  }, 60_000);
});

describe("auth hygiene", () => {
  test("keys are matched by digest: prefixes, suffixes, case and padding do not match", () => {
    const keys = createApiKeyRegistry([
      { key: "alpha-key-123", tenant: "alpha" },
      { key: "beta", tenant: "beta" },
    ]);
    expect(keys.tenantFor("alpha-key-123")).toBe("alpha");
    expect(keys.tenantFor("beta")).toBe("beta");
    for (const wrong of ["alpha-key-12", "alpha-key-1234", "ALPHA-KEY-123", " alpha-key-123", "", "bet", "x".repeat(10_000)]) {
      expect(keys.tenantFor(wrong)).toBeUndefined();
    }
    expect(keys.fingerprint("alpha-key-123")).toMatch(/^[0-9a-f]{12}$/);
    expect(keys.fingerprint("alpha-key-123")).not.toContain("alpha");
  });

  test("a 401 costs no storage call", async () => {
    const calls: string[] = [];
    const tenants = freshTenants();
    // Records which store methods run; a 401 must not reach any of them.
    const recording = new Proxy({} as EventStore, {
      get: (_target, property) => (...args: unknown[]) => {
        calls.push(String(property));
        return Promise.resolve(args.length ? [] : undefined);
      },
    });
    const app = buildApp(recording as any, tenants);
    for (const path of ["/ingest", "/query", "/v1/traces"]) {
      expect((await postJson(app, path, makeEvent(1), "not-a-key")).status).toBe(401);
      expect((await postJson(app, path, makeEvent(1))).status).toBe(401);
    }
    expect(calls).toEqual([]);
  });
});
