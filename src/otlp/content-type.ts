import type { OtlpEncoding } from "./decode.ts";

/**
 * Maps a request Content-Type to the OTLP encoding, or null for anything
 * else (the route answers 415). Parameters such as charset are ignored.
 * "application/protobuf" is not in the OTLP spec but some senders use it.
 */
export function encodingFromContentType(contentType: string | null | undefined): OtlpEncoding | null {
  if (!contentType) return null;
  const mediaType = contentType.split(";", 1)[0]!.trim().toLowerCase();
  if (mediaType === "application/x-protobuf" || mediaType === "application/protobuf") return "protobuf";
  if (mediaType === "application/json") return "json";
  return null;
}

/** The Content-Type to answer with for a given encoding. */
export function contentTypeFor(encoding: OtlpEncoding): string {
  return encoding === "protobuf" ? "application/x-protobuf" : "application/json";
}
