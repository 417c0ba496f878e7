/**
 * One atomic sliding-window check for `n` requests of one tenant that arrived
 * together at one app instance: the first ones are admitted while the window
 * has room, the rest are refused. One request is the case n = 1.
 *
 * KEYS[1]  the tenant's sorted set (member = request id, score = time in µs)
 * ARGV[1]  limit
 * ARGV[2]  window in milliseconds
 * ARGV[3]  batch id unique within the calling process (process id + counter)
 * ARGV[4]  n, the number of requests (the caller keeps it small: ZADD takes
 *          2n arguments through unpack)
 *
 * Returns { admitted (0..n), count before them, oldest counted score µs, now µs }.
 *
 * Why the details matter:
 * - Time comes from Redis TIME, not the caller, so app instances with skewed
 *   clocks share one timeline. Redis >= 5 replicates script effects (and 7
 *   only does that), which is what makes TIME legal before writes.
 * - Scores are integer microseconds (~1.7e15 < 2^53, exact in a double), so
 *   ordering is finer than a millisecond; the member embeds the caller's
 *   unique batch id and the request's place in it, so requests in the same
 *   µs never collapse into one entry.
 * - An entry at t counts while now < t + window: ZREMRANGEBYSCORE is
 *   inclusive, so everything <= now - window leaves the window.
 * - Only allowed requests are added: a rejected request must not extend the
 *   tenant's penalty.
 * - PEXPIRE after each add: the newest entry is the last to leave, so the key
 *   disappears exactly when the window is empty; idle tenants cost nothing.
 * - Members are built from TIME's strings, not Lua numbers: Lua 5.1 formats
 *   numbers with %.14g and would round a µs timestamp.
 */
export const SLIDING_WINDOW_LUA = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2]) * 1000
local n = tonumber(ARGV[4])
local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])

redis.call('ZREMRANGEBYSCORE', key, '-inf', now_us - window_us)
local count = redis.call('ZCARD', key)
local admitted = math.max(0, math.min(n, limit - count))
if admitted > 0 then
  local entries = {}
  local prefix = string.format('%s%06d:%s:', time[1], tonumber(time[2]), ARGV[3])
  for i = 1, admitted do
    entries[2 * i - 1] = now_us
    entries[2 * i] = prefix .. i
  end
  redis.call('ZADD', key, unpack(entries))
  redis.call('PEXPIRE', key, ARGV[2])
end

local oldest_us = now_us
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
if oldest[2] then
  oldest_us = tonumber(oldest[2])
end
return { admitted, count, oldest_us, now_us }
`;
