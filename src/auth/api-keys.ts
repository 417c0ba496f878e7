import { createHash, timingSafeEqual } from "node:crypto";

/**
 * API keys are kept only as SHA-256 digests. A lookup hashes the presented
 * key and compares it with every known digest in constant time, so neither
 * the key's length nor how much of it matches shows in the response time.
 */
export interface ApiKeyRegistry {
  /** The tenant for this key, or undefined. */
  tenantFor(key: string): string | undefined;
  /** Short non-reversible fingerprint for logs (never the key itself). */
  fingerprint(key: string): string;
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

export function createApiKeyRegistry(pairs: { key: string; tenant: string }[]): ApiKeyRegistry {
  const entries = pairs.map(({ key, tenant }) => ({ digest: digest(key), tenant }));
  return {
    tenantFor(key) {
      const presented = digest(key);
      let found: string | undefined;
      for (const entry of entries) {
        // No early exit: every digest is compared whatever matches.
        if (timingSafeEqual(entry.digest, presented) && found === undefined) found = entry.tenant;
      }
      return found;
    },
    fingerprint(key) {
      return digest(key).toString("hex").slice(0, 12);
    },
  };
}
