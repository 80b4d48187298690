--[[
  Opens a hunt in one atomic step: takes the day's next hunt id, claims the idempotency key (when
  given), writes the hunt record and index entry, and appends the hunt.started audit entry. A key
  already claimed returns the earlier hunt and writes nothing but the spent sequence number.

  KEYS[1] day sequence
  KEYS[2] hunt index (sorted set)
  KEYS[3] audit stream
  KEYS[4] idempotency key (optional)
  ARGV[1] hunt id prefix (TH-WMI-YYYYMMDD-)
  ARGV[2] digits of the sequence number
  ARGV[3] hunt record key prefix (the record is this followed by the hunt id)
  ARGV[4] the hunt's meta as JSON without its huntId, i.e. starting '{"playbook":'
  ARGV[5] number of hosts
  ARGV[6] createdAt in epoch milliseconds
  ARGV[7] idempotency TTL in seconds
  ARGV[8..] audit entry as field, value ...; its target and huntId fields are set to the hunt id
  Returns {'opened', huntId, auditId}, {'duplicate', earlierHuntId} or {'conflict', huntId}.
]]
local sequence = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 3 * 86400)
local huntId = ARGV[1] .. string.format('%0' .. ARGV[2] .. 'd', sequence)
local huntKey = ARGV[3] .. huntId
if redis.call('HEXISTS', huntKey, 'meta') == 1 then
  return {'conflict', huntId}
end
if KEYS[4] then
  if not redis.call('SET', KEYS[4], huntId, 'EX', ARGV[7], 'NX') then
    return {'duplicate', redis.call('GET', KEYS[4])}
  end
end
redis.call('HSET', huntKey, 'meta', '{"huntId":"' .. huntId .. '",' .. string.sub(ARGV[4], 2),
  'status', 'queued', 'total', ARGV[5], 'done', 0, 'failed', 0)
redis.call('ZADD', KEYS[2], ARGV[6], huntId)
local entry = {}
for index = 8, #ARGV, 2 do
  local field = ARGV[index]
  entry[#entry + 1] = field
  if field == 'target' or field == 'huntId' then
    entry[#entry + 1] = huntId
  else
    entry[#entry + 1] = ARGV[index + 1]
  end
end
return {'opened', huntId, redis.call('XADD', KEYS[3], '*', unpack(entry))}
