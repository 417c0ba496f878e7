import { expect, test } from "bun:test";
import { ConfigError, DEFAULT_API_KEYS, databaseUrl, parseConfig } from "../src/config";

test("defaults: embedded store, in-process limiter, the three demo keys", () => {
  const config = parseConfig({});
  expect(config.PORT).toBe(3000);
  expect(databaseUrl(config)).toBeUndefined();
  expect(config.REDIS_URL).toBeUndefined();
  expect(config.API_KEYS).toEqual([
    { key: "test-key-tenant-a", tenant: "tenant-a" },
    { key: "test-key-tenant-b", tenant: "tenant-b" },
    { key: "demo-key", tenant: "demo-tenant" },
  ]);
  expect(DEFAULT_API_KEYS).toContain("demo-key:demo-tenant");
  expect(config).toMatchObject({
    RATE_LIMIT_WINDOW_MS: 60000,
    RATE_LIMIT_MAX_REQUESTS: 1000,
    MAX_BATCH: 10000,
    MAX_BODY_BYTES: 10 * 1024 * 1024,
    LOG_LEVEL: "info",
    ENABLE_TRACING: false,
    MIGRATE_ON_START: true,
  });
});

test("empty values from a .env file mean unset", () => {
  const config = parseConfig({ DATABASE_URL: "", REDIS_URL: " ", API_KEYS: "" });
  expect(config.DATABASE_URL).toBeUndefined();
  expect(config.REDIS_URL).toBeUndefined();
  expect(config.API_KEYS).toHaveLength(3);
});

test("the seed's DB_* variables build a URL; DATABASE_URL wins", () => {
  const fromParts = parseConfig({ DB_HOST: "db.internal", DB_PORT: "5433", DB_USERNAME: "vault", DB_PASSWORD: "p@ss:word", DB_DATABASE: "telemetry" });
  const url = new URL(databaseUrl(fromParts)!);
  expect([url.hostname, url.port, url.username, decodeURIComponent(url.password), url.pathname]).toEqual([
    "db.internal", "5433", "vault", "p@ss:word", "/telemetry",
  ]);
  expect(databaseUrl(parseConfig({ DB_HOST: "x", DATABASE_URL: "postgres://a@b/c" }))).toBe("postgres://a@b/c");
});

test("API_KEYS pairs; keys may contain colons, tenants may not be odd", () => {
  expect(parseConfig({ API_KEYS: "k1:t1, a:b:c:t2" }).API_KEYS).toEqual([
    { key: "k1", tenant: "t1" },
    { key: "a:b:c", tenant: "t2" },
  ]);
  expect(() => parseConfig({ API_KEYS: "no-tenant" })).toThrow("API_KEYS");
  expect(() => parseConfig({ API_KEYS: "k:bad tenant" })).toThrow("API_KEYS");
});

test("a bad value names the variable, one line each", () => {
  try {
    parseConfig({ PORT: "http", RATE_LIMIT_MAX_REQUESTS: "0", LOG_LEVEL: "loud", ENABLE_TRACING: "maybe" });
    throw new Error("expected a ConfigError");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as Error).message.split("\n");
    expect(lines).toHaveLength(4);
    for (const name of ["PORT", "RATE_LIMIT_MAX_REQUESTS", "LOG_LEVEL", "ENABLE_TRACING"]) {
      expect(lines.some((l) => l.startsWith(`invalid ${name}:`))).toBe(true);
    }
  }
});

test("the statement timeout must stay below the HTTP idle timeout", () => {
  expect(() => parseConfig({ DB_STATEMENT_TIMEOUT_MS: "40000", HTTP_IDLE_TIMEOUT_S: "30" })).toThrow("DB_STATEMENT_TIMEOUT_MS");
});
