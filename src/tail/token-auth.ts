import { createMiddleware } from "hono/factory";
import { ApiError, serviceUnavailable } from "../http/api-error";
import type { AppEnv } from "../http/context";

export const MAX_TOKEN_LENGTH = 128;

/**
 * GET /tail from a browser's EventSource, which cannot send X-API-Key:
 * a `token` from POST /tail/token names the tenant instead. Runs before
 * apiKeyAuth, which leaves a request it already authenticated alone; a key
 * in the header wins over a token.
 */
export const tailTokenAuth = createMiddleware<AppEnv>(async function tailTokenAuth(c, next) {
  const token = c.req.query("token");
  if (token !== undefined && c.req.header("x-api-key") === undefined) {
    let tenant: string | undefined;
    try {
      // Tokens are 43 characters (tail.schemas.ts bounds the field); anything longer is no token of ours.
      if (token.length <= MAX_TOKEN_LENGTH) tenant = await c.get("deps").tail?.log.tenantOfToken(token);
    } catch (error) {
      throw serviceUnavailable(`live tail is unavailable: ${(error as Error).message}`, 2);
    }
    if (!tenant) throw new ApiError("unauthorized", "The tail token is not valid or has expired; get a new one from POST /tail/token");
    c.set("tenantId", tenant);
  }
  await next();
});
