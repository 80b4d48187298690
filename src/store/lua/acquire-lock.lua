--[[
  Takes a lock, or renews it when the caller already holds it: a job retried after its worker died
  carries the same owner token and must not wait for its own dead lock to expire.

  KEYS[1] lock key
  ARGV[1] owner token
  ARGV[2] time to live, milliseconds
  Returns 1 when the caller holds the lock, 0 when another owner does.
]]
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
