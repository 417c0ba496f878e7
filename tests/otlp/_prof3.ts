import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { decodeOtlp } from "../../src/otlp/index.ts";
import { makeSpans } from "./fixtures.ts";
const body = ProtobufTraceSerializer.serializeRequest(makeSpans(1000))!;
for (let i = 0; i < 300; i++) decodeOtlp("traces", body, "protobuf");
