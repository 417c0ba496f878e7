/**
 * Defence in depth: whatever fails while a tenant's statements hold a
 * connection, the driver's own parameter serialization included, the
 * connection goes back to the pool. Each failure is made on purpose; the
 * pool is then idle, readiness is 200, and other requests are served at once.
 */
import { expect, test } from "bun:test";
import { buildApp, freshTenants, makeEvent, postJson, wideWindow } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

/** A value the driver fails to serialize while the statement is on its way (JSON.stringify throws on a BigInt). */
const UNSERIALIZABLE = { count: 1n };

describeOnStores("connections come back after any failure,", (suite) => {
  test("a parameter the driver cannot serialize, a failing statement and a throwing callback: pool idle, ready, served", async () => {
    const { store } = suite.handle;
    const failures: [string, Parameters<typeof store.withTenant>[1]][] = [
      ["serialization, first statement after entering the tenant", (tx) => tx`SELECT ${UNSERIALIZABLE as never}::jsonb`],
      ["serialization, after a statement that answered", async (tx) => {
        await tx`SELECT 1`;
        return tx`SELECT ${UNSERIALIZABLE as never}::jsonb`;
      }],
      ["an error from PostgreSQL", (tx) => tx`SELECT 1 / 0`],
      ["an invalid Date (sent as text, refused by PostgreSQL)", (tx) => tx`SELECT ${new Date(Number.NaN)}::timestamptz`],
      ["a throw in the callback", async () => {
        throw new Error("boom");
      }],
    ];
    // More rounds than the pool has connections: a leak would exhaust it.
    for (let round = 0; round < 12; round++) {
      for (const [what, work] of failures) {
        const outcome = await store.withTenant("tenant-x", work).then(
          () => "resolved",
          (error: Error) => error.message,
        );
        expect(outcome, what).not.toBe("resolved");
      }
    }
    expect(store.poolStats()).toEqual({ inUse: 0, waiting: 0 });

    const tenants = freshTenants();
    const app = buildApp(store, tenants);
    const started = performance.now();
    expect((await app.request("/health/ready")).status).toBe(200);
    expect((await postJson(app, "/ingest", makeEvent(1), tenants.a.key)).status).toBe(200);
    const query = await postJson(app, "/query", wideWindow(), tenants.a.key);
    expect(query.status).toBe(200);
    expect(((await query.json()) as any).pagination.total).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
