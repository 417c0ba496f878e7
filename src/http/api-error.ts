import { z } from "@hono/zod-openapi";

/**
 * One error model for the whole API. Every failure a client can see is an
 * ApiError with a machine-readable code; the status follows from the code.
 */
export const ERROR_STATUS = {
  validation_failed: 400,
  invalid_json: 400,
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  batch_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  too_many_tails: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export interface ErrorDetail {
  index?: number;
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: ErrorStatus;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { details?: ErrorDetail[]; retryAfterSeconds?: number; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}

/** A passing fault (database down, pool saturated, shutting down): clients should retry. */
export function serviceUnavailable(message: string, retryAfterSeconds = 1): ApiError {
  return new ApiError("service_unavailable", message, { retryAfterSeconds });
}

export const ErrorDetailSchema = z
  .object({
    index: z.number().int().optional().openapi({ description: "Position of the event in the batch" }),
    path: z.string().openapi({ example: "timestamp" }),
    message: z.string(),
  })
  .openapi("ErrorDetail");

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.array(ErrorDetailSchema).optional(),
    }),
    requestId: z.string(),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export function errorBody(error: ApiError, requestId: string): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.options.details ? { details: error.options.details } : {}),
    },
    requestId,
  };
}

/** OpenAPI response entries for the errors a route can answer with. */
export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Invalid request (validation_failed, invalid_json)",
    401: "Missing or unknown API key (unauthorized)",
    413: "Body or batch too large (payload_too_large, batch_too_large)",
    415: "Unsupported content type or encoding (unsupported_media_type)",
    429: "Rate limited (rate_limited; see Retry-After), or the tenant's live tails are all open (too_many_tails)",
    500: "Unexpected error (internal_error); details are in the server log",
    503: "Passing fault (service_unavailable); retry after Retry-After seconds",
  };
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: descriptions[status] ?? "Error", content: { "application/json": { schema: ErrorBodySchema } } },
    ]),
  );
}
