import { describe, test } from "bun:test";
import { runContractSuite } from "./support/contract";
import { openPostgresTestStore, serviceUrl } from "./support/harness";

const databaseUrl = serviceUrl("TEST_DATABASE_URL");

if (databaseUrl) runContractSuite("PostgreSQL", () => openPostgresTestStore(databaseUrl));
else describe.skip("contract on PostgreSQL (TEST_DATABASE_URL not set)", () => test("skipped", () => {}));
