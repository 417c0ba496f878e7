/**
 * DB_WRITE_CONCURRENCY on the real PostgreSQL: however many large ingests
 * arrive at once, at most that many statements run and the others wait their
 * turn, while small requests and queries keep their own connections.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildApp, freshTenants, makeEvent, openPostgresTestStore, postJson, serviceUrl, wideWindow, type StoreHandle } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

describe.skipIf(!databaseUrl)("ingest concurrency on PostgreSQL", () => {
  let handle: StoreHandle;
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!, { DB_POOL_MAX: "6", DB_WRITE_CONCURRENCY: "2" });
  });
  afterAll(async () => handle?.cleanup());

  test("six large batches at once: two statements run, four wait; a small request and a query still go through; all commit", async () => {
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants);
    const batch = (n: number) => Array.from({ length: 200 }, (_, i) => makeEvent(n * 1000 + i, { eventId: `w${n}-${i}` }));

    // Hold writes (not reads) on the events table, so the statements that get
    // through the gate block inside PostgreSQL where we can count them.
    const locker = await handle.sql.reserve();
    await locker`BEGIN`;
    await locker`LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE`;
    const [locked] = await locker<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const pid = locked!.pid;

    const writes = Array.from({ length: 6 }, (_, n) => postJson(app, "/ingest", batch(n), tenants.a.key));
    const blocked = async () => {
      const [row] = await handle.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${pid} = ANY (pg_blocking_pids(pid))`;
      return row!.n;
    };
    let running = 0;
    for (let tries = 0; tries < 100 && running < 2; tries++) {
      await Bun.sleep(20);
      running = await blocked();
    }
    await Bun.sleep(200); // room for a third statement to show up if the gate leaked
    expect(await blocked()).toBe(2);

    // A small request does not queue behind the large ones: it reaches PostgreSQL at once.
    const small = postJson(app, "/ingest", makeEvent(999_999, { eventId: "small-1" }), tenants.a.key);
    for (let tries = 0; tries < 100 && running < 3; tries++) {
      await Bun.sleep(20);
      running = await blocked();
    }
    expect(running).toBe(3);

    const query = await postJson(app, "/query", { ...wideWindow(), limit: 1 }, tenants.a.key);
    expect(query.status).toBe(200);

    await locker`COMMIT`;
    locker.release();
    const answers = await Promise.all(
      writes.map(async (pending) => {
        const r = await pending;
        return { status: r.status, body: (await r.json()) as { ingested: number } };
      }),
    );
    expect(answers.map((a) => [a.status, a.body.ingested])).toEqual(Array.from({ length: 6 }, () => [200, 200]));
    expect((await small).status).toBe(200);
    const [stored] = await handle.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenants.a.tenant}`;
    expect(stored!.n).toBe(1201);
  }, 20_000);
});
