/**
 * A live tail's filter reads text as /query does: terms through the same
 * search text, `contains` as PostgreSQL's lower() compares, a capital sigma
 * alike wherever it stands (tests/query/search.test.ts asks /query the same).
 */
import { expect, test } from "bun:test";
import type { StoredEvent } from "../../src/events/event-types";
import { searchTerms } from "../../src/query/search.schemas";
import { eventMatcher } from "../../src/tail/matcher";

const event = (eventId: string, msg: string): StoredEvent => ({
  eventId, eventType: "log", serviceName: "svc", timestamp: "2026-12-01T00:00:00.000Z", payload: { msg }, receivedAt: "2026-12-01T00:00:00.000Z",
});
const events = [event("p-0", "ΟΔΟΣ"), event("p-1", "ΟΣΑ"), event("p-2", "οδος")];
const matching = (filter: Parameters<typeof eventMatcher>[0]) => events.filter(eventMatcher(filter)).map((e) => e.eventId);

test("terms and contains match a capital sigma wherever it stands, as /query does", () => {
  expect(matching({ terms: searchTerms("ΟΣ") })).toEqual(["p-0", "p-1"]);
  expect(matching({ terms: searchTerms("Σ") })).toEqual(["p-0", "p-1"]);
  expect(matching({ terms: searchTerms("ος") })).toEqual(["p-2"]);
  expect(matching({ where: [{ field: "msg", op: "contains", value: "ΟΣ" }] })).toEqual(["p-0", "p-1"]);
  expect(matching({ where: [{ field: "msg", op: "contains", value: "ς" }] })).toEqual(["p-2"]);
});
