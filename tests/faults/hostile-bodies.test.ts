/**
 * Hostile clients against the real server process over real sockets (raw
 * TCP where fetch cannot express the request). PostgreSQL is the shared one,
 * in a schema of our own; nothing here touches the database's health.
 *
 * Proves: bodies are bounded while streaming (a 50 MiB chunked upload and
 * gzip bombs end as 413 without the memory growing), ambiguous framing is
 * refused with 400, absurd nesting is refused fast, and neither bombs nor
 * hundreds of slow-loris connections keep other clients from being served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { createGzip } from "node:zlib";
import postgres from "postgres";
import { makeEvent, random, serviceUrl } from "../support/harness";
import { startServer, type ServerProcess } from "../support/server-process";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");
const MiB = 1024 * 1024;
/**
 * Below the 10 MiB default on purpose: a request may legitimately buffer up
 * to MAX_BODY_BYTES (decompressed), so 10 concurrent bombs can hold up to
 * 10 × MAX_BODY_BYTES before each is refused. With 4 MiB that bound (40 MiB)
 * sits under the 64 MiB budget; what is proven is that memory follows the
 * limit, not the 1 GiB the bombs expand to. (With the default, growth measured
 * 40-70 MiB.)
 */
const MAX_BODY_BYTES = 4 * MiB;

interface RawResponse {
  status: number;
  head: string;
  ms: number;
  /** Bytes of body written before the response arrived (or the socket closed). */
  sent: number;
}

/**
 * Sends `head` on a raw socket, then the chunks from `body` (with backpressure)
 * until the server answers or closes; resolves with the status line.
 */
function rawRequest(port: number, head: string, body?: () => Iterable<Uint8Array | string>, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let received = "";
    let sent = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve({ status: match ? Number(match[1]) : 0, head: received.split("\r\n\r\n")[0] ?? "", ms: performance.now() - started, sent });
      socket.destroy();
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (data) => {
      received += data.toString("latin1");
      if (received.includes("\r\n\r\n")) finish();
    });
    socket.on("error", () => finish());
    socket.on("close", () => finish());
    socket.on("connect", async () => {
      socket.write(head);
      if (!body) return;
      for (const chunk of body()) {
        if (settled || socket.destroyed) return;
        sent += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
        if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
      }
    });
  });
}

function readRssKiB(pid: number): number {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function gzipOfZeros(totalBytes: number): Promise<Buffer> {
  const gz = createGzip({ level: 9, chunkSize: MiB });
  const parts: Buffer[] = [];
  gz.on("data", (d: Buffer) => parts.push(d));
  const done = new Promise((r) => gz.on("end", r));
  const zero = Buffer.alloc(16 * MiB);
  for (let written = 0; written < totalBytes; written += zero.length) {
    if (!gz.write(zero)) await new Promise((r) => gz.once("drain", r));
  }
  gz.end();
  await done;
  return Buffer.concat(parts);
}

/** Samples GET /health every 10 ms until stop() is called. */
function probeHealth(url: string) {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
      latencies.push(res?.status === 200 ? performance.now() - t : Infinity);
      await Bun.sleep(10);
    }
  })();
  return async () => {
    running = false;
    await loop;
    const sorted = [...latencies].sort((a, b) => a - b);
    return { count: sorted.length, p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!, max: sorted.at(-1)! };
  };
}

describe.skipIf(!databaseUrl)("fault: hostile bodies and connections against the server process", () => {
  const schema = `tv_fault_hostile_${random()}`;
  const tenant = `hostile-${random()}`;
  const KEY = "hostile-key";
  const admin = postgres(databaseUrl ?? "", { max: 1, onnotice: () => {} });
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: databaseUrl!,
      DB_SCHEMA: schema,
      API_KEYS: `${KEY}:${tenant}`,
      LOG_LEVEL: "error",
      RATE_LIMIT_MAX_REQUESTS: "1000000",
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
    await admin.end();
  });

  async function storedCount() {
    const [row] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM ${admin(schema)}.events WHERE tenant_id = ${tenant}`;
    return row!.n;
  }
  async function expectAlive() {
    expect(server.proc.exitCode, `server exited:\n${server.output().slice(-2000)}`).toBeNull();
    const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(2000) });
    expect(res.status).toBe(200);
  }
  const ingestHead = (extra: string) =>
    `POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${KEY}\r\nContent-Type: application/json\r\n${extra}\r\n`;

  test("50 MiB chunked body without Content-Length → 413 while streaming, nothing stored", async () => {
    const before = await storedCount();
    // Valid events all the way: only the size is wrong.
    function* chunked() {
      const CHUNK = 256 * 1024;
      let total = 0;
      let n = 0;
      let first = true;
      while (total < 50 * MiB) {
        let text = first ? "[" : "";
        first = false;
        while (text.length < CHUNK) text += (n > 0 ? "," : "") + JSON.stringify(makeEvent(n++ % 1000, { eventId: `big-${n}` }));
        total += text.length;
        yield `${text.length.toString(16)}\r\n${text}\r\n`;
      }
      yield "1\r\n]\r\n0\r\n\r\n";
    }
    const res = await rawRequest(server.port, ingestHead("Transfer-Encoding: chunked\r\n"), chunked);
    expect(res.status, `response: ${res.head}`).toBe(413);
    console.log(`[chunked] 413 after ${Math.round(res.ms)} ms; ${(res.sent / MiB).toFixed(1)} MiB handed to the socket`);
    expect(await storedCount()).toBe(before);
    await expectAlive();
  }, 30_000);

  test("a body of any declared size is refused by the app: the contract's 413 with X-Request-Id, before it is sent", async () => {
    for (const [path, type] of [["/ingest", "application/json"], ["/query", "application/json"], ["/v1/traces", "application/x-protobuf"]]) {
      const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${KEY}\r\nX-Request-Id: huge-1\r\nContent-Type: ${type}\r\nContent-Length: ${20 * 1024 * MiB}\r\n\r\n`;
      const res = await rawRequest(server.port, head, () => ["x".repeat(1024)]);
      expect(res.status, `${path}: ${res.head}`).toBe(413);
      expect(res.head).toContain("X-Request-Id: huge-1");
      expect(res.head.toLowerCase()).toContain(`content-type: ${type}`);
      expect(res.ms).toBeLessThan(2000);
    }
    await expectAlive();
  });

  test("conflicting Content-Length / Transfer-Encoding and duplicate Content-Length → 400, process survives", async () => {
    const body = JSON.stringify([makeEvent(1, { eventId: `smuggle-${random()}` })]);
    const cases: [string, string][] = [
      ["Content-Length + Transfer-Encoding", `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`],
      ["two different Content-Lengths", `Content-Length: ${body.length}\r\nContent-Length: 5\r\n`],
      ["Transfer-Encoding other than chunked", `Transfer-Encoding: gzip, identity\r\nContent-Length: ${body.length}\r\n`],
    ];
    for (const [label, headers] of cases) {
      const res = await rawRequest(server.port, ingestHead(headers), () => [body]);
      expect(res.status, `${label}: ${res.head}`).toBe(400);
    }
    const [row] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM ${admin(schema)}.events WHERE tenant_id = ${tenant} AND event_id LIKE 'smuggle-%'`;
    expect(row!.n, "no smuggled event stored").toBe(0);
    await expectAlive();
  });

  test("10 concurrent gzip bombs (~1 MiB → 1 GiB) → all 413 within 1 s, RSS growth < 64 MiB, /health p99 < 100 ms", async () => {
    const bomb = new Uint8Array(await gzipOfZeros(1024 * MiB));
    expect(bomb.byteLength).toBeLessThan(MAX_BODY_BYTES); // passes the wire-size bound; only decompression can stop it
    const before = await storedCount();
    // Warm the paths once so one-time allocations do not count as growth.
    await fetch(`${server.url}/ingest`, { method: "POST", headers: { "x-api-key": KEY, "content-encoding": "gzip" }, body: bomb });
    const rssBefore = readRssKiB(server.proc.pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, readRssKiB(server.proc.pid));
      } catch {}
    }, 5);
    const stopProbe = probeHealth(server.url);
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const t = performance.now();
        const res = await fetch(`${server.url}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/json", "content-encoding": "gzip", "x-api-key": KEY },
          body: bomb,
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as any;
        return { status: res.status, code: body?.error?.code, ms: performance.now() - t };
      }),
    );
    await Bun.sleep(200); // keep probing /health a little after the bombs
    const health = await stopProbe();
    clearInterval(sampler);
    const growthMiB = (rssPeak - rssBefore) / 1024;
    console.log(
      `[gzip-bombs] ${bomb.byteLength} B each; slowest ${Math.round(Math.max(...results.map((r) => r.ms)))} ms; ` +
        `RSS ${Math.round(rssBefore / 1024)} → peak ${Math.round(rssPeak / 1024)} MiB (+${growthMiB.toFixed(1)}); /health p99 ${health.p99.toFixed(1)} ms over ${health.count}`,
    );
    expect(results.map((r) => r.status)).toEqual(new Array(10).fill(413));
    expect(results.every((r) => r.code === "payload_too_large")).toBe(true);
    expect(Math.max(...results.map((r) => r.ms)), "every bomb refused within 1 s").toBeLessThan(1000);
    expect(growthMiB, "server RSS growth").toBeLessThan(64);
    expect(health.p99, "/health p99 during the bombs").toBeLessThan(100);
    expect(await storedCount()).toBe(before);
    await expectAlive();
  }, 60_000);

  test("JSON nested 100 000 levels deep → 400 fast, process alive", async () => {
    for (const [label, body] of [
      ["arrays", "[".repeat(100_000) + "]".repeat(100_000)],
      ["objects in a payload", `{"eventId":"deep","eventType":"log","serviceName":"s","timestamp":"2026-01-01T00:00:00Z","payload":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`],
      ["unclosed", "[".repeat(100_000)],
    ] as const) {
      const t = performance.now();
      const res = await fetch(`${server.url}/ingest`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": KEY }, body });
      const ms = performance.now() - t;
      expect(res.status, `${label}: ${await res.text()}`).toBe(400);
      expect(ms, `${label}: refused fast`).toBeLessThan(500);
    }
    await expectAlive();
  });

  test("500 slow-loris connections (headers byte by byte) → other clients still served promptly", async () => {
    const sockets: Socket[] = [];
    const head = ingestHead("Content-Length: 100000\r\n");
    let dripping = true;
    await Promise.all(
      Array.from({ length: 500 }, () =>
        new Promise<void>((resolve) => {
          const socket = connect(server.port, "127.0.0.1", () => resolve());
          socket.on("error", () => resolve());
          sockets.push(socket);
        }),
      ),
    );
    // Each connection sends one more byte of its headers every 100 ms, never finishing.
    const drip = (async () => {
      for (let i = 0; dripping && i < head.length - 2; i++) {
        for (const socket of sockets) if (!socket.destroyed) socket.write(head[i]!);
        await Bun.sleep(100);
      }
    })();
    await Bun.sleep(500);

    const stopProbe = probeHealth(server.url);
    const ingests: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const res = await fetch(`${server.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": KEY },
        body: JSON.stringify([makeEvent(i, { eventId: `loris-${random()}` })]),
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status).toBe(200);
      ingests.push(performance.now() - t);
      await Bun.sleep(100);
    }
    const health = await stopProbe();
    dripping = false;
    await drip;
    const open = sockets.filter((s) => !s.destroyed).length;
    for (const socket of sockets) socket.destroy();
    console.log(`[slow-loris] ${open} of 500 still open; ingest max ${Math.round(Math.max(...ingests))} ms; /health p99 ${health.p99.toFixed(1)} ms`);
    expect(Math.max(...ingests), "ingest while 500 connections dribble headers").toBeLessThan(1000);
    expect(health.p99, "/health p99 while 500 connections dribble headers").toBeLessThan(200);
    await expectAlive();
  }, 60_000);
});
