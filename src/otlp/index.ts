/** OTLP/HTTP decoding library: the routes import from here. */
export { decodeOtlpRequest, type DecodeResult, type OtlpEncoding, type OtlpSignal } from "./decode.ts";
export { OtlpDecodeError } from "./errors.ts";
export { encodeExportResponse, encodeRpcStatus, type EncodedBody } from "./response.ts";
export { contentTypeFor, encodingFromContentType } from "./content-type.ts";
