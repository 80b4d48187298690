--[[
  Moves a hunt to its final status once, in one step, so no reader sees finishedAt with the status
  still running.

  KEYS[1] hunt hash
  ARGV[1] final status (completed, partial or failed)
  ARGV[2] finishedAt (ISO time)

  Returns 1 when this call finished the hunt, 0 when it was already final.
]]
if redis.call('HSETNX', KEYS[1], 'finishedAt', ARGV[2]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 1
