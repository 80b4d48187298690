--[[
  Appends one approval decision and sets the new status, but only if nothing changed since the
  caller read the request (optimistic concurrency without WATCH, safe on a shared connection).

  KEYS[1] approval hash (field: status)
  KEYS[2] approval decisions list
  ARGV[1] status the caller read
  ARGV[2] number of decisions the caller read
  ARGV[3] decision JSON to append
  ARGV[4] new status
  Returns 1 when appended, 0 when the state moved on (read again and retry).
]]
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'status', ARGV[4])
return 1
