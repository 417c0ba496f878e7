/**
 * Deep pages without a deep OFFSET. Skipping 10 000 rows costs reading them;
 * the per-hour and per-minute counts say where the 10 000th newest event
 * lies, so the page query can start just above that minute and skip only
 * the few rows inside it.
 */
export interface SlotCount {
  /** Half-open [from, to) in epoch ms; newest slots first. */
  from: number;
  to: number;
  count: number;
}

export interface SeekPoint {
  /** The slot holding the first row of the page. */
  slot: SlotCount;
  /** Rows to skip inside that slot (and below its upper bound). */
  skip: number;
}

/** Offsets below this are cheaper as a plain OFFSET than as a seek. */
export const SEEK_MIN_OFFSET = 2000;

/** Walks slots newest first to the one holding row number `offset` (0-based); undefined past the end. */
export function findSlot(slots: SlotCount[], offset: number): SeekPoint | undefined {
  let before = 0;
  for (const slot of slots) {
    if (before + slot.count > offset) return { slot, skip: offset - before };
    before += slot.count;
  }
  return undefined;
}
