/**
 * Thrown for bodies that are not a valid OTLP export request. The message is
 * meant for the client (it ends up in the 400 google.rpc.Status), so it names
 * the offending field but never echoes payload data back.
 */
export class OtlpDecodeError extends Error {
  override readonly name = "OtlpDecodeError";
}
