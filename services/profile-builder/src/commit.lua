-- Commits one profile's new state for a batch, atomically, if nothing moved underneath.
-- KEYS[1]  P ps:<id> (routing; every key shares the tenant's hash tag)
-- ARGV[1]  prefix P
-- ARGV[2]  profile id
-- ARGV[3]  expected version ('' when the profile has no state yet)
-- ARGV[4]  new version
-- ARGV[5]  new state JSON
-- ARGV[6]  JSON [event id, ...] applied by this commit
-- ARGV[7]  outbox key: P ob:<input partition>
-- ARGV[8]  outbox field: <input topic>|<batch's next offset>|<profile id or merge id>
-- ARGV[9]  the updates this commit publishes, as the builder encoded them for Kafka (each a
--          4-byte big-endian length and the Confluent-framed Avro record; '' for none), kept
--          in the outbox until the Kafka transaction that publishes them is known to have
--          committed. (Entries written before 2026-12-05 hold a JSON array; both are read.)
-- ARGV[10] JSON [[absorbed id, expected version or ''], ...] folded into this profile
-- ARGV[11] seconds the outbox is kept after its last write
-- ARGV[12..15] the applied sets (applied.lua, which store.ts puts in front of this script)
-- Returns 'ok', 'erased', 'merged:<survivor>', 'conflict' or 'duplicate' (an event was applied
-- by another writer meanwhile: the batch must be read again).
--
-- Keys: P ps:<id> hash v (version), s (state JSON) | P applied:<n>: the event ids applied to
--       any profile of the tenant in generation n (so a touchpoint counts once even when its
--       copies were resolved to two profiles that a merge joins later; applied.lua) |
--       P ob:<partition> hash, the
--       outbox of one input partition | P pm:<id> survivor of a merged profile |
--       P px:<id> hash at, v, u: erased at (ms), the erasure's version and when a request's
--       erasure was applied first (erase.lua)
local P, pid = ARGV[1], ARGV[2]
local function version(id) return redis.call('HGET', P .. 'ps:' .. id, 'v') or '' end

if redis.call('EXISTS', P .. 'px:' .. pid) == 1 then return 'erased' end
local survivor = redis.call('GET', P .. 'pm:' .. pid)
if survivor then return 'merged:' .. survivor end
if version(pid) ~= ARGV[3] then return 'conflict' end
local absorbed = cjson.decode(ARGV[10])
for _, entry in ipairs(absorbed) do
  -- Erased since the load: its state may never have been written ('' both times), so the
  -- version alone does not show it; the next load finds the erasure (handler.ts, erasedFirst).
  local id = entry[1]
  if redis.call('EXISTS', P .. 'pm:' .. id) == 1 or redis.call('EXISTS', P .. 'px:' .. id) == 1 or version(id) ~= entry[2] then return 'conflict' end
end
local applied = cjson.decode(ARGV[6])
local sets = appliedSets(P, 12)
if anyApplied(sets, applied) then return 'duplicate' end

redis.call('HSET', P .. 'ps:' .. pid, 'v', ARGV[4], 's', ARGV[5])
addApplied(sets, applied)
if ARGV[9] ~= '' then
  redis.call('HSET', ARGV[7], ARGV[8], ARGV[9])
  redis.call('EXPIRE', ARGV[7], tonumber(ARGV[11]))
end
-- A folded profile points here for good.
for _, entry in ipairs(absorbed) do
  local id = entry[1]
  redis.call('DEL', P .. 'ps:' .. id)
  redis.call('SET', P .. 'pm:' .. id, pid)
end
return 'ok'
