/** Raised when the backing store does not answer within the limiter's time budget. */
export class RateLimiterTimeoutError extends Error {
  override readonly name = "RateLimiterTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`rate limiter backend did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Settles with `promise`, or rejects with RateLimiterTimeoutError after `ms`.
 *
 * Promise.race subscribes to the losing promise too, so a late rejection of
 * the underlying command is handled and never surfaces as an unhandled
 * rejection.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RateLimiterTimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
