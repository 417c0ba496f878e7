import { createHash, timingSafeEqual } from "node:crypto";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../api-error";
import type { AppEnv } from "../context";

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * Requires `Authorization: Bearer <token>` when a token is configured (401
 * otherwise); without one, lets everything through. Compared as digests in
 * constant time, so neither length nor content shows in the timing.
 */
export function bearerToken(token: string | undefined) {
  const expected = token === undefined ? undefined : sha256(token);
  return createMiddleware<AppEnv>(async function bearerToken(c, next) {
    if (expected) {
      const presented = (c.req.header("authorization") ?? "").replace(/^Bearer\s+/i, "");
      if (!timingSafeEqual(sha256(presented), expected)) throw new ApiError("unauthorized", "A valid bearer token is required");
    }
    await next();
  });
}
