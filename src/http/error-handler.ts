import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { StorageUnavailableError } from "../storage/errors";
import { ApiError, errorBody, serviceUnavailable } from "./api-error";
import type { AppEnv } from "./context";

/** Maps anything thrown to the one error contract. 5xx bodies never carry internals. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StorageUnavailableError) return serviceUnavailable(`Storage is unavailable: ${error.message}; retry later`);
  if (error instanceof HTTPException) {
    if (error.status === 400) return new ApiError("invalid_json", error.message || "Malformed request body");
    if (error.status === 413) return new ApiError("payload_too_large", "Request body too large");
    if (error.status === 401) return new ApiError("unauthorized", "Unauthorized");
  }
  return new ApiError("internal_error", "Internal server error");
}

export const handleError: ErrorHandler<AppEnv> = (error, c) => {
  const apiError = toApiError(error);
  const logger = c.get("deps")?.logger;
  if (apiError.status >= 500) {
    const level = apiError.code === "service_unavailable" ? "warn" : "error";
    logger?.[level]({ err: error, requestId: c.get("requestId"), tenant: c.get("tenantId") }, "request failed");
  }
  return respondWithError(c, apiError);
};

export function respondWithError(c: Context<AppEnv>, apiError: ApiError) {
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const headers: Record<string, string> = { "X-Request-Id": requestId, ...apiError.options.headers };
  if (apiError.options.retryAfterSeconds !== undefined) headers["Retry-After"] = String(apiError.options.retryAfterSeconds);
  return c.json(errorBody(apiError, requestId), apiError.status, headers);
}

export const handleNotFound: NotFoundHandler<AppEnv> = (c) =>
  respondWithError(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`));
