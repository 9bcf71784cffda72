#!lua
-- The shebang (Redis 7 script flags, none set): Redis refuses the whole call while it is over
-- `maxmemory`, before it runs. Without it Redis refused only the first write that could grow
-- memory and let every write after it through: an event refused half-way by OOM (its error is
-- its own reply) while the events after it were resolved, out of order, for good (2026-12-07).
-- Resolves touchpoints' identifiers against one tenant's identity graph: several events per
-- call, in order, each as if it had a call of its own (its reads see the writes of the events
-- before it; an error raised for one event is that event's reply, and the others go on).
-- The semantics are those of @elephant/identity's ReferenceResolver.process (the oracle the
-- tests compare this script with); docs/identity.md describes them.
--
-- KEYS[1]  <prefix>seq: routes the call; every key below shares its hash tag {<tenant>}
-- ARGV[1]  prefix, e.g. "elephant:{acme}:"
-- ARGV[2]  rules JSON { limits = {type = n}, rank = {type = n}, nonMerging = {type = true},
--                       maxProfilesPerValue, maxMergesPerWindow, windowMs, eventTtlSeconds }
-- ARGV[3]  events JSON [[eventId, eventTime, channel, source, identifiers, ingestTime], ...]:
--          eventTime (epoch ms): provenance and the merge-rate window use event time, so a
--            replay of the same stream behaves like the original run
--          identifiers [[type, value], ...]: screened (blocked values removed, de-duplicated)
--            and in priority order, strongest first; never re-sorted here
--          ingestTime (epoch ms): an identifier erased after this time must not come back
-- ARGV[4]  the tenant's profile-id namespace (@elephant/identity's profileIdNamespace: 12 hex
--          characters of SHA-1 of the tenant name): a new profile is "p<seq>-<namespace>", so
--          two tenants' ids never collide on the shared topics (keyed by profile id alone).
--          Profiles created before the namespace keep their "p<seq>" ids; nothing here parses
--          an id (profiles are ordered by the seq field of p:<id>).
-- ARGV[5]  time budget of the call in milliseconds: once it is spent, the call stops after the
--          event at hand (at least one is resolved) and answers for the events resolved so far;
--          the caller sends the rest again. A script holds all of Redis while it runs, and
--          events of many identifiers, or merging large profiles, cost milliseconds each.
-- ARGV[6]  a token unique to the caller's pipeline of calls, ARGV[7] this call's index in it
--          (from 0), ARGV[8] '1' when a call follows it: a call that resolved all its events
--          sets P ok:<token>:<index> (expiring) for the next, and a call after the first runs
--          only if its predecessor's is there. A call that stopped on its budget, or that Redis
--          refused (over maxmemory), sets none, and the calls after it resolve nothing: the
--          caller sends the rest again, in order. Empty ARGV[6]: calls are not chained.
-- Returns one string per event resolved, in order (fewer than the events when the budget was
-- spent, none when the previous call of the pipeline did not finish): the result JSON; "=<profileId>" for a plain match
-- (outcome matched, not a replay, nothing attached, dropped, ignored, quarantined or merged);
-- or {"scriptError": "<message>"} when the event raised an error (writes it made before stay:
-- Redis does not roll back).
--
-- Keys (P = prefix):
--   P i:<type>:<value>   hash  p (owner), to (profile first attached to), fs, ls (first/last
--                              seen, event time), ev (event that attached it), lev (last event),
--                              ch, src, rule, via (the latest merge event that moved it)
--   P p:<id>             hash  seq (creation order), created, firstEvent; mergedInto, mergedAt, mergedBy
--   P p:<id>:ids         set   "<type>:<value>" held by a live profile
--   P p:<id>:n           hash  identifiers per type of a live profile
--   P live               set   live profile ids
--   P e:<event id>       string  the event's result, for redelivery (expires): its JSON, or
--                              "=<profileId>" for a plain match; that of an event dropped by
--                              an xq: mark too (not one dropped by an ex: mark)
--   P q:<type>:<value>   hash  quarantine: reason, observed, threshold, event, at
--   P sw:<type>:<value>  set   partners the value was seen with: profile ids, or "#<key>" for
--                              identifiers the limits kept out of every profile; for a held
--                              value, the profiles its events went to (members may be profiles
--                              merged since: they are resolved when counted)
--   P sr:<type>:<value>  set   the values whose sw: holds "#<type>:<value>", exactly: an
--                              erasure of the profile that owns the value takes that entry out
--                              of them, and one of a value in it takes the value out of it
--                              (profile-builder's erase.lua)
--   P mw:<type>:<value>  zset  merges the value took part in, scored by event time
--   P pe:<id>            zset  event ids resolved to a live profile (their e: entries go on
--                              erasure), scored by when their e: entry expires (epoch ms);
--                              members past it are trimmed, and the key expires with its
--                              last member. Written as a plain set before 2026-12-06: such a
--                              set becomes a zset the first time the script writes to it.
--   P ex:<sha1(key)>     string  when the identifier was erased (no personal data kept)
--   P xq:<sha1(key)>     string  when the profile holding the quarantined identifier was erased
--                              (profile-builder's erase.lua): read only while it is quarantined
local P = ARGV[1]

-- A call whose predecessor in the pipeline did not finish (ARGV[6..8]) answers at once, before
-- it decodes its events (megabytes for 100 events of 100 long identifiers: 30 ms of decoding).
local token, callIndex = ARGV[6], tonumber(ARGV[7] or '0') or 0
local chained = token ~= nil and token ~= ''
if chained and callIndex > 0 and redis.call('EXISTS', P .. 'ok:' .. token .. ':' .. (callIndex - 1)) == 0 then return {} end

-- Redis' own clock (frozen for the script), by which the e: entries written below expire:
-- a pe: member is scored with its e: entry's expiry, so trimming and key expiry follow them.
-- The call's time budget counts from here, its decoding included.
local clock = redis.call('TIME')
local rules = cjson.decode(ARGV[2])
local events = cjson.decode(ARGV[3])
local namespace = ARGV[4]
local nonMerging = rules.nonMerging

local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local eventsExpireAt = now + rules.eventTtlSeconds * 1000

-- The event being resolved (set for each event by the loop at the end).
local eventId, eventTime, channel, source, identifiers, ingestTime, result

-- Reads below are memoized for the duration of one event (the same identifiers and profiles
-- are looked at in several steps); after the merge and attach steps the memos are updated to
-- what those writes did rather than read again. Emptied before each event.
local roots, owners, quarantines, countsCache
-- The merge-rate quarantines of one event, decided before the xq: drop (step 5) and written
-- only once the event is not dropped: a dropped event leaves nothing behind but its result.
local pendingQuarantines

local function writePendingQuarantines()
  for _, fields in ipairs(pendingQuarantines) do redis.call('HSET', unpack(fields)) end
  pendingQuarantines = {}
end
-- What the call knows of identifiers' links (P i:<key>), across its events: { p, fs, ls, lev }
-- as the call's own writes left them, or false when nobody owns the identifier. Read once per
-- identifier and call (ownerOf), kept up to date by every write of the script to a link (a
-- merge moves p, an attach writes all four, provenance fs, ls and lev); nothing else writes
-- links while the script runs. 40% of the identifiers of a call of 100 touchpoints had been
-- seen by an earlier event of the same call (a person's visit: several page views in a row).
local linkState = {}
-- Identifiers whose provenance (fs, ls, lev) changed in linkState and is not written yet, in
-- order: written once per identifier at the end of the call (writeProvenance), not once per
-- event; the call is atomic, so nothing can read them in between.
local provenanceDirty, provenanceOrder = {}, {}

local function root(pid)
  local start = pid
  local known = roots[start]
  if known then return known end
  for _ = 1, 1000 do
    local next = redis.call('HGET', P .. 'p:' .. pid, 'mergedInto')
    if not next then break end
    pid = next
  end
  roots[start] = pid
  return pid
end

-- An identifier's key, made once per identifier of a call (kept as its third element): steps 1
-- to 10 ask for it a dozen times.
local function key(id)
  local k = id[3]
  if not k then
    k = id[1] .. ':' .. id[2]
    id[3] = k
  end
  return k
end

-- Multi-key commands take their keys CHUNK at a time: Lua's unpack fails beyond about 8,000
-- values ("too many results to unpack"), which would fail the event and stop the resolver.
-- The resolver caps an event's identifiers (maxIdentifiersPerEvent, at most 1,000), so one
-- chunk is the normal case; the chunks keep the script safe when it is called directly.
local CHUNK = 1000

local function mgetAll(keys)
  if #keys <= CHUNK then return redis.call('MGET', unpack(keys)) end
  local values = {}
  for first = 1, #keys, CHUNK do
    local last = math.min(first + CHUNK - 1, #keys)
    local part = redis.call('MGET', unpack(keys, first, last))
    for j = 1, last - first + 1 do values[first + j - 1] = part[j] end
  end
  return values
end

local function existsAny(keys)
  for first = 1, #keys, CHUNK do
    if redis.call('EXISTS', unpack(keys, first, math.min(first + CHUNK - 1, #keys))) > 0 then return true end
  end
  return false
end

local function saddAll(set, members)
  for first = 1, #members, CHUNK do redis.call('SADD', set, unpack(members, first, math.min(first + CHUNK - 1, #members))) end
end

-- The expiry this script call gave each pe: key (see expireWithLatest).
local expiresAt = {}

-- A profile's events (P pe:<id>) as a sorted set. One written before they were sorted sets is
-- a plain set: it is converted, each event scored with a full EVENT_TTL_SECONDS from now (its
-- e: entry expires before that; kept a little long rather than dropped while it lives).
local function sortedEvents(events)
  if redis.call('TYPE', events).ok ~= 'set' then return end
  local members = redis.call('SMEMBERS', events)
  redis.call('DEL', events)
  expiresAt[events] = nil
  for first = 1, #members, CHUNK do
    local args = {}
    for j = first, math.min(first + CHUNK - 1, #members) do
      args[#args + 1] = eventsExpireAt
      args[#args + 1] = members[j]
    end
    redis.call('ZADD', events, unpack(args))
  end
end

-- The key lives as long as its latest member: PEXPIREAT GT never shortens it, and NX gives a
-- key without an expiry (new, converted, or rebuilt by a merge) its first one. The expiry this
-- call gave each key is remembered: a profile's later events in the same call (the same
-- eventsExpireAt) skip it, instead of a GT that changes nothing followed by an NX.
local function expireWithLatest(events, at)
  if expiresAt[events] == at then return end
  if redis.call('PEXPIREAT', events, at, 'GT') == 0 then redis.call('PEXPIREAT', events, at, 'NX') end
  expiresAt[events] = at
end

-- Adds the event to the profile's events and, for one event in eight (the byte code of the
-- id's last character divisible by 8: a UUID ending in 0 or 8), drops those whose e: entry has
-- expired, so a profile keeps EVENT_TTL_SECONDS worth of event ids (and a few expired ones
-- until the next trim), not every id of all time, for an eighth of the trims' cost.
local function addEvent(pid)
  local events = P .. 'pe:' .. pid
  local added = redis.pcall('ZADD', events, eventsExpireAt, eventId)
  if type(added) == 'table' and added.err then
    sortedEvents(events)
    redis.call('ZADD', events, eventsExpireAt, eventId)
  end
  local last = string.byte(eventId, -1)
  if last and last % 8 == 0 then redis.call('ZREMRANGEBYSCORE', events, '-inf', '(' .. now) end
  expireWithLatest(events, eventsExpireAt)
end

-- Folds an absorbed profile's events into the survivor's; the union has no expiry (ZUNIONSTORE
-- replaces the key), so it gets that of its latest member.
local function mergeEvents(target, pid)
  local into, from = P .. 'pe:' .. target, P .. 'pe:' .. pid
  sortedEvents(into)
  sortedEvents(from)
  redis.call('ZUNIONSTORE', into, 2, into, from, 'AGGREGATE', 'MAX')
  -- The union has no expiry, and the absorbed key goes (the merge deletes it).
  expiresAt[into], expiresAt[from] = nil, nil
  local latest = redis.call('ZRANGE', into, -1, -1, 'WITHSCORES')
  if latest[2] then expireWithLatest(into, tonumber(latest[2])) end
end

-- The owner and the provenance step 10 updates are read together: one command per identifier.
-- An owner is a live profile, never one merged since: a merge points every identifier of the
-- profiles it absorbs at the survivor (step 6) before it marks them merged, and an erasure
-- deletes the identifiers with their profile. So no mergedInto walk (a command per owner).
local function ownerOf(k)
  local owner = owners[k]
  if owner == nil then
    local fields = linkState[k]
    if fields == nil then
      fields = redis.call('HMGET', P .. 'i:' .. k, 'p', 'fs', 'ls', 'lev')
      if not fields[1] then fields = false end
      linkState[k] = fields
    end
    owner = fields and fields[1]
    if owner then
      roots[owner] = owner -- so root() of a candidate needs no command either
    end
    owners[k] = owner -- false when nobody owns it
  end
  return owner or nil
end

local function quarantined(k)
  local known = quarantines[k]
  if known == nil then
    known = redis.call('EXISTS', P .. 'q:' .. k) == 1
    quarantines[k] = known
  end
  return known
end

-- Identifier counts per type of a profile; callers only read the table.
local function countsOf(pid)
  local counts = countsCache[pid]
  if counts then return counts end
  counts = {}
  local flat = redis.call('HGETALL', P .. 'p:' .. pid .. ':n')
  for j = 1, #flat, 2 do counts[flat[j]] = tonumber(flat[j + 1]) end
  countsCache[pid] = counts
  return counts
end

local function seqOf(pid) return tonumber(redis.call('HGET', P .. 'p:' .. pid, 'seq')) end

-- A profile holding an identifier of a merging type: its non-merging identifiers stop linking.
local function anchored(pid)
  for type, count in pairs(countsOf(pid)) do
    if count > 0 and not nonMerging[type] then return true end
  end
  return false
end

local function rankOf(type) return rules.rank[type] or 1000000 end

-- 3. The identifiers that may link: every merging-type one, and every non-merging one no
-- anchored profile holds yet. Held ones never link, except that the strongest is promoted
-- (a weak match) when nothing of a merging type is left. Quarantined values take no part.
local function selectLinking(kept)
  local linking, held, merging = {}, {}, false
  for _, id in ipairs(kept) do
    local k = key(id)
    if not quarantined(k) then
      if not nonMerging[id[1]] then
        table.insert(linking, id)
        merging = true
      else
        local owner = ownerOf(k)
        if owner and anchored(owner) then table.insert(held, id) else table.insert(linking, id) end
      end
    end
  end
  if merging or #held == 0 then return linking, held, false end
  local promoted = { [key(held[1])] = true }
  for _, id in ipairs(linking) do promoted[key(id)] = true end
  local ordered = {}
  for _, id in ipairs(kept) do
    if promoted[key(id)] then table.insert(ordered, id) end
  end
  local rest = {}
  for i = 2, #held do table.insert(rest, held[i]) end
  return ordered, rest, true
end

-- 4. While the union of the matched profiles and the unknown linking identifiers would
-- exceed a limit, drop the lowest-priority conflicting identifier (non-merging unknown
-- ones first, then non-merging known ones, then merging ones) and match again.
-- A limit only stops growth: a type is violated when the union holds more of it than the
-- limit and more than any one matched profile already holds (a profile over a limit lowered
-- after it filled up is still matched, takes identifiers of other types and merges with
-- profiles holding none of that type). Within the limits, the largest is at most the limit.
local function applyLimits(linking)
  local current, dropped = {}, {}
  for _, id in ipairs(linking) do table.insert(current, id) end
  while true do
    local owners, profiles, seen, counts, profileCounts, largest = {}, {}, {}, {}, {}, {}
    for i, id in ipairs(current) do
      owners[i] = ownerOf(key(id))
      if owners[i] and not seen[owners[i]] then
        seen[owners[i]] = true
        table.insert(profiles, owners[i])
      end
    end
    -- One profile or none and nothing unknown of a limited type: the union is that profile
    -- plus identifiers of unlimited types, within the limits (a limit only stops growth), so
    -- the profile's counts (a command) are not read. The common case: an event of a known person.
    if #profiles <= 1 then
      local grows = false
      for i, id in ipairs(current) do
        if not owners[i] and rules.limits[id[1]] then grows = true break end
      end
      if not grows then return current, profiles, dropped, owners end
    end
    if #profiles > 1 then
      local seqs = {}
      for _, pid in ipairs(profiles) do seqs[pid] = seqOf(pid) end
      table.sort(profiles, function(a, b) return seqs[a] < seqs[b] end)
    end
    for _, pid in ipairs(profiles) do
      profileCounts[pid] = countsOf(pid)
      for type, count in pairs(profileCounts[pid]) do
        counts[type] = (counts[type] or 0) + count
        largest[type] = math.max(largest[type] or 0, count)
      end
    end
    for i, id in ipairs(current) do
      if not owners[i] then counts[id[1]] = (counts[id[1]] or 0) + 1 end
    end
    local violated, violatedSet = {}, {}
    for type, count in pairs(counts) do
      local limit = rules.limits[type]
      if limit and count > limit and count > (largest[type] or 0) then
        table.insert(violated, type)
        violatedSet[type] = true
      end
    end
    if #violated == 0 then return current, profiles, dropped, owners end
    table.sort(violated, function(a, b)
      if rankOf(a) ~= rankOf(b) then return rankOf(a) < rankOf(b) end
      return a < b
    end)
    local victim = -1
    for pass = 0, 2 do
      for index = #current, 1, -1 do
        local id, owner = current[index], owners[index]
        local passOf = 2
        if nonMerging[id[1]] then passOf = owner and 1 or 0 end
        if passOf == pass then
          local conflicting = false
          if not owner then
            conflicting = violatedSet[id[1]] == true
          else
            for _, type in ipairs(violated) do
              if (profileCounts[owner][type] or 0) > 0 then conflicting = true end
            end
          end
          if conflicting then victim = index break end
        end
      end
      if victim > 0 then break end
    end
    -- Unreachable: a violated type's count is above every matched profile's (and above 0),
    -- so it takes an unknown identifier of that type or a second profile holding some, either
    -- of which conflicts; kept as a guard (as in the reference resolver). Raised,
    -- not returned: a returned error table would be taken for the plan and the event would
    -- come out "unresolved" silently. The first word is the code graph.ts turns into a typed,
    -- non-retryable error the resolver dead-letters. The merge-rate quarantines decided earlier
    -- for this event are written first, as the reference resolver keeps them: each is valid alone.
    if victim < 0 then writePendingQuarantines() error({ err = 'LIMITS_UNSATISFIABLE limits violated by ' .. table.concat(violated, ',') .. ' without a conflicting identifier' }) end
    local removed = table.remove(current, victim)
    table.insert(dropped, { type = removed[1], value = removed[2], reason = 'limit', violated = violated })
  end
end

local function quarantine(id, reason, observed, threshold, deferred)
  local fields = { P .. 'q:' .. key(id), 'reason', reason, 'observed', observed, 'threshold', threshold, 'event', eventId, 'at', eventTime }
  if deferred then table.insert(pendingQuarantines, fields) else redis.call('HSET', unpack(fields)) end
  quarantines[key(id)] = true
  table.insert(result.quarantined, { type = id[1], value = id[2], reason = reason, observed = observed, threshold = threshold })
end

local function mergesInWindow(k)
  return redis.call('ZCOUNT', P .. 'mw:' .. k, '(' .. (eventTime - rules.windowMs), '(' .. (eventTime + rules.windowMs))
end

local function resolvePartner(partner)
  if string.sub(partner, 1, 1) == '#' then
    return ownerOf(string.sub(partner, 2)) or partner
  end
  return root(partner)
end

-- The reply for an event dropped as an erased person's leftover: it names no identifier or profile.
local function erasedResult()
  return cjson.encode({ eventId = eventId, profileId = '', outcome = 'erased', replay = false, attached = {}, dropped = {}, ignored = {}, quarantined = {}, merge = false })
end

local function markProvenance(k)
  if not provenanceDirty[k] then
    provenanceDirty[k] = true
    provenanceOrder[#provenanceOrder + 1] = k
  end
end

-- 10. Provenance: first and last seen of every identifier of the event that a profile holds.
-- Attached by this event (in attachedNow): first and last seen are this event already. Owned
-- by nobody: no provenance to keep. Otherwise in linkState, written at the end of the call.
local function keepProvenance(kept, attachedNow)
  for _, id in ipairs(kept) do
    local k = key(id)
    if not attachedNow[k] and ownerOf(k) then
      local fields = linkState[k]
      if fields[4] ~= eventId then
        -- Each change marked as it is made: a link without a number in ls (not one this script
        -- wrote) raises after fs changed, and that fs is written as it was by a write of its own.
        if eventTime < tonumber(fields[2]) then
          fields[2] = eventTime
          markProvenance(k)
        end
        if eventTime >= tonumber(fields[3]) then
          fields[3], fields[4] = eventTime, eventId
          markProvenance(k)
        end
      end
    end
  end
end

-- The provenance keepProvenance changed, one write per identifier for the whole call. A field
-- the link lacks (false: not one this script wrote, which writes all three) stays missing: it
-- cannot be an argument, and an error here, outside any event's pcall, would fail the call.
local function writeProvenance()
  for _, k in ipairs(provenanceOrder) do
    local fields = linkState[k]
    local args = { P .. 'i:' .. k }
    if fields[2] then args[#args + 1] = 'fs' args[#args + 1] = fields[2] end
    if fields[3] then args[#args + 1] = 'ls' args[#args + 1] = fields[3] end
    if fields[4] then args[#args + 1] = 'lev' args[#args + 1] = fields[4] end
    redis.call('HSET', unpack(args))
  end
end

-- The event's result stored for redelivery (step 1), the event listed under its profile.
local function storeResult(encoded, target)
  redis.call('SET', P .. 'e:' .. eventId, encoded, 'EX', rules.eventTtlSeconds)
  if target then addEvent(target) end
  return encoded
end

-- A known person's event, the most common one: the profile that owns every identifier of the
-- event, when one does and one of them is of a merging type (none of them quarantined: the
-- caller checked). Steps 3 to 9 decide nothing for such an event: every identifier links or
-- is held by that profile, so it is matched to it (not a weak match: a merging identifier
-- links), with nothing to attach, drop, ignore, quarantine or merge, and no partner but its own
-- profile to count. Nil otherwise, after reading no more owners than steps 3 to 10 read: the
-- full path goes on from the memos.
local function soleOwner()
  local target, merging = nil, false
  for _, id in ipairs(identifiers) do
    local owner = ownerOf(key(id))
    if not owner or (target and owner ~= target) then return nil end
    target = owner
    if not nonMerging[id[1]] then merging = true end
  end
  if merging then return target end
  return nil
end

-- Steps 1 to 10 for the current event; returns its result JSON.
local function resolveOne()
  roots, owners, quarantines, countsCache = {}, {}, {}, {}
  pendingQuarantines = {}

  -- 1. Redelivery: the stored result, re-resolved to the survivor; nothing changes.
  -- Read with the erasure marks below: one MGET, the event's entry first.
  local reads = { P .. 'e:' .. eventId }
  for i, id in ipairs(identifiers) do reads[i + 1] = P .. 'ex:' .. redis.sha1hex(key(id)) end
  local values = mgetAll(reads)
  local stored = values[1]
  -- An event ingested before one of its identifiers was erased is an in-flight leftover of the
  -- erased person: it must not recreate them. Checked before a stored result is replayed: the
  -- results of an erased profile's events are deleted after its erasure when they are many
  -- (the builder's erase.lua queues them), and a replay meanwhile re-emitted the person's
  -- merges and alerts, erased identifiers included (2026-12-07).
  for i = 2, #reads do
    local erasedAt = values[i]
    if erasedAt and ingestTime < tonumber(erasedAt) then
      return erasedResult()
    end
  end

  if stored then
    local replayed
    if string.sub(stored, 1, 1) == '=' then
      replayed = { eventId = eventId, profileId = string.sub(stored, 2), outcome = 'matched', attached = {}, dropped = {}, ignored = {}, quarantined = {}, merge = false }
    else
      replayed = cjson.decode(stored)
    end
    if replayed.profileId ~= '' then replayed.profileId = root(replayed.profileId) end
    replayed.replay = true
    return cjson.encode(replayed)
  end

  -- One EXISTS over every identifier's quarantine key: in the common case none is quarantined
  -- and no identifier needs a check of its own.
  if #identifiers > 0 then
    local quarantineKeys = {}
    for i, id in ipairs(identifiers) do quarantineKeys[i] = P .. 'q:' .. key(id) end
    if not existsAny(quarantineKeys) then
      for _, id in ipairs(identifiers) do quarantines[key(id)] = false end
      -- A known person's event: the plain match steps 3 to 10 would give, without steps 3 to 9.
      local owner = soleOwner()
      if owner then
        keepProvenance(identifiers, {})
        return storeResult('=' .. owner, owner)
      end
    end
  end

  -- A quarantined value an erased profile held has no erasure mark (P ex: dropped every
  -- in-flight event carrying it, whoever's) but a mark of its own, P xq: (the builder's
  -- erase.lua). An event ingested before it that carries the value may be a leftover of the
  -- erased person: their event with the value and an identifier the graph did not know yet
  -- created a profile, the person back. Such an event is dropped as erased unless routing
  -- (steps 3-5 below) sends it to an existing profile: an identifier a live profile owns does
  -- not decide that alone (a non-merging one another anchored profile holds is held, one a limit
  -- drops is left out, and the event created a profile all the same). Read here only for
  -- quarantined identifiers: none in the common case (the EXISTS above answered for all), no
  -- command; the decision is taken after routing, which writes nothing before it (the
  -- merge-rate quarantines it decides are written after the decision).
  local leftover = false
  local marks = {}
  for _, id in ipairs(identifiers) do
    if quarantined(key(id)) then marks[#marks + 1] = P .. 'xq:' .. redis.sha1hex(key(id)) end
  end
  if #marks > 0 then
    for _, erasedAt in ipairs(mgetAll(marks)) do
      if erasedAt and ingestTime < tonumber(erasedAt) then leftover = true break end
    end
  end

  result = {
    eventId = eventId, profileId = '', outcome = 'unresolved', replay = false,
    attached = {}, dropped = {}, ignored = {}, quarantined = {}, merge = false,
  }

  -- 3-5. Select, apply limits, and quarantine values that would take part in too many merges
  -- within the window (before the merge), then select again.
  local kept = identifiers
  local linking, held, weak = selectLinking(kept)
  local plan, profiles, dropped = applyLimits(linking)
  while #profiles >= 2 do
    local absorbedCount = #profiles - 1
    local violators = {}
    for _, id in ipairs(plan) do
      local observed = mergesInWindow(key(id)) + absorbedCount
      if observed > rules.maxMergesPerWindow then table.insert(violators, { id, observed }) end
    end
    if #violators == 0 then break end
    for _, violator in ipairs(violators) do quarantine(violator[1], 'too_many_merges', violator[2], rules.maxMergesPerWindow, true) end
    linking, held, weak = selectLinking(kept)
    plan, profiles, dropped = applyLimits(linking)
  end

  -- A leftover of the erased person (the xq: marks above) that routing sends to no existing
  -- profile: dropped as erased, before anything below writes (it would create a profile, or
  -- leave the event unresolved with the value in its dead letter). Another person's in-flight
  -- event with the value and nothing that routes it to their profile is dropped too: the
  -- erasure wins. One routed to a live profile goes on to it, the value ignored as quarantined.
  -- The merge-rate quarantines the loop above decided (only when the event reached two
  -- profiles or more) are not written when they leave it none and it is dropped: one could
  -- name an identifier of the erased person nobody owned (their new cookie), kept for good
  -- after their erasure; a later event decides the others again.
  -- The reply is stored like any result (step 1 replays it), as the decision depends on the
  -- graph: a redelivery after a later event created a profile owning the event's cookie came
  -- out `matched` to it, and one after the value's quarantine was released resolved on it.
  -- (The ex: drop above is not stored: its marks stay, and drop a redelivery again.) No profile
  -- lists it (pe:), and it names no identifier or profile: it expires after EVENT_TTL_SECONDS.
  if leftover and #profiles == 0 then
    local erased = erasedResult()
    redis.call('SET', P .. 'e:' .. eventId, erased, 'EX', rules.eventTtlSeconds)
    return erased
  end
  writePendingQuarantines()
  result.dropped = dropped

  -- The profiles the linking identifiers pointed at before limits: what each value was seen with.
  local candidates = {}
  for _, id in ipairs(linking) do
    local owner = ownerOf(key(id))
    if owner then table.insert(candidates, owner) end
  end

  -- 6. Target: new, matched, or merged into the oldest; none when nothing can link.
  local target = nil
  if #plan == 0 then
    result.outcome = 'unresolved'
  elseif #profiles == 0 then
    local seq = redis.call('INCR', KEYS[1])
    target = 'p' .. seq .. '-' .. namespace
    redis.call('HSET', P .. 'p:' .. target, 'seq', seq, 'created', eventTime, 'firstEvent', eventId)
    redis.call('SADD', P .. 'live', target)
    result.outcome = 'created'
  else
    target = profiles[1]
    if #profiles > 1 then
      result.outcome = 'merged'
      local absorbed = {}
      for i = 2, #profiles do
        local pid = profiles[i]
        table.insert(absorbed, pid)
        for _, member in ipairs(redis.call('SMEMBERS', P .. 'p:' .. pid .. ':ids')) do
          -- Owners point at the survivor directly, so resolving stays one hop.
          redis.call('HSET', P .. 'i:' .. member, 'p', target, 'via', eventId)
          local fields = linkState[member]
          if fields then fields[1] = target end
          redis.call('SADD', P .. 'p:' .. target .. ':ids', member)
        end
        for type, count in pairs(countsOf(pid)) do redis.call('HINCRBY', P .. 'p:' .. target .. ':n', type, count) end
        mergeEvents(target, pid)
        redis.call('DEL', P .. 'p:' .. pid .. ':ids', P .. 'p:' .. pid .. ':n', P .. 'pe:' .. pid)
        redis.call('HSET', P .. 'p:' .. pid, 'mergedInto', target, 'mergedAt', eventTime, 'mergedBy', eventId)
        redis.call('SREM', P .. 'live', pid)
      end
      local linkedBy = {}
      for _, id in ipairs(plan) do
        table.insert(linkedBy, { type = id[1], value = id[2] })
        for n = 1, #absorbed do redis.call('ZADD', P .. 'mw:' .. key(id), eventTime, eventId .. ':' .. n) end
      end
      result.merge = { survivor = target, absorbed = absorbed, linkedBy = linkedBy, rule = 'match' }
    elseif weak then
      result.outcome = 'weak_match'
    else
      result.outcome = 'matched'
    end
  end

  -- 7. Attach what nobody owns.
  if target then
    result.profileId = target
    local rule = 'attach'
    if result.outcome == 'created' then rule = 'new_profile' elseif weak then rule = 'weak_match' end
    for _, id in ipairs(plan) do
      local k = key(id)
      -- applyLimits read every plan identifier's owner; the merge above only moved owned ones.
      if not ownerOf(k) then
        -- `to` keeps the profile it was first attached to (`p` moves with merges): walking
        -- mergedInto from there to the survivor lists every merge that carried it along.
        redis.call('HSET', P .. 'i:' .. k, 'p', target, 'to', target, 'fs', eventTime, 'ls', eventTime, 'ev', eventId, 'lev', eventId, 'ch', channel, 'src', source, 'rule', rule)
        linkState[k] = { target, eventTime, eventTime, eventId }
        redis.call('SADD', P .. 'p:' .. target .. ':ids', k)
        redis.call('HINCRBY', P .. 'p:' .. target .. ':n', id[1], 1)
        table.insert(result.attached, { type = id[1], value = id[2] })
        owners[k] = target
      end
    end
  end

  -- Steps 6 and 7 moved identifiers and profiles. The memos follow the writes instead of being
  -- read again: what resolved to an absorbed profile resolves to the survivor now (owners and
  -- roots hold live roots, and the absorbed profiles were live roots), attached identifiers
  -- are owned by the target (set above), and identifier counts changed.
  if result.merge then
    local gone = {}
    for _, pid in ipairs(result.merge.absorbed) do gone[pid] = true end
    for k, owner in pairs(owners) do
      if owner and gone[owner] then owners[k] = target end
    end
    for start, pid in pairs(roots) do
      if gone[pid] then roots[start] = target end
    end
  end
  countsCache = {}

  -- 8. What was neither matched nor attached, and why.
  local heldSet = {}
  for _, id in ipairs(held) do heldSet[key(id)] = true end
  for _, id in ipairs(kept) do
    local k = key(id)
    if quarantined(k) then
      table.insert(result.ignored, { type = id[1], value = id[2], reason = 'quarantined' })
    elseif heldSet[k] and ownerOf(k) ~= target then
      table.insert(result.ignored, { type = id[1], value = id[2], reason = 'owned_elsewhere' })
    end
  end

  -- 9. Super-node check, after the merge: the distinct partners each linking value has been
  -- seen with; only partners it could not join make the count grow. A held value (a
  -- non-merging one another anchored profile holds: a shared tablet, a junk device id the
  -- blocklist misses) links nothing, but the event's profile is its partner, so it is
  -- quarantined like any other value once seen on too many profiles.
  -- Each partner once: candidates repeat a profile for every identifier it holds, and every
  -- linking value walks the whole list (n identifiers of one profile: n, not n squared).
  local partners, listed = {}, {}
  local function addPartner(partner)
    if not listed[partner] then
      listed[partner] = true
      table.insert(partners, partner)
    end
  end
  for _, pid in ipairs(candidates) do addPartner(root(pid)) end
  if target then addPartner(target) end
  for _, drop in ipairs(dropped) do
    local k = drop.type .. ':' .. drop.value
    if not ownerOf(k) then addPartner('#' .. k) end
  end
  -- The event's partners, each resolved once, as a set: what they stand for today (a live
  -- profile, or #<key> for an identifier nobody owns). A value's partners of this event are
  -- this set without its own profile and itself, counted in constant time: every linking value
  -- walked every partner (an event of 100 identifiers whose limits kept 89 out: 100 x 89 walks
  -- of strings of up to 512 characters, about 40 ms of Redis time an event; 2026-12-07).
  local partnerSet, partnerList = {}, {}
  for _, partner in ipairs(partners) do
    local resolved = resolvePartner(partner)
    if not partnerSet[resolved] then
      partnerSet[resolved] = true
      table.insert(partnerList, resolved)
    end
  end
  -- Enough partners to decide again: more than the threshold quarantines a value, and a
  -- quarantined value is counted no more.
  local enough = rules.maxProfilesPerValue + 1
  -- The value's distinct partners: `others` of this event's (in partnerSet, its own profile
  -- and itself left out), and those recorded before (sw:, resolved to today's live profiles),
  -- plus its own profile; quarantined when more than the threshold. The set is rewritten
  -- resolved, with at most `enough` of them: storing every one wrote, for an event whose
  -- limits kept 89 long identifiers out, 89 members to the set of each value it linked, about
  -- half a megabyte an event, kept for good (2026-12-07).
  local function countPartners(id, k, own, others, set, list)
    local sw = P .. 'sw:' .. k
    local self = '#' .. k
    local count = others
    local stored, storedSet = {}, {}
    -- The identifiers nobody owned that the set named by value: sr: must stop pointing here
    -- for those it no longer names (owned since, or left out at the rewrite).
    local unowned = {}
    for _, member in ipairs(redis.call('SMEMBERS', sw)) do
      if string.sub(member, 1, 1) == '#' then unowned[member] = true end
      local resolved = resolvePartner(member)
      if resolved ~= own and resolved ~= self and not set[resolved] and not storedSet[resolved] then
        storedSet[resolved] = true
        count = count + 1
        if #stored < enough then table.insert(stored, resolved) end
      end
    end
    for _, resolved in ipairs(list) do
      if #stored >= enough then break end
      if resolved ~= own and resolved ~= self then table.insert(stored, resolved) end
    end
    redis.call('DEL', sw)
    saddAll(sw, stored)
    -- An identifier nobody owns, by its value: which sets name it, exactly, for an erasure to
    -- take it out of them (and to take those sets' values out of sr: when it erases them).
    for _, member in ipairs(stored) do
      if string.sub(member, 1, 1) == '#' then
        unowned[member] = nil
        redis.call('SADD', P .. 'sr:' .. string.sub(member, 2), k)
      end
    end
    for member in pairs(unowned) do redis.call('SREM', P .. 'sr:' .. string.sub(member, 2), k) end
    if own then count = count + 1 end
    if count > rules.maxProfilesPerValue then quarantine(id, 'too_many_profiles', count, rules.maxProfilesPerValue) end
  end
  for _, id in ipairs(linking) do
    local k = key(id)
    if not quarantined(k) then
      local own = ownerOf(k)
      local others = #partnerList
      if own and partnerSet[own] then others = others - 1 end
      if partnerSet['#' .. k] then others = others - 1 end
      if others > 0 then countPartners(id, k, own, others, partnerSet, partnerList) end
    end
  end
  -- Held values: nothing to do when the event went to the value's own profile (the common
  -- case, no command); otherwise two commands, SADD of the target and SCARD. The set may hold
  -- partners merged since (stored as they were), so its size only bounds the distinct live
  -- profiles from above: they are read and resolved (countPartners) only when that bound, plus
  -- the value's own profile, is over the threshold.
  if target then
    for _, id in ipairs(held) do
      local k = key(id)
      local own = ownerOf(k)
      if own and own ~= target and not quarantined(k) then
        local sw = P .. 'sw:' .. k
        redis.call('SADD', sw, target)
        if redis.call('SCARD', sw) + 1 > rules.maxProfilesPerValue then countPartners(id, k, own, 0, {}, {}) end
      end
    end
  end

  -- 10. Provenance.
  local attachedNow = {}
  for _, id in ipairs(result.attached) do attachedNow[id.type .. ':' .. id.value] = true end
  keepProvenance(kept, attachedNow)

  -- A plain match (most events: every identifier held by the profile already, nothing
  -- dropped, ignored, quarantined or merged) is stored and answered as "=<profileId>": a
  -- tenth of its JSON's bytes in Redis for EVENT_TTL_SECONDS, and no encoding.
  local encoded
  if result.outcome == 'matched' and #result.attached == 0 and #result.dropped == 0 and #result.ignored == 0 and #result.quarantined == 0 and not result.merge then
    encoded = '=' .. target
  else
    encoded = cjson.encode(result)
  end
  return storeResult(encoded, target)
end

local budgetMs = tonumber(ARGV[5])
local startedUs = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local replies = {}
for i, event in ipairs(events) do
  eventId, eventTime, channel, source, identifiers, ingestTime = event[1], tonumber(event[2]), event[3], event[4], event[5], tonumber(event[6])
  local ok, reply = pcall(resolveOne)
  if ok then
    replies[i] = reply
  else
    -- An error raised by error({ err = ... }) or by a failed redis.call is a table; a Lua
    -- runtime error a string.
    if type(reply) == 'table' then reply = reply.err or cjson.encode(reply) end
    replies[i] = cjson.encode({ scriptError = tostring(reply) })
  end
  if budgetMs and i < #events then
    local t = redis.call('TIME')
    if (tonumber(t[1]) * 1000000 + tonumber(t[2]) - startedUs) / 1000 > budgetMs then
      break
    end
  end
end
writeProvenance()
if chained and ARGV[8] == '1' and #replies == #events then redis.call('SET', P .. 'ok:' .. token .. ':' .. callIndex, '1', 'PX', 60000) end
return replies
