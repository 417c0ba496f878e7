import { createHash, randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { reconnectDelay } from "../ratelimit/redis-client";
import { SLOT_TTL_MS, type TailEntry, type TailEntryBody, type TailLog } from "./tail-log";

/**
 * The tail log in Redis, shared by the replicas:
 * - `tv:tail:{tenant}:log`, a stream per tenant: one entry per committed
 *   batch, trimmed to about `maxEntries` entries (the replay window of
 *   Last-Event-ID);
 * - `tv:tail:{tenant}:live`, set while the tenant has tails, so publishers
 *   skip tenants nobody tails; `tv:tail:opened` tells publishers at once;
 * - `tv:tail:{tenant}:slots`, a sorted set of open tails by expiry (the cap);
 * - `tv:tail:token:<sha256>`, short-lived tokens for EventSource.
 * One connection blocks on XREAD for every tenant this process follows and
 * fans entries out; commands go through another.
 */
export interface RedisTailLogOptions {
  url: string;
  /** Entries kept per tenant (XADD MAXLEN ~). */
  maxEntries: number;
  /** How long a live mark lasts without a refresh. */
  liveTtlSeconds?: number;
  /** Called when another replica opens a tail (publishers forget a cached "not live"). */
  onOpened?: (tenantId: string) => void;
}

const OPENED_CHANNEL = "tv:tail:opened";
const BLOCK_MS = 500;
const READ_COUNT = 200;

// Takes a slot unless `cap` unexpired ones are held: one atomic step, so replicas opening tails at once never exceed it.
const ACQUIRE_SLOT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0`;

export function createRedisTailLog(options: RedisTailLogOptions): TailLog {
  const clientOptions = {
    // Unlike the limiter's, a tail command may wait for a reconnect briefly; a broken stream ends tails cleanly instead.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy: reconnectDelay,
    // Commands sent while connecting wait for it; the timeouts above bound the wait during an outage.
    enableOfflineQueue: true,
  };
  const commands = new Redis(options.url, { ...clientOptions, connectionName: "telemetry-vault-tail" });
  const reader = new Redis(options.url, { ...clientOptions, commandTimeout: BLOCK_MS + 5000, connectionName: "telemetry-vault-tail-reader" });
  const listener = new Redis(options.url, { ...clientOptions, commandTimeout: undefined, connectionName: "telemetry-vault-tail-opened" });
  for (const client of [commands, reader, listener]) client.on("error", () => {}); // reported by the commands that fail
  const liveTtl = options.liveTtlSeconds ?? 60;
  const key = (tenantId: string, what: string) => `tv:tail:{${tenantId}}:${what}`;

  if (options.onOpened) {
    listener.subscribe(OPENED_CHANNEL).catch(() => {});
    listener.on("message", (_channel: string, tenantId: string) => options.onOpened!(tenantId));
  }

  // ---- the one blocking reader of this process ----
  interface Follower {
    onEntries: (entries: TailEntry[]) => void;
    onError: (error: Error) => void;
  }
  const followers = new Map<string, Set<Follower>>();
  /** The newest id this reader saw per followed tenant. */
  const positions = new Map<string, string>();
  let reading: Promise<void> | undefined;
  let closed = false;

  async function readLoop() {
    while (!closed && followers.size > 0) {
      const tenants = [...followers.keys()];
      try {
        const answer = (await reader.xread("COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", ...tenants.map((t) => key(t, "log")), ...tenants.map((t) => positions.get(t)!))) as
          | [string, [string, string[]][]][]
          | null;
        for (const [streamKey, raw] of answer ?? []) {
          const tenantId = tenants.find((t) => key(t, "log") === streamKey);
          if (tenantId === undefined || raw.length === 0) continue;
          const entries = raw.map(parseEntry);
          positions.set(tenantId, entries.at(-1)!.id);
          for (const follower of followers.get(tenantId) ?? []) follower.onEntries(entries);
        }
      } catch (error) {
        if (closed) return;
        // Every tail of this process ends with the reason; their clients reconnect and resume.
        const all = [...followers.values()].flatMap((set) => [...set]);
        followers.clear();
        positions.clear();
        for (const follower of all) follower.onError(error as Error);
      }
    }
  }

  async function append(tenantId: string, entry: TailEntryBody) {
    await commands.xadd(key(tenantId, "log"), "MAXLEN", "~", options.maxEntries, "*", ...entryFields(entry));
  }

  /** Extends the live mark; one that had lapsed is set again and marked in the log. */
  async function keepLive(tenantId: string) {
    if ((await commands.set(key(tenantId, "live"), "1", "EX", liveTtl, "NX")) === "OK") {
      await append(tenantId, { lost: null });
    } else {
      await commands.expire(key(tenantId, "live"), liveTtl);
    }
  }

  return {
    kind: "redis",

    append,

    async isLive(tenantId) {
      return (await commands.exists(key(tenantId, "live"))) === 1;
    },

    async lastId(tenantId) {
      const [last] = (await commands.xrevrange(key(tenantId, "log"), "+", "-", "COUNT", 1)) as [string, string[]][];
      return last?.[0] ?? "0-0";
    },

    async firstId(tenantId) {
      const [first] = (await commands.xrange(key(tenantId, "log"), "-", "+", "COUNT", 1)) as [string, string[]][];
      return first?.[0];
    },

    async entry(tenantId, id) {
      const [found] = (await commands.xrange(key(tenantId, "log"), id, id)) as [string, string[]][];
      return found ? parseEntry(found) : undefined;
    },

    async range(tenantId, afterId, count) {
      const raw = (await commands.xrange(key(tenantId, "log"), `(${afterId}`, "+", "COUNT", count)) as [string, string[]][];
      return raw.map(parseEntry);
    },

    follow(tenantId, fromId, onEntries, onError) {
      const follower: Follower = { onEntries, onError };
      let set = followers.get(tenantId);
      if (!set) {
        set = new Set();
        followers.set(tenantId, set);
        positions.set(tenantId, fromId);
      }
      // Already followed from a later point: the caller reads the entries before it with range().
      set.add(follower);
      if (!reading) reading = readLoop().finally(() => (reading = undefined));
      return () => {
        set!.delete(follower);
        if (set!.size === 0 && followers.get(tenantId) === set) {
          followers.delete(tenantId);
          positions.delete(tenantId);
        }
      };
    },

    async markLive(tenantId) {
      await keepLive(tenantId);
      await commands.publish(OPENED_CHANNEL, tenantId);
    },

    async acquireSlot(tenantId, holder, cap) {
      const now = Date.now();
      const taken = await commands.eval(ACQUIRE_SLOT, 1, key(tenantId, "slots"), now, cap, holder, now + SLOT_TTL_MS, SLOT_TTL_MS * 2);
      return taken === 1;
    },

    async refreshSlot(tenantId, holder) {
      await commands.zadd(key(tenantId, "slots"), "XX", Date.now() + SLOT_TTL_MS, holder);
      await keepLive(tenantId);
    },

    async releaseSlot(tenantId, holder) {
      await commands.zrem(key(tenantId, "slots"), holder);
    },

    async issueToken(tenantId, ttlSeconds) {
      const token = randomBytes(24).toString("base64url");
      await commands.set(tokenKey(token), tenantId, "EX", ttlSeconds);
      return token;
    },

    async tenantOfToken(token) {
      return (await commands.get(tokenKey(token))) ?? undefined;
    },

    async close() {
      closed = true;
      for (const client of [commands, reader, listener]) client.disconnect();
      await reading?.catch(() => {});
    },
  };
}

/** Tokens are kept hashed: a dump of Redis holds none that work. */
function tokenKey(token: string) {
  return `tv:tail:token:${createHash("sha256").update(token).digest("base64url")}`;
}

function entryFields(entry: TailEntryBody): string[] {
  if ("events" in entry) return ["events", JSON.stringify(entry.events)];
  if ("keys" in entry) return ["keys", JSON.stringify(entry.keys)];
  return ["lost", String(entry.lost)];
}

function parseEntry([id, fields]: [string, string[]]): TailEntry {
  const [name, value] = fields as [string, string];
  if (name === "events") return { id, events: JSON.parse(value) };
  if (name === "keys") return { id, keys: JSON.parse(value) };
  return { id, lost: value === "null" ? null : Number(value) };
}

