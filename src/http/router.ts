import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import { ApiError, type ErrorDetail } from "./api-error";
import type { AppEnv } from "./context";

export function zodIssuesToDetails(error: ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ path: issue.path.join(".") || "(body)", message: issue.message }));
}

/**
 * Every router is made here so each carries the validation hook: a parent's
 * defaultHook is not inherited by routers mounted with app.route().
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("validation_failed", "Request validation failed", {
          details: zodIssuesToDetails(result.error as unknown as ZodError),
        });
      }
    },
  });
}

export type AppRouter = ReturnType<typeof createRouter>;

/** The security requirement every protected route declares in the spec. */
export const apiKeySecurity = [{ ApiKeyAuth: [] as string[] }];
