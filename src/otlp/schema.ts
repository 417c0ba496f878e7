/**
 * The OTLP protobuf schema as a protobufjs JSON descriptor.
 *
 * Why a descriptor in code instead of vendored .proto files: the service runs
 * with `bun run` (no build step), so a plain object avoids file-system lookups
 * relative to the module and the .proto parser at startup, and lets us keep
 * only the fields we read. Wire compatibility is what matters here: field
 * numbers and wire types follow opentelemetry-proto v1 (common, resource,
 * trace, logs, metrics and the collector services) and google.rpc.Status.
 * Tests round-trip bodies produced by the official OpenTelemetry JS
 * serializers through this schema, so a wrong number would fail loudly.
 *
 * Field names are lowerCamelCase, exactly the OTLP/JSON keys, so one converter
 * reads both decoded protobuf messages and parsed JSON.
 *
 * Fields that carry presence in the .proto (`optional double sum`, the oneof
 * members) are plain fields here: protobufjs only sets an own property when a
 * field is on the wire, which is how the converters test for presence.
 */
import protobuf from "protobufjs";

const f = (id: number, type: string) => ({ id, type });
const rep = (id: number, type: string) => ({ id, type, rule: "repeated" });

const common = {
  AnyValue: {
    oneofs: {
      value: {
        oneof: ["stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"],
      },
    },
    fields: {
      stringValue: f(1, "string"),
      boolValue: f(2, "bool"),
      intValue: f(3, "int64"),
      doubleValue: f(4, "double"),
      arrayValue: f(5, "ArrayValue"),
      kvlistValue: f(6, "KeyValueList"),
      bytesValue: f(7, "bytes"),
    },
  },
  ArrayValue: { fields: { values: rep(1, "AnyValue") } },
  KeyValueList: { fields: { values: rep(1, "KeyValue") } },
  KeyValue: { fields: { key: f(1, "string"), value: f(2, "AnyValue") } },
  InstrumentationScope: {
    fields: {
      name: f(1, "string"),
      version: f(2, "string"),
      attributes: rep(3, "KeyValue"),
      droppedAttributesCount: f(4, "uint32"),
    },
  },
};

const resource = {
  Resource: {
    fields: {
      attributes: rep(1, "opentelemetry.proto.common.v1.KeyValue"),
      droppedAttributesCount: f(2, "uint32"),
    },
  },
};

const KV = "opentelemetry.proto.common.v1.KeyValue";
const ANY = "opentelemetry.proto.common.v1.AnyValue";
const SCOPE = "opentelemetry.proto.common.v1.InstrumentationScope";
const RESOURCE = "opentelemetry.proto.resource.v1.Resource";

const trace = {
  ResourceSpans: { fields: { resource: f(1, RESOURCE), scopeSpans: rep(2, "ScopeSpans"), schemaUrl: f(3, "string") } },
  ScopeSpans: { fields: { scope: f(1, SCOPE), spans: rep(2, "Span"), schemaUrl: f(3, "string") } },
  Span: {
    fields: {
      traceId: f(1, "bytes"),
      spanId: f(2, "bytes"),
      traceState: f(3, "string"),
      parentSpanId: f(4, "bytes"),
      flags: f(16, "fixed32"),
      name: f(5, "string"),
      kind: f(6, "SpanKind"),
      startTimeUnixNano: f(7, "fixed64"),
      endTimeUnixNano: f(8, "fixed64"),
      attributes: rep(9, KV),
      droppedAttributesCount: f(10, "uint32"),
      events: rep(11, "Event"),
      droppedEventsCount: f(12, "uint32"),
      links: rep(13, "Link"),
      droppedLinksCount: f(14, "uint32"),
      status: f(15, "Status"),
    },
    nested: {
      SpanKind: {
        values: {
          SPAN_KIND_UNSPECIFIED: 0,
          SPAN_KIND_INTERNAL: 1,
          SPAN_KIND_SERVER: 2,
          SPAN_KIND_CLIENT: 3,
          SPAN_KIND_PRODUCER: 4,
          SPAN_KIND_CONSUMER: 5,
        },
      },
      Event: {
        fields: {
          timeUnixNano: f(1, "fixed64"),
          name: f(2, "string"),
          attributes: rep(3, KV),
          droppedAttributesCount: f(4, "uint32"),
        },
      },
      Link: {
        fields: {
          traceId: f(1, "bytes"),
          spanId: f(2, "bytes"),
          traceState: f(3, "string"),
          attributes: rep(4, KV),
          droppedAttributesCount: f(5, "uint32"),
          flags: f(6, "fixed32"),
        },
      },
    },
  },
  Status: {
    fields: { message: f(2, "string"), code: f(3, "StatusCode") },
    nested: { StatusCode: { values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } } },
  },
};

const severityNumbers: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };
["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].forEach((level, i) => {
  severityNumbers[`SEVERITY_NUMBER_${level}`] = i * 4 + 1;
  for (let n = 2; n <= 4; n++) severityNumbers[`SEVERITY_NUMBER_${level}${n}`] = i * 4 + n;
});

const logs = {
  ResourceLogs: { fields: { resource: f(1, RESOURCE), scopeLogs: rep(2, "ScopeLogs"), schemaUrl: f(3, "string") } },
  ScopeLogs: { fields: { scope: f(1, SCOPE), logRecords: rep(2, "LogRecord"), schemaUrl: f(3, "string") } },
  SeverityNumber: { values: severityNumbers },
  LogRecord: {
    fields: {
      timeUnixNano: f(1, "fixed64"),
      observedTimeUnixNano: f(11, "fixed64"),
      severityNumber: f(2, "SeverityNumber"),
      severityText: f(3, "string"),
      body: f(5, ANY),
      attributes: rep(6, KV),
      droppedAttributesCount: f(7, "uint32"),
      flags: f(8, "fixed32"),
      traceId: f(9, "bytes"),
      spanId: f(10, "bytes"),
      eventName: f(12, "string"),
    },
  },
};

const metrics = {
  ResourceMetrics: {
    fields: { resource: f(1, RESOURCE), scopeMetrics: rep(2, "ScopeMetrics"), schemaUrl: f(3, "string") },
  },
  ScopeMetrics: { fields: { scope: f(1, SCOPE), metrics: rep(2, "Metric"), schemaUrl: f(3, "string") } },
  Metric: {
    oneofs: { data: { oneof: ["gauge", "sum", "histogram", "exponentialHistogram", "summary"] } },
    fields: {
      name: f(1, "string"),
      description: f(2, "string"),
      unit: f(3, "string"),
      gauge: f(5, "Gauge"),
      sum: f(7, "Sum"),
      histogram: f(9, "Histogram"),
      exponentialHistogram: f(10, "ExponentialHistogram"),
      summary: f(11, "Summary"),
      metadata: rep(12, KV),
    },
  },
  Gauge: { fields: { dataPoints: rep(1, "NumberDataPoint") } },
  Sum: {
    fields: {
      dataPoints: rep(1, "NumberDataPoint"),
      aggregationTemporality: f(2, "AggregationTemporality"),
      isMonotonic: f(3, "bool"),
    },
  },
  Histogram: {
    fields: { dataPoints: rep(1, "HistogramDataPoint"), aggregationTemporality: f(2, "AggregationTemporality") },
  },
  ExponentialHistogram: {
    fields: {
      dataPoints: rep(1, "ExponentialHistogramDataPoint"),
      aggregationTemporality: f(2, "AggregationTemporality"),
    },
  },
  Summary: { fields: { dataPoints: rep(1, "SummaryDataPoint") } },
  AggregationTemporality: {
    values: {
      AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
      AGGREGATION_TEMPORALITY_DELTA: 1,
      AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
    },
  },
  NumberDataPoint: {
    fields: {
      attributes: rep(7, KV),
      startTimeUnixNano: f(2, "fixed64"),
      timeUnixNano: f(3, "fixed64"),
      asDouble: f(4, "double"),
      asInt: f(6, "sfixed64"),
      exemplars: rep(5, "Exemplar"),
      flags: f(8, "uint32"),
    },
  },
  HistogramDataPoint: {
    fields: {
      attributes: rep(9, KV),
      startTimeUnixNano: f(2, "fixed64"),
      timeUnixNano: f(3, "fixed64"),
      count: f(4, "fixed64"),
      sum: f(5, "double"),
      bucketCounts: rep(6, "fixed64"),
      explicitBounds: rep(7, "double"),
      exemplars: rep(8, "Exemplar"),
      flags: f(10, "uint32"),
      min: f(11, "double"),
      max: f(12, "double"),
    },
  },
  ExponentialHistogramDataPoint: {
    fields: {
      attributes: rep(1, KV),
      startTimeUnixNano: f(2, "fixed64"),
      timeUnixNano: f(3, "fixed64"),
      count: f(4, "fixed64"),
      sum: f(5, "double"),
      scale: f(6, "sint32"),
      zeroCount: f(7, "fixed64"),
      positive: f(8, "Buckets"),
      negative: f(9, "Buckets"),
      flags: f(10, "uint32"),
      exemplars: rep(11, "Exemplar"),
      min: f(12, "double"),
      max: f(13, "double"),
      zeroThreshold: f(14, "double"),
    },
    nested: { Buckets: { fields: { offset: f(1, "sint32"), bucketCounts: rep(2, "uint64") } } },
  },
  SummaryDataPoint: {
    fields: {
      attributes: rep(7, KV),
      startTimeUnixNano: f(2, "fixed64"),
      timeUnixNano: f(3, "fixed64"),
      count: f(4, "fixed64"),
      sum: f(5, "double"),
      quantileValues: rep(6, "ValueAtQuantile"),
      flags: f(8, "uint32"),
    },
    nested: { ValueAtQuantile: { fields: { quantile: f(1, "double"), value: f(2, "double") } } },
  },
  Exemplar: {
    fields: {
      filteredAttributes: rep(7, KV),
      timeUnixNano: f(2, "fixed64"),
      asDouble: f(3, "double"),
      asInt: f(6, "sfixed64"),
      spanId: f(4, "bytes"),
      traceId: f(5, "bytes"),
    },
  },
};

/** Request/response messages of the three collector services (same shape, different names). */
function collector(pkg: string, item: string, signal: string, rejectedField: string) {
  return {
    [`Export${signal}ServiceRequest`]: { fields: { [`resource${item}`]: rep(1, `opentelemetry.proto.${pkg}.v1.Resource${item}`) } },
    [`Export${signal}ServiceResponse`]: { fields: { partialSuccess: f(1, `Export${signal}PartialSuccess`) } },
    [`Export${signal}PartialSuccess`]: { fields: { [rejectedField]: f(1, "int64"), errorMessage: f(2, "string") } },
  };
}

const descriptor = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: { nested: { v1: { nested: common } } },
            resource: { nested: { v1: { nested: resource } } },
            trace: { nested: { v1: { nested: trace } } },
            logs: { nested: { v1: { nested: logs } } },
            metrics: { nested: { v1: { nested: metrics } } },
            collector: {
              nested: {
                trace: { nested: { v1: { nested: collector("trace", "Spans", "Trace", "rejectedSpans") } } },
                logs: { nested: { v1: { nested: collector("logs", "Logs", "Logs", "rejectedLogRecords") } } },
                metrics: {
                  nested: { v1: { nested: collector("metrics", "Metrics", "Metrics", "rejectedDataPoints") } },
                },
              },
            },
          },
        },
      },
    },
    // Views of the export levels every signal shares, used to decode a body
    // level by level (export-request.ts). Field numbers are those of
    // Export*ServiceRequest, Resource* and Scope* in all three signals;
    // `bytes` keeps a nested message undecoded, as a view of the body.
    telemetryvault: {
      nested: {
        ShallowExport: { fields: { groups: rep(1, "bytes") } },
        // Resource and scope too stay bytes until their values are counted (value-budget.ts).
        ShallowResourceGroup: { fields: { resource: f(1, "bytes"), scopes: rep(2, "bytes"), schemaUrl: f(3, "string") } },
        ShallowScopeGroup: { fields: { scope: f(1, "bytes"), records: rep(2, "bytes"), schemaUrl: f(3, "string") } },
        // A Metric's data points, counted without decoding them.
        ShallowPoints: { fields: { dataPoints: rep(1, "bytes") } },
        ShallowMetric: {
          fields: {
            gauge: f(5, "ShallowPoints"),
            sum: f(7, "ShallowPoints"),
            histogram: f(9, "ShallowPoints"),
            exponentialHistogram: f(10, "ShallowPoints"),
            summary: f(11, "ShallowPoints"),
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { typeUrl: f(1, "string"), value: f(2, "bytes") } } } },
        rpc: {
          nested: {
            Status: {
              fields: { code: f(1, "int32"), message: f(2, "string"), details: rep(3, "google.protobuf.Any") },
            },
          },
        },
      },
    },
  },
};

// Nanosecond timestamps are fixed64 and exceed 2^53: without Long protobufjs
// would silently hand us rounded doubles. protobufjs depends on `long` and
// picks it up itself; fail at startup rather than corrupt timestamps later.
if (!protobuf.util.Long) throw new Error("protobufjs was loaded without Long support; 64-bit fields would lose precision");

/**
 * proto3 makes protobufjs validate UTF-8 in JS and throw on bad bytes. We
 * would rather keep the record: with validation off, a Buffer input is read
 * by Buffer#utf8Slice (native, several times faster) and invalid sequences
 * become U+FFFD, as OTLP/JSON clients would see them anyway.
 */
function lenientStrings(ns: { nested?: Record<string, any> }): void {
  for (const child of Object.values(ns.nested ?? {})) {
    if (child.fields) child.options = { features: { utf8_validation: "NONE" } };
    lenientStrings(child);
  }
}
lenientStrings(descriptor);

// Resolved now: value-budget.ts reads field types before any decode has.
const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace).resolveAll();

/**
 * Messages nested deeper than this are refused as malformed, over protobuf
 * and (counted in brackets) over JSON. protobufjs' default, 100 like protoc's,
 * refused a log body nested 33 AnyValues deep (three messages a level) that
 * the JSON path took; now both decode it and trim values past
 * MAX_VALUE_DEPTH the same way. The decoder recurses once per level, well
 * within the stack at this depth.
 */
export const MAX_MESSAGE_DEPTH = 1000;
protobuf.util.recursionLimit = MAX_MESSAGE_DEPTH;
protobuf.Reader.recursionLimit = MAX_MESSAGE_DEPTH;

export const ExportTraceServiceRequest = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
export const ExportLogsServiceRequest = root.lookupType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest");
export const ExportMetricsServiceRequest = root.lookupType(
  "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
);
export const ExportTraceServiceResponse = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse");
export const ExportLogsServiceResponse = root.lookupType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse");
export const ExportMetricsServiceResponse = root.lookupType(
  "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse",
);
export const RpcStatus = root.lookupType("google.rpc.Status");

export const Span = root.lookupType("opentelemetry.proto.trace.v1.Span");
export const LogRecord = root.lookupType("opentelemetry.proto.logs.v1.LogRecord");
export const Metric = root.lookupType("opentelemetry.proto.metrics.v1.Metric");
export const Resource = root.lookupType(RESOURCE);
export const InstrumentationScope = root.lookupType(SCOPE);
export const ShallowExport = root.lookupType("telemetryvault.ShallowExport");
export const ShallowResourceGroup = root.lookupType("telemetryvault.ShallowResourceGroup");
export const ShallowScopeGroup = root.lookupType("telemetryvault.ShallowScopeGroup");
export const ShallowMetric = root.lookupType("telemetryvault.ShallowMetric");
export const DataPointTypes: ReadonlySet<protobuf.Type> = new Set(
  ["NumberDataPoint", "HistogramDataPoint", "ExponentialHistogramDataPoint", "SummaryDataPoint"].map((name) =>
    root.lookupType(`opentelemetry.proto.metrics.v1.${name}`),
  ),
);

/** Enum name → number maps, used to accept enum names in OTLP/JSON. */
export const SpanKindValues = root.lookupEnum("opentelemetry.proto.trace.v1.Span.SpanKind").values;
export const StatusCodeValues = root.lookupEnum("opentelemetry.proto.trace.v1.Status.StatusCode").values;
export const SeverityNumberValues = root.lookupEnum("opentelemetry.proto.logs.v1.SeverityNumber").values;
export const AggregationTemporalityValues = root.lookupEnum(
  "opentelemetry.proto.metrics.v1.AggregationTemporality",
).values;
