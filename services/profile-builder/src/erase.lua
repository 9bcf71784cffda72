-- Erases a person: their profile state and their identity graph, atomically.
-- KEYS[1]  P ps:<id>
-- ARGV[1]  prefix P
-- ARGV[2]  profile id
-- ARGV[3]  requested at (ms)
-- Returns the version of the erasure ('' if the profile had no state), the same on a
-- repeated request, or 'merged:<survivor>'.
-- What stays: P px:<id> (the id is pseudonymous: when it was erased, and the erasure's
-- version) and, per
-- identifier, P ex:<sha1(type:value)> with the time, so that events ingested before the
-- erasure cannot recreate the person; no identifier value and no trait is kept.
local P, pid, at = ARGV[1], ARGV[2], ARGV[3]
local survivor = redis.call('GET', P .. 'pm:' .. pid)
if survivor then return 'merged:' .. survivor end
local done = redis.call('HGET', P .. 'px:' .. pid, 'v')
if done then return done end
local last = redis.call('HGET', P .. 'ps:' .. pid, 'v')
local version = last and tostring(tonumber(last) + 1) or '1'
for _, member in ipairs(redis.call('SMEMBERS', P .. 'p:' .. pid .. ':ids')) do
  redis.call('DEL', P .. 'i:' .. member, P .. 'sw:' .. member, P .. 'mw:' .. member, P .. 'q:' .. member)
  redis.call('SET', P .. 'ex:' .. redis.sha1hex(member), at)
end
for _, eventId in ipairs(redis.call('SMEMBERS', P .. 'pe:' .. pid)) do redis.call('DEL', P .. 'e:' .. eventId) end
redis.call('DEL', P .. 'p:' .. pid .. ':ids', P .. 'p:' .. pid .. ':n', P .. 'pe:' .. pid, P .. 'ps:' .. pid)
redis.call('HDEL', P .. 'p:' .. pid, 'firstEvent')
redis.call('SREM', P .. 'live', pid)
redis.call('HSET', P .. 'px:' .. pid, 'at', at, 'v', version)
return version
