import { Hono, type Context } from "hono";
import type { AppEnv } from "../http/context";
import { explorerAssets } from "./bundle";

// The page talks only to its own origin; nothing is loaded from elsewhere.
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

async function serve(c: Context<AppEnv>, name: string) {
  const file = (await explorerAssets()).get(name);
  if (!file) return c.notFound();
  const headers = { ...SECURITY_HEADERS, ETag: file.etag, "Content-Type": file.contentType };
  if (c.req.header("if-none-match") === file.etag) return c.body(null, 304, headers);
  return c.body(file.body, 200, headers);
}

/**
 * The explorer: a static page at `/` and its assets, open (they hold no
 * tenant data); its data comes from POST /query with the user's key.
 */
export function createExplorerRouter() {
  const router = new Hono<AppEnv>();
  router.get("/", (c) => serve(c, "index.html"));
  router.get("/explorer/app.js", (c) => serve(c, "app.js"));
  router.get("/explorer/styles.css", (c) => serve(c, "styles.css"));
  return router;
}
