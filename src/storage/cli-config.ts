import { readFileSync } from "node:fs";
import { ConfigError, parseConfig, withSecretFiles, type Config } from "../config";

/** The configuration of a command-line tool (`migrate`, `maintenance`): as the server's, or exit 1 naming what is wrong. */
export function cliConfig(tool: string): Config {
  try {
    return parseConfig(withSecretFiles(process.env, (path) => readFileSync(path, "utf8")), { serving: false });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${tool}: configuration error\n${error.message}`);
    process.exit(1);
  }
}
