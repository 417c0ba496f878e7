/**
 * The /query contract, through app.request() on PostgreSQL and on the
 * embedded store: tenant isolation, windows, filters, pages, cursors, group
 * counts and time buckets, each against what was ingested.
 */
import { describe, expect, test } from "bun:test";
import { HOUR, makeEvent, postJson, wideWindow, type TestApp } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

describeOnStores("query contract", (suite) => {
  describe("tenant isolation", () => {
    test("results, counts, group counts and dedup are per tenant", async () => {
      const { app, a, b } = suite.fresh();
      const shared = [1, 2, 3].map((i) => makeEvent(i));
      expect(await (await postJson(app, "/ingest", shared, a.key)).json()).toMatchObject({ ingested: 3, duplicates: 0 });
      // Same ids for tenant B are new events, not duplicates of A's.
      expect(await (await postJson(app, "/ingest", [...shared, makeEvent(4)], b.key)).json()).toMatchObject({ ingested: 4, duplicates: 0 });

      const listA = (await (await postJson(app, "/query", wideWindow(), a.key)).json()) as any;
      expect(listA.pagination.total).toBe(3);
      expect(listA.data.map((e: any) => e.eventId).sort()).toEqual(shared.map((e) => e.eventId).sort());

      const groupsB = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "eventType" }, b.key)).json()) as any;
      expect(groupsB.total).toBe(4);
      const filtered = (await (await postJson(app, "/query", { ...wideWindow(), serviceName: "svc-0" }, a.key)).json()) as any;
      expect(filtered.data.every((e: any) => e.serviceName === "svc-0")).toBe(true);
    });
  });

  describe("query", () => {
    async function seed(app: TestApp, key: string, count: number) {
      const events = Array.from({ length: count }, (_, i) => makeEvent(i));
      expect((await postJson(app, "/ingest", events, key)).status).toBe(200);
      return events;
    }

    test("newest first, events as sent plus receivedAt", async () => {
      const { app, a } = suite.fresh();
      const events = await seed(app, a.key, 5);
      const res = await postJson(app, "/query", wideWindow(), a.key);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.data.map((e: any) => e.eventId)).toEqual(events.map((e) => e.eventId)); // i=0 is newest
      const first = body.data[0];
      expect(first).toEqual({ ...events[0], receivedAt: expect.any(String) });
      expect(Date.parse(first.receivedAt)).toBeGreaterThan(Date.now() - 60_000);
    });

    test("ties on timestamp are ordered by eventId descending", async () => {
      const { app, a } = suite.fresh();
      const ts = new Date(Date.now() - HOUR).toISOString();
      await postJson(app, "/ingest", ["b", "c", "a"].map((id) => makeEvent(1, { eventId: id, timestamp: ts })), a.key);
      const body = (await (await postJson(app, "/query", wideWindow(), a.key)).json()) as any;
      expect(body.data.map((e: any) => e.eventId)).toEqual(["c", "b", "a"]);
    });

    test("the window is inclusive at both ends", async () => {
      const { app, a } = suite.fresh();
      const events = await seed(app, a.key, 10);
      const window = { startTime: events[7]!.timestamp, endTime: events[2]!.timestamp };
      const body = (await (await postJson(app, "/query", window, a.key)).json()) as any;
      expect(body.data.map((e: any) => e.eventId)).toEqual(events.slice(2, 8).map((e) => e.eventId));
      expect(body.pagination.total).toBe(6);
    });

    test("default window is the last 24 hours", async () => {
      const { app, a } = suite.fresh();
      await postJson(app, "/ingest", [
        makeEvent(1, { timestamp: new Date(Date.now() - HOUR).toISOString() }),
        makeEvent(2, { timestamp: new Date(Date.now() - 25 * HOUR).toISOString() }),
      ], a.key);
      const body = (await (await postJson(app, "/query", {}, a.key)).json()) as any;
      expect(body.data.map((e: any) => e.eventId)).toEqual([makeEvent(1).eventId]);
    });

    test("filters by eventType and serviceName", async () => {
      const { app, a } = suite.fresh();
      const events = await seed(app, a.key, 24);
      const body = (await (await postJson(app, "/query", { ...wideWindow(), eventType: "metric", serviceName: "svc-1" }, a.key)).json()) as any;
      const expected = events.filter((e) => e.eventType === "metric" && e.serviceName === "svc-1");
      expect(expected.length).toBeGreaterThan(0);
      expect(body.data.map((e: any) => e.eventId)).toEqual(expected.map((e) => e.eventId));
      expect(body.pagination.total).toBe(expected.length);
    });

    test("pagination math on first, middle, last and past-the-end pages", async () => {
      const { app, a } = suite.fresh();
      const events = await seed(app, a.key, 25);
      const page = async (n: number) =>
        (await (await postJson(app, "/query", { ...wideWindow(), page: n, limit: 10 }, a.key)).json()) as any;

      const first = await page(1);
      expect(first.pagination).toEqual({ page: 1, limit: 10, total: 25, totalPages: 3, hasNext: true, hasPrev: false });
      expect(first.data.map((e: any) => e.eventId)).toEqual(events.slice(0, 10).map((e) => e.eventId));
      const middle = await page(2);
      expect(middle.pagination).toEqual({ page: 2, limit: 10, total: 25, totalPages: 3, hasNext: true, hasPrev: true });
      expect(middle.data.map((e: any) => e.eventId)).toEqual(events.slice(10, 20).map((e) => e.eventId));
      const last = await page(3);
      expect(last.pagination).toEqual({ page: 3, limit: 10, total: 25, totalPages: 3, hasNext: false, hasPrev: true });
      expect(last.data).toHaveLength(5);
      expect(last.nextCursor).toBeNull();
      const past = await page(4);
      expect(past.data).toEqual([]);
      expect(past.pagination).toMatchObject({ page: 4, total: 25, totalPages: 3, hasNext: false, hasPrev: true });
    });

    test("deep pages (found through the count tables) equal a plain walk of the window", async () => {
      const { app, a } = suite.fresh();
      // 5000 events over ~50 hours, several per minute, with filters that cut across them.
      const base = Math.floor(Date.now() / HOUR) * HOUR - 50 * HOUR;
      const events = Array.from({ length: 5000 }, (_, i) =>
        makeEvent(i, { timestamp: new Date(base + ((i * 104_729) % (50 * HOUR))).toISOString() }),
      );
      for (let i = 0; i < events.length; i += 2500) {
        expect((await postJson(app, "/ingest", events.slice(i, i + 2500), a.key)).status).toBe(200);
      }
      const newestFirst = (list: typeof events) =>
        [...list].sort((x, y) => y.timestamp.localeCompare(x.timestamp) || (y.eventId < x.eventId ? -1 : 1));
      const windows = [
        { startTime: new Date(base - HOUR).toISOString(), endTime: new Date(base + 51 * HOUR).toISOString() },
        { startTime: new Date(base + 90_500).toISOString(), endTime: new Date(base + 40 * HOUR + 12_345).toISOString() },
      ];
      for (const window of windows) {
        for (const filter of [{}, { eventType: "log" }, { serviceName: "svc-2" }]) {
          const expected = newestFirst(
            events.filter((e) =>
              e.timestamp >= window.startTime && e.timestamp <= window.endTime &&
              (!("eventType" in filter) || e.eventType === filter.eventType) &&
              (!("serviceName" in filter) || e.serviceName === filter.serviceName),
            ),
          ).map((e) => e.eventId);
          for (const page of [1, 21, 45, 70, 100]) {
            const body = (await (await postJson(app, "/query", { ...window, ...filter, page, limit: 50 }, a.key)).json()) as any;
            expect(body.data.map((e: any) => e.eventId)).toEqual(expected.slice((page - 1) * 50, page * 50));
            expect(body.pagination.total).toBe(expected.length);
          }
        }
      }
    }, 60_000);

    test("nothing matching: totalPages 0", async () => {
      const { app, a } = suite.fresh();
      const body = (await (await postJson(app, "/query", wideWindow(), a.key)).json()) as any;
      expect(body).toEqual({
        data: [],
        pagination: { page: 1, limit: 100, total: 0, totalPages: 0, hasNext: false, hasPrev: false },
        nextCursor: null,
      });
    });

    test("cursor pagination walks every event once, stable while ingest continues", async () => {
      const { app, a } = suite.fresh();
      const events = await seed(app, a.key, 23);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const body = (await (await postJson(app, "/query", cursor ? { cursor } : { ...wideWindow(), limit: 5 }, a.key)).json()) as any;
        seen.push(...body.data.map((e: any) => e.eventId));
        cursor = body.nextCursor ?? undefined;
        pages++;
        // New events arriving mid-walk, newer than anything seen, do not shift the pages.
        if (pages === 2) await postJson(app, "/ingest", [makeEvent(9000, { timestamp: new Date(Date.now() - 60_000).toISOString() })], a.key);
        expect(body.pagination.page).toBe(pages);
      } while (cursor);
      expect(seen).toEqual(events.map((e) => e.eventId));
      expect(pages).toBe(5);
    });

    test("a cursor with different filters, a garbled cursor, or a cursor with groupBy is 400", async () => {
      const { app, a } = suite.fresh();
      await seed(app, a.key, 10);
      const body = (await (await postJson(app, "/query", { ...wideWindow(), limit: 3 }, a.key)).json()) as any;
      for (const request of [
        { cursor: body.nextCursor, eventType: "log" },
        { cursor: "bm90IGEgY3Vyc29y" },
        { cursor: body.nextCursor, groupBy: "service" },
      ]) {
        const res = await postJson(app, "/query", request, a.key);
        expect(res.status).toBe(400);
        expect(((await res.json()) as any).error.code).toBe("validation_failed");
      }
    });

    test("groupBy service and eventType: counts, sorted by count", async () => {
      const { app, a } = suite.fresh();
      const events = await seed(app, a.key, 30);
      const byType = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "eventType" }, a.key)).json()) as any;
      expect(byType).toEqual({ data: expect.any(Array), total: 30 });
      expect(new Map(byType.data.map((r: any) => [r.key, r.count]))).toEqual(new Map([["log", 10], ["metric", 10], ["trace", 10]]));

      await postJson(app, "/ingest", [100, 101, 102].map((i) => makeEvent(i, { serviceName: "svc-1" })), a.key);
      const byService = (await (await postJson(app, "/query", { ...wideWindow(), groupBy: "service" }, a.key)).json()) as any;
      expect(byService.data[0]).toEqual({ key: "svc-1", count: events.filter((e) => e.serviceName === "svc-1").length + 3 });
      const counts = byService.data.map((r: any) => r.count);
      expect(counts).toEqual([...counts].sort((x: number, y: number) => y - x));
      expect(byService.total).toBe(33);
    });

    describe("counts from the per-minute and per-hour tables", () => {
      // Events spread over ~3 days at odd seconds, so windows cut minutes and hours.
      const spread = (count: number) => {
        const base = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 24 * HOUR;
        return Array.from({ length: count }, (_, i) =>
          makeEvent(i, { timestamp: new Date(base + ((i * 7_919_113) % (3 * 24 * HOUR)) + (i % 997)).toISOString() }),
        );
      };

      test("totals, group counts and buckets equal a brute-force count for arbitrary windows", async () => {
        const { app, a } = suite.fresh();
        const events = spread(3000);
        expect((await postJson(app, "/ingest", events, a.key)).status).toBe(200);
        // Duplicates must not inflate the counts.
        expect(await (await postJson(app, "/ingest", events.slice(0, 500), a.key)).json()).toMatchObject({ duplicates: 500 });

        const times = events.map((e) => Date.parse(e.timestamp));
        const lo = Math.min(...times), hi = Math.max(...times);
        let seed = 7;
        const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
        for (let round = 0; round < 12; round++) {
          const x = lo + rnd() * (hi - lo), y = lo + rnd() * (hi - lo);
          const start = Math.floor(Math.min(x, y)), end = round === 0 ? times[5]! : Math.floor(Math.max(x, y));
          const from = round === 0 ? times[5]! : start; // a window of one instant
          const inWindow = events.filter((e) => { const t = Date.parse(e.timestamp); return t >= from && t <= end; });
          const window = { startTime: new Date(from).toISOString(), endTime: new Date(end).toISOString() };

          const page = (await (await postJson(app, "/query", { ...window, limit: 1 }, a.key)).json()) as any;
          expect(page.pagination.total).toBe(inWindow.length);

          const groups = (await (await postJson(app, "/query", { ...window, groupBy: "service" }, a.key)).json()) as any;
          const expected = new Map<string, number>();
          for (const e of inWindow) expected.set(e.serviceName, (expected.get(e.serviceName) ?? 0) + 1);
          expect(new Map(groups.data.map((r: any) => [r.key, r.count]))).toEqual(expected);

          const filtered = (await (await postJson(app, "/query", { ...window, eventType: "trace", limit: 1 }, a.key)).json()) as any;
          expect(filtered.pagination.total).toBe(inWindow.filter((e) => e.eventType === "trace").length);

          for (const interval of ["1m", "5m", "1h", "1d"] as const) {
            const width = { "1m": 60_000, "5m": 300_000, "1h": HOUR, "1d": 24 * HOUR }[interval];
            const buckets = (await (await postJson(app, "/query", { ...window, interval }, a.key)).json()) as any;
            const want = new Map<string, number>();
            for (const e of inWindow) {
              const b = new Date(Math.floor(Date.parse(e.timestamp) / width) * width).toISOString();
              want.set(b, (want.get(b) ?? 0) + 1);
            }
            expect(buckets.interval).toBe(interval);
            expect(buckets.total).toBe(inWindow.length);
            expect(new Map(buckets.data.map((r: any) => [r.bucket, r.count]))).toEqual(want);
          }
        }
      });

      test("buckets per key, ascending by bucket", async () => {
        const { app, a } = suite.fresh();
        const base = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
        const events = [
          makeEvent(1, { timestamp: new Date(base + 10_000).toISOString(), eventType: "log" }),
          makeEvent(2, { timestamp: new Date(base + 20_000).toISOString(), eventType: "log" }),
          makeEvent(3, { timestamp: new Date(base + 30_000).toISOString(), eventType: "metric" }),
          makeEvent(4, { timestamp: new Date(base + HOUR + 5).toISOString(), eventType: "trace" }),
        ];
        await postJson(app, "/ingest", events, a.key);
        const window = { startTime: new Date(base).toISOString(), endTime: new Date(base + 2 * HOUR).toISOString() };
        const body = (await (await postJson(app, "/query", { ...window, interval: "1h", groupBy: "eventType" }, a.key)).json()) as any;
        expect(body).toEqual({
          interval: "1h",
          total: 4,
          data: [
            { bucket: new Date(base).toISOString(), key: "log", count: 2 },
            { bucket: new Date(base).toISOString(), key: "metric", count: 1 },
            { bucket: new Date(base + HOUR).toISOString(), key: "trace", count: 1 },
          ],
        });
        const tooMany = await postJson(app, "/query", { startTime: "2020-01-01T00:00:00Z", endTime: "2026-01-01T00:00:00Z", interval: "1m" }, a.key);
        expect(tooMany.status).toBe(400);
      });
    });

    test("invalid queries are 400 validation_failed", async () => {
      const { app, a } = suite.fresh();
      const bad = [
        { startTime: new Date().toISOString(), endTime: new Date(Date.now() - HOUR).toISOString() },
        { eventType: "span" },
        { limit: 1001 },
        { limit: 0 },
        { page: 0 },
        { page: 1.5 },
        { groupBy: "tenant" },
        { interval: "2m" },
        { startTime: "not a date" },
        { endTime: "2026-02-30T00:00:00Z" },
        { endTime: "2026-01-01T24:00:00.0001Z" },
      ];
      for (const body of bad) {
        const res = await postJson(app, "/query", body, a.key);
        expect(res.status).toBe(400);
        const json = (await res.json()) as any;
        expect(json.error.code).toBe("validation_failed");
        expect(json.error.details.length).toBeGreaterThan(0);
      }
      const malformed = await postJson(app, "/query", "{nope", a.key);
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as any).error.code).toBe("invalid_json");
    });
  });
}, { productionLike: true });
