--[[
  Compare-and-set of a status field.

  KEYS[1] hash with a "status" field
  ARGV[1] new status
  ARGV[2..] statuses it may move from
  Returns 1 when moved, 0 when the current status is not one of ARGV[2..] (or the hash is missing).
]]
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return 0 end
for i = 2, #ARGV do
  if current == ARGV[i] then
    redis.call('HSET', KEYS[1], 'status', ARGV[1])
    return 1
  end
end
return 0
