/** ExportMetricsServiceRequest → one "metric" event per data point. */
import { convertRecords, EventBatch, type ConvertOptions, type Envelope, type ExportConversion, type ExportLimits } from "./batch.ts";
import type { ExportRequest, SignalFields } from "./export-request.ts";
import { AggregationTemporalityValues, DataPointTypes, ShallowMetric } from "./schema.ts";
import type { RecordUnits } from "./value-budget.ts";
import {
  enumName,
  has,
  isZeroNanos,
  list,
  message,
  nanosToString,
  readAttributes,
  readBool,
  readDouble,
  readEnum,
  readId,
  readInt32,
  readInt64,
  readNanos,
  readString,
  type JsonObject,
  type JsonValue,
} from "./values.ts";

type Obj = Record<string, unknown>;
type PointReader = (point: Obj, out: JsonObject) => void;

const TEMPORALITY_NAMES = ["unspecified", "delta", "cumulative"];

/** Metric data kinds in oneof order: payload `type` and how to read their points. */
const KINDS: ReadonlyArray<[field: string, type: string, readPoint: PointReader]> = [
  ["gauge", "gauge", readNumberPoint],
  ["sum", "sum", readNumberPoint],
  ["histogram", "histogram", readHistogramPoint],
  ["exponentialHistogram", "exponential_histogram", readExponentialHistogramPoint],
  ["summary", "summary", readSummaryPoint],
];

export const METRIC_FIELDS: SignalFields = { resources: "resourceMetrics", scopes: "scopeMetrics", records: "metrics" };

export function convertMetrics(request: ExportRequest, limits: Partial<ExportLimits> = {}, options: ConvertOptions = {}): ExportConversion {
  const batch = new EventBatch("metric", limits.maxEventBytes, limits.retentionDays);
  return convertRecords(request, batch, (into, envelope, metric) => addMetric(into, envelope, metric), { ...options, eventsOf: metricEvents });
}

/** Where a metric's data points are, each counted on its own budget (value-budget.ts). */
export const METRIC_UNITS: RecordUnits = { types: DataPointTypes, holders: KINDS.map(([field]) => field) };

/**
 * The events one metric as read (JSON, or protobuf bytes, whose points are
 * counted without decoding them) becomes.
 */
export function metricEvents(raw: unknown): number {
  return countDataPoints(raw instanceof Uint8Array ? (ShallowMetric.decode(raw) as unknown as Obj) : ((raw ?? {}) as Obj));
}

/** The events one metric becomes: one per data point (a metric without data is one rejected record). */
function countDataPoints(metric: Obj): number {
  const kind = KINDS.find(([field]) => has(metric, field));
  if (!kind) return 1;
  return list(message<Obj>(metric[kind[0]], `metric.${kind[0]}`)?.dataPoints, "dataPoints").length;
}

function addMetric(batch: EventBatch, envelope: Envelope, metric: Obj): void {
  const kind = KINDS.find(([field]) => has(metric, field));
  if (!kind) return batch.reject("metric without data"); // e.g. a kind newer than this schema
  const [field, type, readPoint] = kind;
  const data = message<Obj>(metric[field], `metric.${field}`) ?? {};

  const base: JsonObject = { name: readString(metric.name, "metric.name") };
  const description = readString(metric.description, "metric.description");
  if (description) base.description = description;
  base.unit = readString(metric.unit, "metric.unit");
  base.type = type;
  if (field !== "gauge" && field !== "summary") {
    base.aggregationTemporality = enumName(
      TEMPORALITY_NAMES,
      readEnum(data.aggregationTemporality, AggregationTemporalityValues, "aggregationTemporality"),
    );
  }
  if (field === "sum") base.isMonotonic = readBool(data.isMonotonic, "sum.isMonotonic");
  const metadata = list(metric.metadata, "metric.metadata");
  if (metadata.length) base.metadata = readAttributes(metadata);

  for (const p of list(data.dataPoints, "dataPoints")) {
    const point = message<Obj>(p, "dataPoints[]") ?? {};
    const time = readNanos(point.timeUnixNano, "dataPoint.timeUnixNano");
    // The metrics data model says points without a time SHOULD be rejected.
    if (isZeroNanos(time)) {
      batch.reject("data point without time_unix_nano");
      continue;
    }
    const out: JsonObject = { ...base };
    out.startTimeUnixNano = nanosToString(readNanos(point.startTimeUnixNano, "dataPoint.startTimeUnixNano"));
    out.timeUnixNano = nanosToString(time);
    out.attributes = readAttributes(point.attributes);
    const flags = readInt32(point.flags, "dataPoint.flags");
    if (flags) out.flags = flags;
    readPoint(point, out);
    batch.add(envelope, time, out, null);
  }
}

function readNumberPoint(point: Obj, out: JsonObject): void {
  out.value = readNumberValue(point);
  putExemplars(point, out);
}

function readHistogramPoint(point: Obj, out: JsonObject): void {
  readCountSumMinMax(point, out);
  out.bucketCounts = list(point.bucketCounts, "bucketCounts").map((c) => readInt64(c, "bucketCounts[]"));
  out.explicitBounds = list(point.explicitBounds, "explicitBounds").map((b) => readDouble(b, "explicitBounds[]"));
  putExemplars(point, out);
}

function readExponentialHistogramPoint(point: Obj, out: JsonObject): void {
  readCountSumMinMax(point, out);
  out.scale = readInt32(point.scale, "scale");
  out.zeroCount = readInt64(point.zeroCount, "zeroCount");
  if (has(point, "zeroThreshold")) out.zeroThreshold = readDouble(point.zeroThreshold, "zeroThreshold");
  out.positive = readBuckets(message(point.positive, "positive"));
  out.negative = readBuckets(message(point.negative, "negative"));
  putExemplars(point, out);
}

function readSummaryPoint(point: Obj, out: JsonObject): void {
  out.count = readInt64(point.count, "count");
  out.sum = readDouble(point.sum, "sum");
  out.quantileValues = list(point.quantileValues, "quantileValues").map((q) => {
    const qv = message<Obj>(q, "quantileValues[]") ?? {};
    return { quantile: readDouble(qv.quantile, "quantile"), value: readDouble(qv.value, "value") };
  });
}

/** sum, min and max are optional in (exponential) histograms: absent ≠ 0. */
function readCountSumMinMax(point: Obj, out: JsonObject): void {
  out.count = readInt64(point.count, "count");
  if (has(point, "sum")) out.sum = readDouble(point.sum, "sum");
  if (has(point, "min")) out.min = readDouble(point.min, "min");
  if (has(point, "max")) out.max = readDouble(point.max, "max");
}

function readBuckets(buckets: Obj | null): JsonObject {
  return {
    offset: readInt32(buckets?.offset, "buckets.offset"),
    bucketCounts: list(buckets?.bucketCounts, "buckets.bucketCounts").map((c) => readInt64(c, "bucketCounts[]")),
  };
}

/** NumberDataPoint/Exemplar value oneof; null when neither is set. */
function readNumberValue(point: Obj): JsonValue {
  if (has(point, "asDouble")) return readDouble(point.asDouble, "asDouble");
  if (has(point, "asInt")) return readInt64(point.asInt, "asInt");
  return null;
}

function putExemplars(point: Obj, out: JsonObject): void {
  const exemplars = list(point.exemplars, "exemplars");
  if (!exemplars.length) return;
  out.exemplars = exemplars.map((e) => {
    const ex = message<Obj>(e, "exemplars[]") ?? {};
    const item: JsonObject = {
      timeUnixNano: nanosToString(readNanos(ex.timeUnixNano, "exemplar.timeUnixNano")),
      value: readNumberValue(ex),
    };
    const traceId = readId(ex.traceId, "exemplar.traceId");
    if (traceId) item.traceId = traceId;
    const spanId = readId(ex.spanId, "exemplar.spanId");
    if (spanId) item.spanId = spanId;
    item.filteredAttributes = readAttributes(ex.filteredAttributes);
    return item;
  });
}
