/**
 * One atomic sliding-window check for one tenant.
 *
 * KEYS[1]  the tenant's sorted set (member = request id, score = time in µs)
 * ARGV[1]  limit
 * ARGV[2]  window in milliseconds
 * ARGV[3]  request id unique within the calling process (process id + counter)
 *
 * Returns { allowed (0|1), count after this request, oldest counted score µs, now µs }.
 *
 * Why the details matter:
 * - Time comes from Redis TIME, not the caller, so app instances with skewed
 *   clocks share one timeline. Redis >= 5 replicates script effects (and 7
 *   only does that), which is what makes TIME legal before writes.
 * - Scores are integer microseconds (~1.7e15 < 2^53, exact in a double), so
 *   ordering is finer than a millisecond; the member embeds the caller's
 *   unique id so requests in the same µs never collapse into one entry.
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
local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])

redis.call('ZREMRANGEBYSCORE', key, '-inf', now_us - window_us)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now_us, string.format('%s%06d:%s', time[1], tonumber(time[2]), ARGV[3]))
  redis.call('PEXPIRE', key, ARGV[2])
  count = count + 1
  allowed = 1
end

local oldest_us = now_us
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
if oldest[2] then
  oldest_us = tonumber(oldest[2])
end
return { allowed, count, oldest_us, now_us }
`;
