import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { ExportTraceServiceRequest } from "../../src/otlp/schema.ts";
import { convertTraces } from "../../src/otlp/traces.ts";
import { makeSpans } from "./fixtures.ts";
const body = ProtobufTraceSerializer.serializeRequest(makeSpans(1000))!;
function time(name: string, fn: () => unknown) {
  for (let i = 0; i < 30; i++) fn();
  const t0 = Bun.nanoseconds(); for (let i = 0; i < 100; i++) fn();
  console.log(name, ((Bun.nanoseconds() - t0) / 1e3 / 100 / 1000).toFixed(2), "µs/span");
}
time("pb decode", () => ExportTraceServiceRequest.decode(body));
const msg = ExportTraceServiceRequest.decode(body);
time("convert", () => convertTraces(msg as any));
const json = JSON.parse(JSON.stringify(ExportTraceServiceRequest.toObject(msg, { longs: String, bytes: String })));
time("both", () => convertTraces(ExportTraceServiceRequest.decode(body) as any));
import { decodeOtlp } from "../../src/otlp/index.ts";
time("decodeOtlp", () => decodeOtlp("traces", body, "protobuf"));
