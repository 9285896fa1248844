-- Release the leader lock if this candidate holds it, so a standby takes over at once.
-- KEYS[1]  lock key
-- ARGV[1]  token
-- Returns: 1 when released, 0 when not held by this token.
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local sep = string.find(v, '|', 1, true)
if not sep or string.sub(v, 1, sep - 1) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
