/**
 * The body budget (MAX_BODY_BYTES_IN_FLIGHT) bounds the bytes of bodies a
 * process decodes at once. The class on its own: admission in arrival order,
 * a body larger than the budget alone, a wait that ends in 503. Then through
 * app.request() on PostgreSQL: while one large /ingest holds the budget (its
 * insert held back by a table lock), the next large /ingest and a large OTLP
 * export get 503 with Retry-After and store nothing, a small one that fits
 * beside it gets in, and the first commits once the lock goes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError } from "../../src/http/api-error";
import { BodyBudget } from "../../src/http/body-budget";
import { buildApp, freshTenants, makeEvent, openPostgresTestStore, postJson, serviceUrl, type StoreHandle } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

/** A run that holds its share of the budget until `release()`. */
function holding(budget: BodyBudget, bytes: number, log: string[], name: string) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const done = budget.run(bytes, async () => {
    log.push(name);
    await held;
    return name;
  });
  return { release, done };
}

describe("BodyBudget", () => {
  test("admits bodies while they fit, then in arrival order: a small one does not pass a large one waiting", async () => {
    const budget = new BodyBudget(100, 5_000);
    const log: string[] = [];
    const a = holding(budget, 60, log, "a");
    const b = holding(budget, 30, log, "b");
    const large = holding(budget, 50, log, "large");
    const small = holding(budget, 5, log, "small");
    await Bun.sleep(10);
    expect(log).toEqual(["a", "b"]);
    expect(budget.stats).toEqual({ bytesInUse: 90, waiting: 2 });

    a.release();
    await a.done;
    await Bun.sleep(10);
    expect(log).toEqual(["a", "b", "large", "small"]);
    expect(budget.stats).toEqual({ bytesInUse: 85, waiting: 0 });
    for (const run of [b, large, small]) run.release();
    expect(await Promise.all([b.done, large.done, small.done])).toEqual(["b", "large", "small"]);
    expect(budget.stats).toEqual({ bytesInUse: 0, waiting: 0 });
  });

  test("a body larger than the whole budget runs alone", async () => {
    const budget = new BodyBudget(100, 5_000);
    const log: string[] = [];
    const huge = holding(budget, 1_000, log, "huge");
    const next = holding(budget, 1, log, "next");
    await Bun.sleep(10);
    expect(log).toEqual(["huge"]);
    huge.release();
    await huge.done;
    await Bun.sleep(10);
    expect(log).toEqual(["huge", "next"]);
    next.release();
    await next.done;
  });

  test("a wait past its limit is a 503 with Retry-After, and the ones behind it move up", async () => {
    const budget = new BodyBudget(100, 50);
    const log: string[] = [];
    const a = holding(budget, 60, log, "a");
    const large = budget.run(50, async () => "never");
    const small = holding(budget, 5, log, "small");
    const error = await large.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect((error as ApiError).options.retryAfterSeconds).toBe(1);
    await Bun.sleep(10);
    expect(log).toEqual(["a", "small"]);
    a.release();
    small.release();
    await Promise.all([a.done, small.done]);
    expect(budget.stats).toEqual({ bytesInUse: 0, waiting: 0 });
  });
});

describe.skipIf(!databaseUrl)("the body budget on /ingest and OTLP (PostgreSQL)", () => {
  let handle: StoreHandle;
  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  /** `count` events whose JSON takes about `count` KiB. */
  const batch = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => makeEvent(i, { eventId: `${prefix}-${i}`, payload: { pad: "x".repeat(1000) } }));

  test("past the budget a request waits, then gets 503 and stores nothing; the one holding it commits", async () => {
    const tenants = freshTenants();
    const app = buildApp(handle.store, tenants, { env: { MAX_BODY_BYTES_IN_FLIGHT: String(100 * 1024), BODY_QUEUE_TIMEOUT_MS: "300" } });
    let unlock!: () => void;
    const locked = new Promise<void>((resolve) => (unlock = resolve));
    let tableLocked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (tableLocked = resolve));
    const lock = handle.sql.begin(async (tx) => {
      await tx`LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE`;
      tableLocked();
      await locked;
    });
    await lockTaken;

    // 60 KiB: admitted, then held at the lock with its share of the budget.
    const first = postJson(app, "/ingest", batch("first", 60), tenants.a.key);
    await Bun.sleep(100);
    const second = await postJson(app, "/ingest", batch("second", 60), tenants.a.key);
    const exportBody = {
      resourceLogs: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] }, scopeLogs: [{ logRecords: Array.from({ length: 60 }, (_, i) => ({ timeUnixNano: String(BigInt(Date.now() - i) * 1_000_000n), body: { stringValue: "y".repeat(1000) } })) }] }],
    };
    const otlp = await postJson(app, "/v1/logs", exportBody, tenants.a.key);
    const small = postJson(app, "/ingest", makeEvent(1, { eventId: "small" }), tenants.a.key);
    unlock();
    await lock;

    expect(second.status).toBe(503);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(second.headers.get("x-request-id")).toBeTruthy();
    expect((await second.json()).error.code).toBe("service_unavailable");
    expect(otlp.status).toBe(503);
    expect((await otlp.json()).code).toBe(14); // google.rpc.Code UNAVAILABLE
    expect((await first).status).toBe(200);
    expect((await small).status).toBe(200);

    const stored = await handle.sql<{ prefix: string; n: number }[]>`
      SELECT split_part(event_id, '-', 1) AS prefix, count(*)::int AS n FROM events_all
      WHERE tenant_id = ${tenants.a.tenant} GROUP BY 1 ORDER BY 1`;
    expect([...stored]).toEqual([
      { prefix: "first", n: 60 },
      { prefix: "small", n: 1 },
    ]);
  });
});
