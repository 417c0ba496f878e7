import { batchBody, makeEvents, singleBody } from "./data";
import { post, runLoad, type LoadResult } from "./load";

/**
 * Request bodies are built before the clock starts. If a phase outruns the
 * prebuilt pool, further bodies are built on the fly and counted
 * (`builtDuringRun`), so a result skewed by generator work is visible.
 */
export class BodyPool {
  private index = 0;
  builtDuringRun = 0;
  constructor(
    readonly bodies: Uint8Array[],
    private readonly make: () => Uint8Array,
  ) {}
  next(): { body: Uint8Array; index: number } {
    const index = this.index++;
    if (index < this.bodies.length) return { body: this.bodies[index]!, index };
    this.builtDuringRun++;
    return { body: this.make(), index };
  }
  get used() {
    return this.index;
  }
}

export interface IngestPhaseResult extends LoadResult {
  /** Sum of `ingested` over every 200 answer (warm-up and tail included). */
  ingestedTotal: number;
  duplicatesTotal: number;
  /** Events in requests answered 200. */
  sentOkEvents: number;
  /** Answers whose ingested/duplicates differ from what the batch holds. */
  wrongCounts: number;
  prebuilt: number;
  builtDuringRun: number;
}

export function headersFor(apiKey: string): Record<string, string> {
  return { "content-type": "application/json", "x-api-key": apiKey };
}

/**
 * POST /ingest with prebuilt bodies. `expect(index)` says how many of the
 * body's events are new and how many are duplicates, so every answer is checked.
 */
export async function runIngestPhase(options: {
  url: string;
  apiKey: string;
  pool: BodyPool;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  expect: (index: number) => { events: number; ingested: number; duplicates: number };
  onOk?: (index: number) => void;
  onWindow?: (phase: "start" | "end") => void;
}): Promise<IngestPhaseResult> {
  const headers = headersFor(options.apiKey);
  const target = `${options.url}/ingest`;
  let ingestedTotal = 0;
  let duplicatesTotal = 0;
  let sentOkEvents = 0;
  let wrongCounts = 0;
  const result = await runLoad({
    ...options, // concurrency, warm-up, duration, onWindow
    request: async () => {
      const { body, index } = options.pool.next();
      const res = await post(target, headers, body);
      const expected = options.expect(index);
      if (res.status !== 200) {
        return { ok: false, events: 0, status: res.status, error: res.error ?? `HTTP ${res.status}: ${res.text.slice(0, 300)}` };
      }
      const answer = JSON.parse(res.text) as { ingested: number; duplicates: number };
      // Counters are plain synchronous updates after the await: no lost updates.
      ingestedTotal += answer.ingested;
      duplicatesTotal += answer.duplicates;
      sentOkEvents += expected.events;
      if (answer.ingested !== expected.ingested || answer.duplicates !== expected.duplicates) wrongCounts++;
      options.onOk?.(index);
      return { ok: true, events: expected.events };
    },
  });
  return {
    ...result,
    ingestedTotal,
    duplicatesTotal,
    sentOkEvents,
    wrongCounts,
    prebuilt: options.pool.bodies.length,
    builtDuringRun: options.pool.builtDuringRun,
  };
}

export const SPREAD_MS = 120_000;

/** 1000-event batches of fresh ids; remembers the first `keepIds` events of each batch for the duplicate phase. */
export function batchPool(count: number, batchSize: number, keepIds: number) {
  const kept: StoredKey[][] = [];
  const make = () => {
    const events = makeEvents(batchSize, Date.now(), SPREAD_MS);
    kept.push(events.slice(0, keepIds).map(({ eventId, timestamp }) => ({ eventId, timestamp })));
    return batchBody(events);
  };
  const bodies = Array.from({ length: count }, make);
  return { pool: new BodyPool(bodies, make), kept };
}

/** An event's identity: its id and its timestamp. */
export interface StoredKey {
  eventId: string;
  timestamp: string;
}

/** Batches of `batchSize` where `dupSource()`'s events (id and timestamp) were already stored. */
export function duplicatePool(count: number, batchSize: number, dupSource: () => StoredKey[]) {
  const make = () => {
    const dups = dupSource();
    const events = makeEvents(batchSize, Date.now(), SPREAD_MS);
    for (let i = 0; i < dups.length; i++) Object.assign(events[i * Math.floor(batchSize / dups.length)]!, dups[i]!);
    return batchBody(events);
  };
  return new BodyPool(Array.from({ length: count }, make), make);
}

export function singlePool(count: number) {
  const make = () => singleBody(makeEvents(1, Date.now(), SPREAD_MS)[0]!);
  return new BodyPool(Array.from({ length: count }, make), make);
}

/**
 * Many writers of one key: small batches for one tenant, one service and one
 * type, stamped within the same second, so every batch adds to the same
 * count rows (the shards of sql/007 exist for this).
 */
export function oneKeyPool(count: number, batchSize: number) {
  const make = () => {
    const events = makeEvents(batchSize, Date.now(), 1000).map((e) => ({ ...e, serviceName: "checkout", eventType: "log" as const }));
    return batchBody(events);
  };
  return new BodyPool(Array.from({ length: count }, make), make);
}
