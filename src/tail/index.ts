import { createRouter } from "../http/router";
import { handleTail, handleTailToken } from "./tail.handlers";
import { tailRoute, tailTokenRoute } from "./tail.routes";

export { tailTokenAuth } from "./token-auth";

/** GET /tail (live events, Server-Sent Events) and POST /tail/token (for EventSource). */
export function createTailRouter() {
  const router = createRouter();
  router.openapi(tailRoute, (c) => handleTail(c, c.req.valid("query")) as never);
  router.openapi(tailTokenRoute, (c) => handleTailToken(c));
  return router;
}
