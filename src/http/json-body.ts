import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./api-error";
import type { AppEnv } from "./context";
import { findTooDeep } from "../events/json-text";
import { readBody } from "./read-body";
import { zodIssuesToDetails } from "./router";

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Far deeper than any request schema nests; JSON.parse is not shown deeper text. */
const MAX_DEPTH = 64;

/**
 * Reads a JSON request body and validates it with `schema`: the one door for
 * JSON bodies, so each answers the same way. An absent or empty body is `{}`
 * (every field optional). A Content-Type other than application/json (or
 * none) is 415 whatever the body; malformed JSON is 400 invalid_json; a
 * field that fails the schema is 400 validation_failed naming its path.
 */
export async function readJsonBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S, maxBytes: number): Promise<z.output<S>> {
  const contentType = c.req.header("content-type");
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "" && mediaType !== "application/json") {
    throw new ApiError("unsupported_media_type", `Content-Type "${mediaType}" is not supported; send application/json`);
  }
  const bytes = await readBody(c.req.raw, maxBytes);
  let value: unknown = {};
  if (bytes.byteLength > 0) {
    try {
      const text = utf8.decode(bytes);
      if (findTooDeep(text, MAX_DEPTH, "single") !== undefined) throw new Error(`nested deeper than ${MAX_DEPTH} levels`);
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiError("invalid_json", `Malformed JSON: ${(error as Error).message}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ApiError("validation_failed", "Request validation failed", { details: zodIssuesToDetails(parsed.error) });
  }
  return parsed.data;
}
