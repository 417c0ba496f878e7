import { SseReader } from "../../tests/support/sse";
import { headersFor } from "./http-ingest";
import { post } from "./load";
import { summarize, type LatencySummary } from "./stats";

/**
 * Live tail's delay from commit to client: a tail open on one replica, and
 * single-event batches ingested one after another through another (both
 * share PostgreSQL and Redis); each event's delay runs from the moment its
 * ingest request is sent to its arrival on the stream: an upper bound on
 * commit to client (the 200 itself often arrives after the event does).
 */
export async function measureTailLatency(options: { tailUrl: string; ingestUrl: string; apiKey: string; events: number }): Promise<{ samples: number; latencyMs: LatencySummary; missing: number }> {
  const res = await fetch(`${options.tailUrl}/tail`, { headers: { "x-api-key": options.apiKey } });
  if (res.status !== 200) throw new Error(`GET /tail answered ${res.status}: ${await res.text()}`);
  const reader = new SseReader(res);
  await reader.next();
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  const receiving = (async () => {
    while (delays.length < options.events) {
      const message = await reader.next(10_000);
      if (!message) break;
      if (message.data === undefined || message.event !== undefined) continue;
      const id = (JSON.parse(message.data) as { eventId: string }).eventId;
      const at = performance.now();
      const sent = sentAt.get(id);
      if (sent !== undefined) delays.push(at - sent);
    }
  })();
  for (let i = 0; i < options.events; i++) {
    const eventId = `tail-${crypto.randomUUID()}`;
    const body = JSON.stringify({ eventId, eventType: "log", serviceName: "tail-bench", timestamp: new Date().toISOString(), payload: { i } });
    sentAt.set(eventId, performance.now());
    const answer = await post(`${options.ingestUrl}/ingest`, headersFor(options.apiKey), body);
    if (answer.status !== 200) throw new Error(`ingest for the tail answered ${answer.status}`);
    await Bun.sleep(20);
  }
  await Promise.race([receiving, Bun.sleep(15_000)]);
  await reader.close();
  return { samples: delays.length, latencyMs: summarize(delays), missing: options.events - delays.length };
}
