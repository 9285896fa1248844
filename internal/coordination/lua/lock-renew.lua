-- Extend the leader lock if this candidate still holds it (compare token, extend).
-- KEYS[1]  lock key
-- ARGV[1]  token
-- ARGV[2]  ttl in ms
-- Returns: 1 when extended, 0 when the lock is gone or held by another.
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local sep = string.find(v, '|', 1, true)
if not sep or string.sub(v, 1, sep - 1) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
