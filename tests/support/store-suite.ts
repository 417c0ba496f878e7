import { afterAll, beforeAll, describe } from "bun:test";
import { buildApp, freshTenants, testStores, type StoreHandle, type TestApp } from "./harness";

/** One store shared by a suite's tests, which never share rows: each asks for tenants of its own. */
export interface StoreSuite {
  readonly handle: StoreHandle;
  /** An app with two fresh tenants (a, b) and their keys; `env` adds configuration. */
  fresh(env?: Record<string, string>): { app: TestApp; a: { key: string; tenant: string }; b: { key: string; tenant: string } };
}

/**
 * Runs `body` once on PostgreSQL (when configured) and once on the embedded
 * store; with `productionLike`, also on PostgreSQL as a least-privilege login
 * through PgBouncer (the contract suites).
 */
export function describeOnStores(
  title: string,
  body: (suite: StoreSuite) => void,
  options: { productionLike?: boolean; /** Configuration of the stores themselves. */ env?: Record<string, string> } = {},
) {
  for (const { label, open } of testStores(options)) {
    describe(`${title} on ${label}`, () => {
      let handle: StoreHandle;
      // Generous: the embedded store's first start (initdb in WebAssembly) is slow on a busy machine.
      beforeAll(async () => {
        handle = await open();
      }, 120_000);
      afterAll(async () => {
        await handle?.cleanup();
      });
      body({
        get handle() {
          return handle;
        },
        fresh(env) {
          const tenants = freshTenants();
          return { app: buildApp(handle.store, tenants, { env }), a: tenants.a, b: tenants.b };
        },
      });
    });
  }
}

/** The tenant's stored rows, by id. */
export async function storedRows(handle: StoreHandle, tenant: string) {
  return handle.sql<{ event_id: string; payload: unknown; ts: Date }[]>`
    SELECT event_id, payload, ts FROM events WHERE tenant_id = ${tenant} ORDER BY event_id`;
}

export async function storedCount(handle: StoreHandle, tenant: string) {
  const [row] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant}`;
  return row!.n;
}
