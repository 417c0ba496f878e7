import {
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  JsonTraceSerializer,
} from "@opentelemetry/otlp-transformer";
import { expect, test } from "bun:test";
import { encodingFromContentType } from "../../src/otlp/content-type.ts";
import { encodeExportResponse, encodeRpcStatus } from "../../src/otlp/response.ts";
import { RpcStatus } from "../../src/otlp/schema.ts";

const bytes = (b: Uint8Array | string) => (typeof b === "string" ? new TextEncoder().encode(b) : b);

test("success responses are empty ExportXServiceResponse messages", () => {
  for (const signal of ["traces", "logs", "metrics"] as const) {
    const pb = encodeExportResponse(signal, "protobuf");
    expect(pb.contentType).toBe("application/x-protobuf");
    expect(bytes(pb.body)).toHaveLength(0);
    const json = encodeExportResponse(signal, "json");
    expect(json).toEqual({ body: "{}", contentType: "application/json" });
  }
});

test("partial success responses are readable by the OpenTelemetry JS exporters", () => {
  const rejected = { count: 3, message: "rejected: invalid trace or span id (3)" };
  const traces = ProtobufTraceSerializer.deserializeResponse(bytes(encodeExportResponse("traces", "protobuf", rejected).body));
  expect(traces.partialSuccess).toMatchObject({ rejectedSpans: 3, errorMessage: rejected.message });
  const logs = ProtobufLogsSerializer.deserializeResponse(bytes(encodeExportResponse("logs", "protobuf", rejected).body));
  expect(logs.partialSuccess).toMatchObject({ rejectedLogRecords: 3, errorMessage: rejected.message });
  const metrics = ProtobufMetricsSerializer.deserializeResponse(
    bytes(encodeExportResponse("metrics", "protobuf", rejected).body),
  );
  expect(metrics.partialSuccess).toMatchObject({ rejectedDataPoints: 3, errorMessage: rejected.message });

  const json = encodeExportResponse("traces", "json", rejected).body as string;
  expect(JSON.parse(json)).toEqual({ partialSuccess: { rejectedSpans: "3", errorMessage: rejected.message } });
  expect(JsonTraceSerializer.deserializeResponse(bytes(json)).partialSuccess).toMatchObject({ rejectedSpans: "3" });
});

test("error bodies are google.rpc.Status in the request's encoding", () => {
  const json = encodeRpcStatus("json", 3, "invalid JSON body");
  expect(json.contentType).toBe("application/json");
  expect(JSON.parse(json.body as string)).toEqual({ code: 3, message: "invalid JSON body", details: [] });

  const pb = encodeRpcStatus("protobuf", 3, "invalid protobuf body");
  expect(pb.contentType).toBe("application/x-protobuf");
  expect(RpcStatus.toObject(RpcStatus.decode(bytes(pb.body)))).toEqual({ code: 3, message: "invalid protobuf body" });
});

test("content types map to encodings; anything else is unsupported (415)", () => {
  expect(encodingFromContentType("application/x-protobuf")).toBe("protobuf");
  expect(encodingFromContentType("Application/X-Protobuf; charset=binary")).toBe("protobuf");
  expect(encodingFromContentType("application/json")).toBe("json");
  expect(encodingFromContentType("application/json; charset=utf-8")).toBe("json");
  expect(encodingFromContentType("text/plain")).toBeNull();
  expect(encodingFromContentType("application/jsonx")).toBeNull();
  expect(encodingFromContentType("")).toBeNull();
  expect(encodingFromContentType(null)).toBeNull();
  expect(encodingFromContentType(undefined)).toBeNull();
});
