-- Commits one profile's new state for a batch, atomically, if nothing moved underneath.
-- KEYS[1]  P ps:<id> (routing; every key shares the tenant's hash tag)
-- ARGV[1]  prefix P
-- ARGV[2]  profile id
-- ARGV[3]  expected version ('' when the profile has no state yet)
-- ARGV[4]  new version
-- ARGV[5]  new state JSON
-- ARGV[6]  JSON [event id, ...] applied by this commit
-- ARGV[7]  JSON { event id = update JSON } to keep for republishing after an aborted transaction
-- ARGV[8]  JSON [[absorbed id, expected version or ''], ...] folded into this profile
-- ARGV[9]  seconds the updates are kept
-- Returns 'ok', 'erased', 'merged:<survivor>' or 'conflict'.
--
-- Keys: P ps:<id> hash v (version), s (state JSON) | P applied: set of every event id applied
--       to any profile of the tenant (so a touchpoint counts once even when its copies were
--       resolved to two profiles that a merge joins later) |
--       P pu:<id> hash event id → update | P pm:<id> survivor of a merged profile |
--       P px:<id> hash at, v: erased at (ms) and the erasure's version
local P, pid = ARGV[1], ARGV[2]
local function version(id) return redis.call('HGET', P .. 'ps:' .. id, 'v') or '' end

if redis.call('EXISTS', P .. 'px:' .. pid) == 1 then return 'erased' end
local survivor = redis.call('GET', P .. 'pm:' .. pid)
if survivor then return 'merged:' .. survivor end
if version(pid) ~= ARGV[3] then return 'conflict' end
local absorbed = cjson.decode(ARGV[8])
for _, entry in ipairs(absorbed) do
  if redis.call('EXISTS', P .. 'pm:' .. entry[1]) == 1 or version(entry[1]) ~= entry[2] then return 'conflict' end
end

redis.call('HSET', P .. 'ps:' .. pid, 'v', ARGV[4], 's', ARGV[5])
for _, eventId in ipairs(cjson.decode(ARGV[6])) do redis.call('SADD', P .. 'applied', eventId) end
local updates = cjson.decode(ARGV[7])
local any = false
for eventId, update in pairs(updates) do
  redis.call('HSET', P .. 'pu:' .. pid, eventId, update)
  any = true
end
if any then redis.call('EXPIRE', P .. 'pu:' .. pid, tonumber(ARGV[9])) end
-- A folded profile points here for good.
for _, entry in ipairs(absorbed) do
  local id = entry[1]
  redis.call('DEL', P .. 'ps:' .. id, P .. 'pu:' .. id)
  redis.call('SET', P .. 'pm:' .. id, pid)
end
return 'ok'
