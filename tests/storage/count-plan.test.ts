import { expect, test } from "bun:test";
import { planCounts } from "../../src/storage/count-plan";

const t = (iso: string) => Date.parse(iso);
const show = (plan: ReturnType<typeof planCounts>) => ({
  raw: plan.raw.map((r) => [new Date(r.from).toISOString(), new Date(r.to).toISOString()]),
  levels: Object.fromEntries(
    plan.levels.map(({ level, ranges }) => [level.column, ranges.map((r) => [new Date(r.from).toISOString(), new Date(r.to).toISOString()])]),
  ),
});

test("whole hours from hours, whole 5-minute slots and minutes at the edges, partial minutes raw", () => {
  const plan = planCounts(t("2026-01-01T10:07:30.000Z"), t("2026-01-01T13:22:10.000Z"));
  expect(show(plan)).toEqual({
    raw: [
      ["2026-01-01T10:07:30.000Z", "2026-01-01T10:08:00.000Z"],
      ["2026-01-01T13:22:00.000Z", "2026-01-01T13:22:10.001Z"], // the end is inclusive
    ],
    levels: {
      minute: [
        ["2026-01-01T10:08:00.000Z", "2026-01-01T10:10:00.000Z"],
        ["2026-01-01T13:20:00.000Z", "2026-01-01T13:22:00.000Z"],
      ],
      slot: [
        ["2026-01-01T10:10:00.000Z", "2026-01-01T11:00:00.000Z"],
        ["2026-01-01T13:00:00.000Z", "2026-01-01T13:20:00.000Z"],
      ],
      hour: [["2026-01-01T11:00:00.000Z", "2026-01-01T13:00:00.000Z"]],
    },
  });
});

test("5-minute buckets never read hours; a window inside one minute is all raw", () => {
  const plan = planCounts(t("2026-01-01T10:00:00.000Z"), t("2026-01-01T12:00:00.000Z") - 1, 5 * 60_000);
  expect(show(plan).levels).toEqual({ slot: [["2026-01-01T10:00:00.000Z", "2026-01-01T12:00:00.000Z"]] });
  expect(show(plan).raw).toEqual([]);
  const tiny = planCounts(t("2026-01-01T10:00:05.000Z"), t("2026-01-01T10:00:50.000Z"));
  expect(show(tiny)).toEqual({ raw: [["2026-01-01T10:00:05.000Z", "2026-01-01T10:00:50.001Z"]], levels: {} });
});

test("the pieces tile the window exactly, whatever its edges", () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < 500; i++) {
    const start = Math.floor(1_700_000_000_000 + rnd() * 1e9);
    const end = start + Math.floor(rnd() * (rnd() < 0.5 ? 4e6 : 3e8));
    const plan = planCounts(start, end, [Infinity, 5 * 60_000, 60_000][i % 3]);
    const pieces = [...plan.raw, ...plan.levels.flatMap((l) => l.ranges)].sort((a, b) => a.from - b.from);
    expect(pieces[0]!.from).toBe(start);
    expect(pieces.at(-1)!.to).toBe(end + 1);
    for (let k = 1; k < pieces.length; k++) expect(pieces[k]!.from).toBe(pieces[k - 1]!.to);
  }
});
