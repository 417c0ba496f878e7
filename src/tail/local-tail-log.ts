import { randomBytes } from "node:crypto";
import { compareIds, SLOT_TTL_MS, type TailEntry, type TailLog } from "./tail-log";

/**
 * The tail log of one process, for a service without Redis (a laptop, the
 * embedded store): the same contract as the Redis log, in memory. Entries
 * are kept per tenant only while someone tails it, at most `maxEntries`.
 */
export function createLocalTailLog(options: { maxEntries: number }): TailLog {
  const logs = new Map<string, TailEntry[]>();
  const followers = new Map<string, Set<(entries: TailEntry[]) => void>>();
  const slots = new Map<string, Map<string, number>>();
  const live = new Map<string, number>();
  const tokens = new Map<string, { tenantId: string; expiresAt: number }>();
  let lastMs = 0;
  let seq = 0;

  function nextId(): string {
    const now = Date.now();
    if (now > lastMs) {
      lastMs = now;
      seq = 0;
    } else seq++;
    return `${lastMs}-${seq}`;
  }

  function liveSlots(tenantId: string): Map<string, number> {
    const held = slots.get(tenantId) ?? new Map<string, number>();
    for (const [holder, expiresAt] of held) if (expiresAt <= Date.now()) held.delete(holder);
    slots.set(tenantId, held);
    return held;
  }

  /** Extends the live mark; one that had lapsed is set again and marked in the log (as the Redis log does). */
  function keepLive(tenantId: string) {
    const lapsed = (live.get(tenantId) ?? 0) <= Date.now();
    live.set(tenantId, Date.now() + SLOT_TTL_MS);
    if (lapsed) void log.append(tenantId, { lost: null });
  }

  const log: TailLog = {
    kind: "local",

    async append(tenantId, body) {
      const entry = { ...body, id: nextId() } as TailEntry;
      const log = logs.get(tenantId) ?? [];
      log.push(entry);
      if (log.length > options.maxEntries) log.splice(0, log.length - options.maxEntries);
      logs.set(tenantId, log);
      for (const follower of followers.get(tenantId) ?? []) follower([entry]);
    },

    async isLive(tenantId) {
      return (live.get(tenantId) ?? 0) > Date.now();
    },

    async lastId(tenantId) {
      return logs.get(tenantId)?.at(-1)?.id ?? "0-0";
    },

    async firstId(tenantId) {
      return logs.get(tenantId)?.[0]?.id;
    },

    async entry(tenantId, id) {
      return logs.get(tenantId)?.find((e) => e.id === id);
    },

    async range(tenantId, afterId, count) {
      return (logs.get(tenantId) ?? []).filter((e) => compareIds(e.id, afterId) > 0).slice(0, count);
    },

    // Appends reach followers as they happen: `fromId` needs no bookkeeping here.
    follow(tenantId, _fromId, onEntries) {
      const set = followers.get(tenantId) ?? new Set();
      set.add(onEntries);
      followers.set(tenantId, set);
      return () => {
        set.delete(onEntries);
        if (set.size === 0) {
          followers.delete(tenantId);
          // Nobody tails the tenant any more: its entries go once no slot holds them, and
          // the next tail to resume is told that what came meanwhile was not kept.
          if (liveSlots(tenantId).size === 0) {
            logs.delete(tenantId);
            live.delete(tenantId);
          }
        }
      };
    },

    async markLive(tenantId) {
      keepLive(tenantId);
    },

    async acquireSlot(tenantId, holder, cap) {
      const held = liveSlots(tenantId);
      if (!held.has(holder) && held.size >= cap) return false;
      held.set(holder, Date.now() + SLOT_TTL_MS);
      return true;
    },

    async refreshSlot(tenantId, holder) {
      const held = liveSlots(tenantId);
      if (held.has(holder)) held.set(holder, Date.now() + SLOT_TTL_MS);
      keepLive(tenantId);
    },

    async releaseSlot(tenantId, holder) {
      liveSlots(tenantId).delete(holder);
    },

    async issueToken(tenantId, ttlSeconds) {
      const token = randomBytes(24).toString("base64url");
      const now = Date.now();
      for (const [t, v] of tokens) if (v.expiresAt <= now) tokens.delete(t);
      tokens.set(token, { tenantId, expiresAt: now + ttlSeconds * 1000 });
      return token;
    },

    async tenantOfToken(token) {
      const found = tokens.get(token);
      return found && found.expiresAt > Date.now() ? found.tenantId : undefined;
    },

    async close() {
      followers.clear();
    },
  };
  return log;
}
