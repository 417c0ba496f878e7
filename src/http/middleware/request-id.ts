import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Echoes a well-formed incoming X-Request-Id, otherwise makes one, and puts it
 * on every response (errors included) so clients and logs can be matched.
 */
export const requestId = createMiddleware<AppEnv>(async function requestId(c, next) {
  const incoming = c.req.header("x-request-id");
  const id = incoming && ACCEPTED_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
});
