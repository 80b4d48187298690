--[[
  Records the outcomes of several hosts of a hunt at once (a batch job's finished hosts), each
  once, and tells whether every host of the hunt is now accounted for. Each per-host result is
  written with HSETNX, so a retried, stalled or replayed batch never counts a host twice.

  KEYS[1] hunt hash        (fields: status, total, done, failed, risk:<Level>)
  KEYS[2] hunt hosts hash  (host -> result JSON, write-once)
  KEYS[3] hunt findings    (host -> findings JSON, write-once)
  KEYS[4] hunt errors list (JSON of failed hosts, for the summary)
  KEYS[5] audit stream

  ARGV, per host:
    host, result JSON, outcome ("done" or "failed"), findings JSON ("" when none),
    error JSON ("" unless failed), non-benign findings by risk ("" or "High=2,Low=1"),
    n, then n audit fields (field, value ...) of the entry for the host's evidence (n = 0: none);
    the entry is appended whether or not the host was recorded before: it says a file was written.

  Returns { done, failed, total, recorded of host 1 (1 first time, 0 already recorded), ... }
  Errors: "E_NOT_FOUND" when the hunt hash does not exist.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('E_NOT_FOUND')
end
local recorded = {}
local any = false
local i = 1
while i <= #ARGV do
  local fields = tonumber(ARGV[i + 6])
  if fields > 0 then redis.call('XADD', KEYS[5], '*', unpack(ARGV, i + 7, i + 6 + fields)) end
  local fresh = redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
  recorded[#recorded + 1] = fresh
  if fresh == 1 then
    any = true
    if ARGV[i + 3] ~= '' then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 3]) end
    if ARGV[i + 4] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[i + 4]) end
    redis.call('HINCRBY', KEYS[1], ARGV[i + 2], 1)
    for level, count in string.gmatch(ARGV[i + 5], '(%a+)=(%d+)') do
      redis.call('HINCRBY', KEYS[1], 'risk:' .. level, tonumber(count))
    end
  end
  i = i + 7 + fields
end
if any and redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running')
end
local counts = redis.call('HMGET', KEYS[1], 'done', 'failed', 'total')
local reply = { tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), tonumber(counts[3] or '0') }
for _, fresh in ipairs(recorded) do reply[#reply + 1] = fresh end
return reply
