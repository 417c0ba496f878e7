/**
 * Decode throughput for a 1000-span OTLP/protobuf request built by the real
 * OpenTelemetry SDK + serializer. Run: bun run tests/otlp/bench-decode.ts
 */
import { ProtobufTraceSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { decodeEvents, makeSpans } from "./fixtures.ts";

const SPANS = 1000;
const spans = makeSpans(SPANS);
const bodies = {
  protobuf: ProtobufTraceSerializer.serializeRequest(spans)!,
  json: JsonTraceSerializer.serializeRequest(spans)!,
};

for (const encoding of ["protobuf", "json"] as const) {
  const body = bodies[encoding];
  for (let i = 0; i < 50; i++) decodeEvents("traces", body, encoding); // warm-up (JIT)
  const rounds = 200;
  const t0 = Bun.nanoseconds();
  let events = 0;
  for (let i = 0; i < rounds; i++) events += decodeEvents("traces", body, encoding).length;
  const perSpanUs = (Bun.nanoseconds() - t0) / 1e3 / events;
  console.log(
    `${encoding}: body ${(body.length / 1024).toFixed(0)} KiB, ${perSpanUs.toFixed(2)} µs/span, ` +
      `${Math.round(1e6 / perSpanUs).toLocaleString("en")} spans/s on one core`,
  );
}
