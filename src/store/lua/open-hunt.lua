--[[
  Opens a hunt in one atomic step: claims the caller's once-key (when given), takes the day's next
  hunt id, claims the idempotency key (when given), writes the hunt record and index entry, appends
  the hunt.started audit entry and remembers the hunt id under the caller's key (when given). A
  once-key already claimed returns 'claimed' and writes nothing. An idempotency key already claimed
  returns the earlier hunt and writes nothing but the spent sequence number and the remembered id.

  KEYS[1] day sequence
  KEYS[2] hunt index (sorted set)
  KEYS[3] audit stream
  KEYS[4..] in this order, each only when its TTL below is above 0: the idempotency key, the
            once-key, the key that remembers the hunt id
  ARGV[1] hunt id prefix (TH-WMI-YYYYMMDD-)
  ARGV[2] digits of the sequence number
  ARGV[3] hunt record key prefix (the record is this followed by the hunt id)
  ARGV[4] the hunt's meta as JSON without its huntId, i.e. starting '{"playbook":'
  ARGV[5] number of hosts
  ARGV[6] createdAt in epoch milliseconds
  ARGV[7] idempotency TTL in seconds (0: no idempotency key)
  ARGV[8] once-key TTL in seconds (0: none)
  ARGV[9] remembered id TTL in seconds (0: none)
  ARGV[10..] audit entry as field, value ...; its target and huntId fields are set to the hunt id
  Returns {'opened', huntId, auditId}, {'duplicate', earlierHuntId}, {'conflict', huntId} or {'claimed'}.
]]
local nextKey = 4
local function optionalKey(ttl)
  if tonumber(ttl) <= 0 then
    return nil
  end
  nextKey = nextKey + 1
  return KEYS[nextKey - 1]
end
local idempotencyKey = optionalKey(ARGV[7])
local onceKey = optionalKey(ARGV[8])
local rememberKey = optionalKey(ARGV[9])

if onceKey and not redis.call('SET', onceKey, '1', 'EX', ARGV[8], 'NX') then
  return {'claimed'}
end
local sequence = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 3 * 86400)
local huntId = ARGV[1] .. string.format('%0' .. ARGV[2] .. 'd', sequence)
local huntKey = ARGV[3] .. huntId
if redis.call('HEXISTS', huntKey, 'meta') == 1 then
  return {'conflict', huntId}
end
if idempotencyKey and not redis.call('SET', idempotencyKey, huntId, 'EX', ARGV[7], 'NX') then
  local earlier = redis.call('GET', idempotencyKey)
  if rememberKey then
    redis.call('SET', rememberKey, earlier, 'EX', ARGV[9])
  end
  return {'duplicate', earlier}
end
redis.call('HSET', huntKey, 'meta', '{"huntId":"' .. huntId .. '",' .. string.sub(ARGV[4], 2),
  'status', 'queued', 'total', ARGV[5], 'done', 0, 'failed', 0)
redis.call('ZADD', KEYS[2], ARGV[6], huntId)
if rememberKey then
  redis.call('SET', rememberKey, huntId, 'EX', ARGV[9])
end
local entry = {}
for index = 10, #ARGV, 2 do
  local field = ARGV[index]
  entry[#entry + 1] = field
  if field == 'target' or field == 'huntId' then
    entry[#entry + 1] = huntId
  else
    entry[#entry + 1] = ARGV[index + 1]
  end
end
return {'opened', huntId, redis.call('XADD', KEYS[3], '*', unpack(entry))}
