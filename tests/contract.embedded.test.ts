import { runContractSuite } from "./support/contract";
import { openEmbeddedTestStore } from "./support/harness";

runContractSuite("the embedded store (PGlite)", () => openEmbeddedTestStore());
