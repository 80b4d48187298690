--[[
  Records the outcome of one host of a hunt, once, and tells whether every host is now accounted for.
  The per-host result is written with HSETNX, so a retried or replayed job never counts twice.

  KEYS[1] hunt hash        (fields: status, total, done, failed, risk:<Level>)
  KEYS[2] hunt hosts hash  (host -> result JSON, write-once)
  KEYS[3] hunt findings    (host -> findings JSON, write-once)
  KEYS[4] hunt errors list (JSON of failed hosts, for the summary)

  ARGV[1] host
  ARGV[2] result JSON
  ARGV[3] outcome: "done" or "failed"
  ARGV[4] findings JSON ("" when none)
  ARGV[5] error JSON ("" unless failed)
  ARGV[6..] pairs of risk level and count of non-benign findings at that level

  Returns { recorded (1 first time, 0 already recorded), done, failed, total }
  Errors: "E_NOT_FOUND" when the hunt hash does not exist.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('E_NOT_FOUND')
end
local recorded = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
if recorded == 1 then
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[4]) end
  if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[5]) end
  redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
  for i = 6, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[1], 'risk:' .. ARGV[i], tonumber(ARGV[i + 1]))
  end
  if redis.call('HGET', KEYS[1], 'status') == 'queued' then
    redis.call('HSET', KEYS[1], 'status', 'running')
  end
end
local counts = redis.call('HMGET', KEYS[1], 'done', 'failed', 'total')
return { recorded, tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), tonumber(counts[3] or '0') }
