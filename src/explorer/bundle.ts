import { join } from "node:path";

const PAGE_DIR = join(import.meta.dir, "page");

export interface Asset {
  body: string;
  contentType: string;
  etag: string;
}

function asset(body: string, contentType: string): Asset {
  return { body, contentType, etag: `"${Bun.hash(body).toString(36)}"` };
}

/** Bundles the page's TypeScript for the browser, in memory (no files written, no build step). */
async function buildScript(): Promise<string> {
  const result = await Bun.build({
    entrypoints: [join(PAGE_DIR, "main.ts")],
    target: "browser",
    format: "esm",
    minify: true,
    sourcemap: "none",
  });
  const [output] = result.outputs;
  if (!result.success || !output) {
    throw new Error(`explorer bundle failed: ${result.logs.map(String).join("\n")}`);
  }
  return output.text();
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const [html, css, js] = await Promise.all([
    Bun.file(join(PAGE_DIR, "index.html")).text(),
    Bun.file(join(PAGE_DIR, "styles.css")).text(),
    buildScript(),
  ]);
  return new Map([
    ["index.html", asset(html, "text/html; charset=utf-8")],
    ["styles.css", asset(css, "text/css; charset=utf-8")],
    ["app.js", asset(js, "text/javascript; charset=utf-8")],
  ]);
}

let pending: Promise<Map<string, Asset>> | undefined;

/** The page's files, built once on first use and kept in memory; a failed build is retried next time. */
export function explorerAssets(): Promise<Map<string, Asset>> {
  pending ??= loadAssets().catch((error) => {
    pending = undefined;
    throw error;
  });
  return pending;
}
