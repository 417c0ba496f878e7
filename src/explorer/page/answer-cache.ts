/**
 * Answers the page already has, by request body. A view change asks again
 * only for what it changes: pressing a service re-asks for the chart and the
 * list, but not for the service panel, which ignores its own filter. The page
 * clears it when the key changes, on Refresh, and when the window moves.
 */
export class AnswerCache {
  readonly #answers = new Map<string, Promise<unknown>>();

  constructor(private readonly max = 40) {}

  /** The answer for `body`: the one already asked for (in flight or settled), else `load()`'s. Failures are not kept. */
  get<T>(body: Record<string, unknown>, load: () => Promise<T>): Promise<T> {
    // JSON.stringify drops undefined fields, so { service: undefined } and {} are the same request, as they are to the server.
    const id = JSON.stringify(body);
    const known = this.#answers.get(id);
    if (known) {
      // Most recently used last, so the oldest is the one dropped.
      this.#answers.delete(id);
      this.#answers.set(id, known);
      return known as Promise<T>;
    }
    const pending = load();
    this.#answers.set(id, pending);
    pending.catch(() => {
      if (this.#answers.get(id) === pending) this.#answers.delete(id);
    });
    for (const oldest of this.#answers.keys()) {
      if (this.#answers.size <= this.max) break;
      this.#answers.delete(oldest);
    }
    return pending;
  }

  clear() {
    this.#answers.clear();
  }
}
