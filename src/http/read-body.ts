import { ApiError } from "./api-error";

/**
 * Reads a request body as bytes, decompressing gzip on the fly and counting
 * the *decompressed* size as it streams, so neither a huge upload nor a gzip
 * bomb can grow memory past `maxBytes`.
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip" && encoding !== "x-gzip") {
    throw new ApiError("unsupported_media_type", `Content-Encoding "${encoding}" is not supported; use gzip or none`);
  }
  const gzip = encoding !== "identity";

  const declared = Number(request.headers.get("content-length") ?? NaN);
  // gzip adds at most 5 bytes per 64 KiB block (stored blocks) and a header,
  // so a compressed body longer than this cannot decompress within the limit.
  if (declared > (gzip ? maxBytes + maxBytes / 8192 + 1024 : maxBytes)) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  // A plain body of declared size within the limit is read in one go: the
  // streaming loop below costs more than the request itself for small bodies.
  if (!gzip && Number.isFinite(declared)) {
    try {
      const body = new Uint8Array(await request.arrayBuffer());
      if (body.byteLength > maxBytes) throw tooLarge(maxBytes);
      return body;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError("bad_request", "Request body could not be read");
    }
  }

  const stream = gzip ? request.body.pipeThrough(new DecompressionStream("gzip")) : request.body;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    reader.cancel().catch(() => {});
    if (gzip) throw new ApiError("invalid_json", "Request body is not valid gzip data");
    throw new ApiError("bad_request", "Request body could not be read");
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number) {
  return new ApiError("payload_too_large", `Request body exceeds ${maxBytes} bytes (counted after decompression)`);
}
