--[[
  Appends an audit entry only the first time its once-key is claimed, in one atomic step, so a job
  retried after its worker died records each of its idempotent actions exactly once.

  KEYS[1] audit stream
  KEYS[2] once marker
  ARGV    field, value, field, value ... of the entry
  Returns the new entry id, or false when the entry was already written.
]]
if not redis.call('SET', KEYS[2], '1', 'NX') then
  return false
end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV))
