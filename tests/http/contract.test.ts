/**
 * The HTTP contract every route shares, through app.request() on PostgreSQL
 * and on the embedded store: request ids, API keys, the open routes and the
 * OpenAPI document.
 */
import { describe, expect, test } from "bun:test";
import { makeEvent, postJson } from "../support/harness";
import { describeOnStores } from "../support/store-suite";

describeOnStores("HTTP contract", (suite) => {
  describe("request ids and auth", () => {
    test("a valid incoming X-Request-Id is echoed on success and in error bodies", async () => {
      const { app, a } = suite.fresh();
      const ok = await app.request("/health", { headers: { "x-request-id": "trace-1.2:3_x-y" } });
      expect(ok.headers.get("x-request-id")).toBe("trace-1.2:3_x-y");

      const denied = await postJson(app, "/ingest", makeEvent(1), undefined, { "x-request-id": "abc-123" });
      expect(denied.status).toBe(401);
      expect(denied.headers.get("x-request-id")).toBe("abc-123");
      expect(await denied.json()).toEqual({
        error: { code: "unauthorized", message: expect.any(String) },
        requestId: "abc-123",
      });
      expect(a.key).toBeString();
    });

    test("a malformed or too long X-Request-Id is replaced by a generated one", async () => {
      const { app } = suite.fresh();
      for (const bad of ["has space", "x".repeat(129), "semi;colon", ""]) {
        const res = await app.request("/nope", { headers: { "x-request-id": bad } });
        const id = res.headers.get("x-request-id")!;
        expect(id).not.toBe(bad);
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        expect(((await res.json()) as { requestId: string }).requestId).toBe(id);
      }
      const longest = "a".repeat(128);
      const res = await app.request("/health", { headers: { "x-request-id": longest } });
      expect(res.headers.get("x-request-id")).toBe(longest);
    });

    test("missing and unknown keys get 401 unauthorized on every protected route", async () => {
      const { app } = suite.fresh();
      for (const path of ["/ingest", "/query"]) {
        for (const key of [undefined, "not-a-key", "test-key-tenant-a "]) {
          const res = await postJson(app, path, {}, key);
          expect(res.status).toBe(401);
          const body = (await res.json()) as { error: { code: string } };
          expect(body.error.code).toBe("unauthorized");
        }
      }
    });

    test("health, docs and the OpenAPI document are open", async () => {
      const { app } = suite.fresh();
      expect((await app.request("/health")).status).toBe(200);
      expect(await (await app.request("/health")).json()).toEqual({ status: "ok" });
      const ready = await app.request("/health/ready");
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ok", checks: { postgres: "ok", redis: "disabled" } });
      const docs = await app.request("/api/docs");
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain("swagger");
    });

    test("the OpenAPI document describes every route, its errors and the API key scheme", async () => {
      const { app } = suite.fresh();
      const res = await app.request("/api/openapi.json");
      expect(res.status).toBe(200);
      const spec = (await res.json()) as any;
      expect(spec.openapi).toBe("3.1.0");
      expect(spec.components.securitySchemes.ApiKeyAuth).toEqual(
        expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-Key" }),
      );
      for (const [path, method] of [["/ingest", "post"], ["/query", "post"], ["/health", "get"], ["/health/ready", "get"]] as const) {
        expect(spec.paths[path]?.[method]).toBeDefined();
      }
      const ingest = spec.paths["/ingest"].post;
      expect(ingest.security).toEqual([{ ApiKeyAuth: [] }]);
      expect(Object.keys(ingest.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "413", "415", "429", "503"]));
      expect(spec.components.schemas.Event.required).toEqual(
        expect.arrayContaining(["eventId", "eventType", "serviceName", "timestamp"]),
      );
      expect(spec.components.schemas.Event.properties.eventType.$ref ?? spec.components.schemas.Event.properties.eventType.enum).toBeDefined();
      // Generated clients compile the patterns: each must be a plain regex its own example matches.
      const patterns: { pattern: string; example?: string }[] = [];
      JSON.stringify(spec, (_key, value) => {
        if (value && typeof value === "object" && typeof value.pattern === "string") patterns.push(value);
        return value;
      });
      expect(patterns.length).toBeGreaterThan(0);
      for (const { pattern, example } of patterns) {
        const regex = new RegExp(pattern);
        if (example) expect(regex.test(example)).toBe(true);
      }
    });

    test("OTLP failures are declared as what they are: a google.rpc.Status in the request's encoding", async () => {
      const { app } = suite.fresh();
      const spec = (await (await app.request("/api/openapi.json")).json()) as any;
      const traces = spec.paths["/v1/traces"].post;
      for (const status of ["400", "401", "413", "415", "429", "503"]) {
        expect(Object.keys(traces.responses[status].content).sort()).toEqual(["application/json", "application/x-protobuf"]);
        expect(traces.responses[status].content["application/json"].schema.$ref).toBe("#/components/schemas/RpcStatus");
      }
      expect(spec.components.schemas.RpcStatus.required).toEqual(["code", "message", "details"]);
      // What the handler sends for a missing key has that shape.
      const res = await app.request("/v1/traces", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(await res.json()).toEqual({ code: 16, message: expect.any(String), details: [] });
    });

    test("unknown routes answer 404 in the error format", async () => {
      const { app, a } = suite.fresh();
      const res = await app.request("/nothing-here", { headers: { "x-api-key": a.key } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).error.code).toBe("not_found");
    });
  });
}, { productionLike: true });
