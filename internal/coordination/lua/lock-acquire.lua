-- Acquire the leader lock if it is free, and start a new epoch.
-- KEYS[1]  lock key     (value: "<token>|<epoch>|<address>")
-- KEYS[2]  epoch key    (a counter, incremented once per takeover)
-- ARGV[1]  token        (random, unique to this candidate)
-- ARGV[2]  address      (where workers and apiservers reach this scheduler)
-- ARGV[3]  ttl in ms
-- ARGV[4]  floor: the newest epoch the candidate saw in Postgres. The new epoch is
--          above it even when Redis lost the counter (FLUSHALL, restart).
-- Returns: the new epoch (integer) when acquired, 0 when another holds the lock.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[4])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch .. '|' .. ARGV[2], 'PX', ARGV[3])
return epoch
