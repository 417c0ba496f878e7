/**
 * Timestamps of one key's counted requests, oldest first.
 *
 * A ring buffer rather than an array with shift(): shift() is O(n), and a
 * tenant near a 10k limit would pay that on every request. The buffer starts
 * small and doubles up to `maxCapacity` (the limit), so idle or quiet tenants
 * cost a few bytes while busy ones never reallocate once at the limit.
 */
export class TimestampRing {
  private buffer: Float64Array;
  private head = 0;
  private count = 0;

  constructor(private readonly maxCapacity: number) {
    this.buffer = new Float64Array(Math.min(maxCapacity, 8));
  }

  get size(): number {
    return this.count;
  }

  /** Oldest timestamp; only meaningful when size > 0. */
  oldest(): number {
    return this.buffer[this.head]!;
  }

  push(timestamp: number): void {
    if (this.count === this.buffer.length) this.grow();
    this.buffer[(this.head + this.count) % this.buffer.length] = timestamp;
    this.count++;
  }

  /** Drops every timestamp <= `cutoff` (entries are in insertion order, so from the head). */
  dropThrough(cutoff: number): void {
    while (this.count > 0 && this.buffer[this.head]! <= cutoff) {
      this.head = (this.head + 1) % this.buffer.length;
      this.count--;
    }
    // An empty ring can restart at 0; keeps indices small and predictable.
    if (this.count === 0) this.head = 0;
  }

  private grow(): void {
    // Callers never push beyond the limit, so reaching maxCapacity here is a bug.
    if (this.buffer.length >= this.maxCapacity) {
      throw new Error(`TimestampRing overflow: capacity ${this.maxCapacity} reached`);
    }
    const next = new Float64Array(Math.min(this.buffer.length * 2, this.maxCapacity));
    for (let i = 0; i < this.count; i++) {
      next[i] = this.buffer[(this.head + i) % this.buffer.length]!;
    }
    this.buffer = next;
    this.head = 0;
  }
}
