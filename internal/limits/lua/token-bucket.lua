-- Takes tokens from several token buckets at once: all of them, or none.
-- Time is Redis's own (TIME), so apiservers with skewed clocks share one rate.
-- KEYS[i]  bucket i: a hash { t = tokens, at = ms of the last take }
-- ARGV[1]  rate, tokens per second
-- ARGV[2]  burst, the most tokens a bucket holds
-- ARGV[2+i] cost in bucket i
-- Returns: {0} when every cost was taken; else {i, wait_ms, tokens_left} for the first
-- bucket that lacks tokens (nothing taken anywhere).
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local left = {}
for i, key in ipairs(KEYS) do
  local cost = tonumber(ARGV[2 + i])
  local b = redis.call('HMGET', key, 't', 'at')
  local tokens = burst
  if b[1] then
    local elapsed = math.max(0, now - tonumber(b[2]))
    tokens = math.min(burst, tonumber(b[1]) + elapsed * rate / 1000)
  end
  if tokens < cost then
    return {i, math.ceil((cost - tokens) * 1000 / rate), math.floor(tokens)}
  end
  left[i] = tokens - cost
end
-- A bucket untouched for the time it takes to fill is full again: let it expire.
local ttl = math.ceil(burst * 1000 / rate) + 1000
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 't', tostring(left[i]), 'at', now)
  redis.call('PEXPIRE', key, ttl)
end
return {0}
