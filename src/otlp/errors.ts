/**
 * Thrown for bodies that are not a valid OTLP export request. The message is
 * meant for the client (it ends up in the 400 google.rpc.Status), so it names
 * the offending field but never echoes payload data back.
 */
export class OtlpDecodeError extends Error {
  override readonly name = "OtlpDecodeError";
}

/**
 * Thrown for an export that is well formed but over a bound: more records
 * than MAX_BATCH, or events that would take more than the export's byte
 * budget once stored. Answered 413, all or nothing, like /ingest.
 */
export class OtlpTooLargeError extends Error {
  override readonly name = "OtlpTooLargeError";
  constructor(
    readonly kind: "records" | "bytes",
    message: string,
  ) {
    super(message);
  }

  static records(count: number, max: number): OtlpTooLargeError {
    return new OtlpTooLargeError("records", `an export holds at most ${max} records (spans, log records or data points); this one has ${count}`);
  }

  static bytes(max: number): OtlpTooLargeError {
    return new OtlpTooLargeError("bytes", `the export's records take more than ${max} bytes once stored; send smaller exports`);
  }
}
