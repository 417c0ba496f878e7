/**
 * Fuzzing /ingest with fast-check, through app.request() on the real
 * PostgreSQL store (a schema of its own). Bodies are built as JSON *text*, so
 * they can carry what JSON.stringify never writes: lone-surrogate escapes,
 * numbers beyond double range, duplicate keys, `__proto__` keys.
 *
 * Proves, for thousands of mixed valid/invalid batches: never a 5xx; every 200
 * stored exactly what was sent (as JSON.parse sees the body; the first
 * occurrence of a repeated id and timestamp wins), and nothing else; every 4xx stored
 * nothing (each run uses a fresh tenant whose count must stay 0).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { buildApp, freshTenants, openPostgresTestStore, random, serviceUrl, type StoreHandle, type TestApp } from "../support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const RUNS = Number(process.env.FUZZ_RUNS ?? 4000);
const DAY = 24 * 60 * 60 * 1000;

/** JSON text of a value with object keys sorted, so jsonb's key order does not matter; -0 is 0. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// ---- arbitraries: each produces JSON text ----

const oddStrings = [
  "\\u0000", "a\\u0000b", "\\ud800", "x\\udfffy", "\\ud83d\\ude00", "😀", "🏳️‍🌈", "\u202eevil\u202c", "שלום", "مرحبا",
  "\u200b", "e\u0301", "\\n\\t", "\\\\", "\\\"", " ", "", "null", "__proto__", "constructor", "prototype", "toString",
];
const text = fc.oneof(
  { weight: 5, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 8 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.constantFrom(...oddStrings).map((s) => `"${s}"`) },
  { weight: 1, arbitrary: fc.constant(JSON.stringify("x".repeat(129))) },
  { weight: 1, arbitrary: fc.constantFrom("1", "null", "true", "{}", "[]") },
);

const recent = fc.integer({ min: -30 * DAY, max: DAY / 2 }).map((offset) => Date.now() + offset);
const offsets = ["Z", "z", "+00:00", "+05:30", "-08:00", "+1400", "-0000", "+14:00", "-12:00", "+24:00", ""];
const timestamp = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(recent, fc.constantFrom(...offsets), fc.constantFrom("", ".1", ".123", ".123456", ".123456789", ".9999999999"), fc.boolean()).map(([ms, off, frac, seconds]) => {
    const iso = new Date(ms).toISOString().slice(0, 19);
    return JSON.stringify(`${seconds ? iso : iso.slice(0, 16)}${seconds ? frac : ""}${off}`);
  }) },
  { weight: 2, arbitrary: fc.constantFrom(
    "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2024-02-30T00:00:00Z", "2000-02-29T23:59:59.999+01:00", "1900-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00+00:01",
    "2024-01-01T24:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "2024-01-01",
    "+002024-01-01T00:00:00Z", "2024-06-15T12:00:00.5-03:30", "2024-12-31T23:59:60Z",
  ).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom("1700000000000", "null", "\"\"", "{}") },
);

const eventType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('"log"', '"metric"', '"trace"') },
  { weight: 1, arbitrary: fc.constantFrom('"LOG"', '""', '"span"', "1", "null") },
);

const rawPayloads = [
  '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"__proto__":null,"a":1}',
  '{"n":1e400}', '{"n":-1e400}', '{"n":123456789012345678901234567890}', '{"n":5e-324}', '{"n":-0}', '{"n":1.7976931348623157e308}',
  '{"n":0.1e-400}', '{"a":1,"a":2}', '{"s":"\\ud800"}', '{"s":"\\u0000"}', '{"\\u0000":1}', '{"\\udc00":1}', '{"emoji":"😀\\ud83d\\ude00"}',
  '{"rtl":"\u202e\u05d0"}', '{"deep":' + '{"a":'.repeat(31) + "1" + "}".repeat(31) + "}", '{"deeper":' + "[".repeat(40) + "]".repeat(40) + "}",
  "[]", '"text"', "42", "null", '{"big":"' + "x".repeat(70_000) + '"}',
];
const payload = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }).map((o) => JSON.stringify(o)) },
  { weight: 3, arbitrary: fc.constantFrom(...rawPayloads) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const eventText = fc
  .record({
    eventId: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 15 }).map((i) => `"id-${i}"`) }, { weight: 2, arbitrary: text }),
    eventType,
    serviceName: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('"api"', '"web"', '"سرویس"', '"svc-😀"') }, { weight: 1, arbitrary: text }),
    timestamp,
    payload,
    extra: fc.constantFrom(undefined, '"__proto__":{"eventId":"hijack"}', '"constructor":1', '"unknown":[1,2]'),
    drop: fc.constantFrom(undefined, undefined, undefined, undefined, "eventId", "timestamp", "eventType"),
  })
  .map(({ drop, extra, ...fields }) => {
    const parts = Object.entries(fields)
      .filter(([k, v]) => v !== undefined && k !== drop)
      .map(([k, v]) => `${JSON.stringify(k)}:${v}`);
    if (extra) parts.splice(1, 0, extra);
    return `{${parts.join(",")}}`;
  });

/** Whether PostgreSQL can hold every string in it (no NUL, no lone surrogate). */
function storable(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("\u0000") && value.isWellFormed();
  if (Array.isArray(value)) return value.every(storable);
  if (value !== null && typeof value === "object") return Object.entries(value).every(([k, v]) => storable(k) && storable(v));
  return true;
}

// Events that should be accepted, with everything odd that is still valid.
const validText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }) },
  { weight: 2, arbitrary: fc.constantFrom("😀", "🏳️‍🌈", "\u202eevil\u202c", "שלום", "مرحبا", "e\u0301", "__proto__", "constructor", "toString", " ", "x".repeat(128)) },
).filter(storable).map((s) => JSON.stringify(s));
const validTimestamp = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(recent, fc.constantFrom("Z", "+00:00", "+05:30", "-08:00", "+14:00", "-12:00"), fc.constantFrom("", ".1", ".123", ".123456", ".123456789")).map(([ms, off, frac]) =>
    JSON.stringify(`${new Date(ms).toISOString().slice(0, 19)}${frac}${off}`)) },
  { weight: 1, arbitrary: fc.constantFrom("2024-02-29T12:00:00Z", "2000-02-29T23:59:59.999+01:00", "1970-01-01T00:00:00Z", "2024-06-15T12:00:00.5-03:30", "2020-02-29T00:00:00.000000001Z").map((t) => JSON.stringify(t)) },
);
const validPayload = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }).filter(storable).map((o) => JSON.stringify(o)) },
  { weight: 3, arbitrary: fc.constantFrom(
    '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}', '{"__proto__":null,"a":1}', '{"n":123456789012345678901234567890}',
    '{"n":5e-324}', '{"n":-0}', '{"n":1.7976931348623157e308}', '{"n":0.1e-400}', '{"a":1,"a":2}', '{"emoji":"😀\\ud83d\\ude00"}',
    '{"rtl":"\u202e\u05d0"}', '{"deep":' + '{"a":'.repeat(30) + "1" + "}".repeat(30) + "}", '{"k":"' + "y".repeat(60_000) + '"}',
  ) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const validEvent = fc
  .record({
    eventId: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 15 }).map((i) => `"id-${i}"`) }, { weight: 2, arbitrary: validText }),
    eventType: fc.constantFrom('"log"', '"metric"', '"trace"'),
    serviceName: validText,
    timestamp: validTimestamp,
    payload: validPayload,
    extra: fc.constantFrom(undefined, undefined, '"__proto__":{"eventId":"hijack"}', '"constructor":1', '"unknown":[1,2]'),
  })
  .map(({ extra, ...fields }) => {
    const parts = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${v}`);
    if (extra) parts.splice(1, 0, extra);
    return `{${parts.join(",")}}`;
  });

const body = fc.oneof(
  { weight: 5, arbitrary: fc.array(validEvent, { minLength: 1, maxLength: 8 }).map((events) => `[${events.join(",")}]`) },
  { weight: 1, arbitrary: validEvent },
  { weight: 4, arbitrary: fc.array(fc.oneof(validEvent, eventText), { minLength: 1, maxLength: 8 }).map((events) => `[${events.join(",")}]`) },
  { weight: 1, arbitrary: eventText },
  { weight: 1, arbitrary: fc.constantFrom("[]", "{}", "null", "[1]", "[{}]", '"str"', "[", '{"eventId":', "", "\ufeff[]") },
);

interface Row {
  event_id: string;
  event_type: string;
  service_name: string;
  ts: Date;
  payload: unknown;
}

describe.skipIf(!databaseUrl)("fuzz: /ingest with generated bodies on PostgreSQL", () => {
  let handle: StoreHandle;
  let app: TestApp;
  const runId = random();
  const tenantOf = (i: number) => ({ key: `fz-key-${runId}-${i}`, tenant: `fz-${runId}-${i}` });

  beforeAll(async () => {
    handle = await openPostgresTestStore(databaseUrl!);
    const keys = Array.from({ length: RUNS + 50 }, (_, i) => `${tenantOf(i).key}:${tenantOf(i).tenant}`).join(",");
    app = buildApp(handle.store, freshTenants(), { env: { API_KEYS: keys, RATE_LIMIT_MAX_REQUESTS: "100000000" } });
  });
  afterAll(async () => {
    await handle?.cleanup();
  });

  test(`${RUNS} generated batches: never 5xx; 200 stores exactly what was sent; 4xx stores nothing`, async () => {
    let run = 0;
    const tally = { ok: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(body, async (bodyText) => {
        const { key, tenant } = tenantOf(run++ % (RUNS + 50));
        const res = await app.request("/ingest", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": key },
          body: bodyText,
        });
        const answer = (await res.json()) as any;
        if (res.status >= 500) throw new Error(`${res.status} ${JSON.stringify(answer)}`);
        const rows = await handle.sql<Row[]>`
          SELECT event_id, event_type, service_name, ts, payload FROM events WHERE tenant_id = ${tenant} ORDER BY event_id`;
        await handle.sql`DELETE FROM events WHERE tenant_id = ${tenant}`; // keep the tenant fresh if fast-check replays

        if (res.status !== 200) {
          if (rows.length !== 0) throw new Error(`${res.status} but ${rows.length} row(s) stored`);
          tally.rejected++;
          return;
        }
        tally.ok++;
        const parsed = JSON.parse(bodyText) as any;
        const items: any[] = Array.isArray(parsed) ? parsed : [parsed];
        // An event is its id at its timestamp: the first occurrence of each pair wins.
        const identity = (id: string, ms: number) => `${id}\u0000${new Date(ms).toISOString()}`;
        const expected = new Map<string, any>();
        for (const item of items) {
          const k = identity(item.eventId, Date.parse(item.timestamp));
          if (!expected.has(k)) expected.set(k, item);
        }
        if (answer.ingested !== expected.size || answer.duplicates !== items.length - expected.size) {
          throw new Error(`counts ${JSON.stringify(answer)} for ${items.length} events / ${expected.size} distinct (id, timestamp)`);
        }
        if (rows.length !== expected.size) throw new Error(`stored ${rows.length} rows, expected ${expected.size}`);
        for (const row of rows) {
          const item = expected.get(identity(row.event_id, row.ts.getTime()));
          if (!item) throw new Error(`unexpected stored event ${JSON.stringify(row.event_id)} at ${row.ts.toISOString()}`);
          const want = {
            eventType: item.eventType,
            serviceName: item.serviceName,
            ts: new Date(Date.parse(item.timestamp)).toISOString(),
            payload: canonical(item.payload ?? {}),
          };
          const got = { eventType: row.event_type, serviceName: row.service_name, ts: row.ts.toISOString(), payload: canonical(row.payload) };
          if (canonical(want) !== canonical(got)) throw new Error(`stored ${JSON.stringify(got)}, sent ${JSON.stringify(want)}`);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(`[fuzz] ${RUNS} runs: ${tally.ok} stored, ${tally.rejected} rejected with 4xx`);
    expect(tally.ok, "a fair share of bodies were valid").toBeGreaterThan(RUNS / 10);
    expect(tally.rejected, "a fair share of bodies were invalid").toBeGreaterThan(RUNS / 10);
  }, 90_000);
});
