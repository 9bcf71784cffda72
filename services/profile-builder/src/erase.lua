-- Erases a person: their profile state and their identity graph, atomically.
-- KEYS[1]  P ps:<id> (routing; every key shares the tenant's hash tag)
-- ARGV[1]  prefix P
-- ARGV[2]  the erasure's time (ms): the request's, kept in the marks (events ingested before it
--          are the person's leftovers)
-- ARGV[3]  mode: 'request' or 'merge'
--
-- mode 'request' (an erasure request for one profile):
--   ARGV[4]  profile id
--   ARGV[5]  when the builder applies it (ms): kept in the erasure mark (u), so that a repeated
--            request announces the erasure with the same time, the same record as the first
--   Returns the version of the erasure and the time it was applied first, separated by a space,
--   the same on a repeated request, followed by one line per
--   profile held apart from it and not erased yet (see heldApart: the caller sends each an
--   erasure request of its own); 'merged:<survivor>'; or 'absorbed' (erased earlier with the
--   profile it had been folded into: nothing to announce).
--
-- mode 'purge' (what the erasures of this tenant left to delete):
--   ARGV[4]  how many events' results to delete at most in this call
--   Deletes the results (P e:<event>) of the events queued by erasures (P pq:<id>, listed in
--   P purging), up to ARGV[4] of them; returns how many profiles still have some queued.
--
-- mode 'held' (what a merge into an erased survivor, redelivered, must still send):
--   ARGV[4]  profile id; returns heldApart of it, one per line (erases nothing).
--
-- mode 'hold' (a merge dead-lettered as MERGE_TOO_LARGE: its profiles stay apart):
--   ARGV[4]  survivor id; ARGV[5] JSON [absorbed id, ...]
--   Records the link both ways (P pd:<survivor>, P pa:<absorbed>). Returns '' when none of them
--   is erased; otherwise, as an erasure read before this link was written could not follow it,
--   the time of that erasure followed by one line per profile it must still reach.
--
-- mode 'merge' (a merge whose survivor was erased first: the absorbed profiles are the same
-- person, so they are erased too, once, like a commit of the merge):
--   ARGV[4]  merge id (added to the applied set: a redelivered merge erases and announces nothing more)
--   ARGV[5]  JSON [[absorbed id, expected version or ''], ...]
--   ARGV[6]  outbox key P ob:<input partition>; ARGV[7] outbox field; ARGV[8] the updates, encoded as in commit.lua ARGV[9]
--            (the erasure updates, kept until the transaction that publishes them committed)
--   ARGV[9]  seconds the outbox is kept after its last write
--   ARGV[10..13] the applied sets (applied.lua, which store.ts puts in front of this script)
--   ARGV[14] the erased survivor: what the absorbed profiles held apart joins its P pd:
--   ARGV[15] the erasure updates' updatedAt, kept on each absorbed profile's mark (px:<id> u)
--   Returns 'ok', 'duplicate' (merge applied before) or 'conflict' (an absorbed profile moved);
--   'ok' and 'duplicate' followed by one line per profile held apart (heldApart of the survivor).
--
-- Erasing profile <id> deletes: P ps:<id> (state), P p:<id> (the resolver's profile hash),
-- P p:<id>:ids and P p:<id>:n, P pe:<id> and the P e:<event> results it lists (more than
-- PURGE_INLINE of them: queued, P pq:<id>, and deleted by mode 'purge' calls), and per
-- identifier P i:, P sw:, P mw:, P q:, P sr: and the entries P sr: points to. It also erases every profile folded into <id> earlier
-- (its mergedFrom): their P pm:<x> link goes and they get their own erasure mark.
-- A quarantined identifier (P q: exists) is a value shared by many people, not the person's:
-- only its link (P i:) goes, and the ids of erased profiles and its '#'-entries (with their
-- P sr: records) leave its partner set (P sw:); its quarantine, other partners, merge history
-- (P mw:) and the P sr: entries naming it stay, and it gets a mark of its own, P xq:, instead
-- of the erasure mark (see quarantinedShared below).
-- What stays: P px:<id> (at, v, u: when it was erased, the erasure's version and when the
-- builder applied the request; the id is a
-- random pseudonym), per identifier not quarantined P ex:<sha1(type:value)> with the time, so that events
-- ingested before the erasure cannot recreate the person, and per quarantined one
-- P xq:<sha1(type:value)> with the time, the same for events carrying it that the resolver's
-- routing sends to no existing profile (docs/profiles.md says why these stay and what they reveal).
local P, at, mode = ARGV[1], ARGV[2], ARGV[3]

-- A script holds all of Redis while it runs. An erasure deleted every result of the profile's
-- events in its own call: about 5 µs each, 7.9 s for a profile with a million events (a week
-- of one event a second; 2026-12-07). Up to PURGE_INLINE of them go in the erasure's call;
-- more are queued whole (RENAME, constant time) and deleted PURGE_CHUNK at a time by mode
-- 'purge' calls, which store.ts makes right after the erasure, until none is left.
local PURGE_INLINE = 2000
local PURGE_CHUNK = 1000

-- Deletes the results of up to `limit` events of the (sorted, or before 2026-12-06 plain) set
-- `key`, removing them from it; returns how many it deleted.
local function purgeSome(key, limit)
  local popped
  if redis.call('TYPE', key).ok == 'set' then
    popped = redis.call('SPOP', key, limit)
  else
    local pairs_ = redis.call('ZPOPMIN', key, limit)
    popped = {}
    for j = 1, #pairs_, 2 do popped[#popped + 1] = pairs_[j] end
  end
  if #popped == 0 then return 0 end
  local keys = {}
  for j, eventId in ipairs(popped) do keys[j] = P .. 'e:' .. eventId end
  redis.call('UNLINK', unpack(keys))
  return #popped
end

-- The results of a profile's events: deleted now when they are few, otherwise queued for
-- mode 'purge' (the set keeps its expiry: by then its results have expired too).
local function purgeOrQueue(pid)
  local events = P .. 'pe:' .. pid
  local size = redis.call('TYPE', events).ok == 'set' and redis.call('SCARD', events) or redis.call('ZCARD', events)
  if size == 0 then return end
  if size <= PURGE_INLINE then
    while purgeSome(events, PURGE_CHUNK) > 0 do end
    redis.call('DEL', events)
    return
  end
  redis.call('RENAME', events, P .. 'pq:' .. pid)
  redis.call('SADD', P .. 'purging', pid)
end

-- version nil: erased with the profile it had been folded into, which announced the erasure
-- (this one announced its merge, its last update, long before).
-- applied: when the builder applied the request (mode 'request' only).
local function mark(pid, version, applied)
  redis.call('DEL', P .. 'pm:' .. pid, P .. 'p:' .. pid)
  redis.call('SREM', P .. 'live', pid)
  if applied then redis.call('HSET', P .. 'px:' .. pid, 'at', at, 'v', version, 'u', applied)
  elseif version then redis.call('HSET', P .. 'px:' .. pid, 'at', at, 'v', version)
  else redis.call('HSET', P .. 'px:' .. pid, 'at', at) end
end

-- P pd:<id>: profiles to erase with <id> that no fold reaches, because a merge dead-lettered as
-- MERGE_TOO_LARGE held them apart (docs/profiles.md "Size"): the profiles such a merge into
-- <id> named as absorbed (mode 'hold'), and, for a profile held apart itself, the survivors it
-- was held apart from (the set P pa:<id>). The same person, with states and snapshots of their
-- own. gather adds what <from> holds apart, and its survivors, to <into>'s, when <from> is
-- erased with <into>.
local function gather(into, from)
  if into ~= from then
    -- What <from> holds apart added to <into>'s, linear in <from>'s (SUNIONSTORE rewrote all of
    -- <into>'s each time: quadratic over an erasure gathering thousands; 2026-12-07).
    local members = redis.call('SMEMBERS', P .. 'pd:' .. from)
    for first = 1, #members, 1000 do
      redis.call('SADD', P .. 'pd:' .. into, unpack(members, first, math.min(first + 999, #members)))
    end
  end
  for _, partner in ipairs(redis.call('SMEMBERS', P .. 'pa:' .. from)) do
    if partner ~= into then redis.call('SADD', P .. 'pd:' .. into, partner) end
  end
end

-- Those of P pd:<pid> not erased yet, sorted. One folded into another profile since is named
-- all the same: its request is forwarded to where it was folded.
local function heldApart(pid)
  local ids = {}
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'pd:' .. pid)) do
    if id ~= pid and redis.call('EXISTS', P .. 'px:' .. id) == 0 then table.insert(ids, id) end
  end
  table.sort(ids)
  return ids
end

local function withHeldApart(first, pid)
  local reply = { first }
  for _, id in ipairs(heldApart(pid)) do table.insert(reply, id) end
  return table.concat(reply, '\n')
end

-- A quarantined value the erased profile holds (resolve.lua's super-node defence: a store's
-- phone typed in for walk-ins) is shared by many people: it does not identify this one. Until
-- 2026-12-07 the erasure deleted it like the person's own identifiers: its quarantine (the
-- resolver decides by EXISTS q:, so the value linked and over-merged again), its partner set and
-- merge history (the counts that would quarantine it again started from nothing), and it
-- wrote its erasure mark, which dropped every other person's in-flight event carrying the
-- value whole, as erased, with no dead letter. Now only what makes it this person's goes: its
-- link (P i:, the owner and the provenance of its attachment), and from its partner set (P sw:)
-- the ids of profiles that are, or are going to be, erased (`gone`: the erased profile, those
-- folded into it and those it holds apart; see goneSet), directly or through the profiles they
-- were merged into (one the resolver merged into it that the builder has not folded yet: its
-- own erasure, by the merge, finds no identifier of its own to clean), and the ids of profiles
-- erased earlier (P px:): pseudonyms of erased people, which no rewrite of the set would take
-- out (the value is counted no more, and an erased id resolves to itself); and every '#'-entry
-- (an identifier a limit kept out of every profile, seen with the value) with its P sr:
-- record: the erased person's own events may have written them (an identifier they gave that
-- their profile's limit kept out), and which entry came from whose event is not kept. The
-- value's partner set is not counted while it is quarantined; released by hand, it counts
-- again from what is left. The quarantine, the other partners (other people's profile ids),
-- the merge history and the P '#'-entries naming the value in others' partner sets (its P sr:)
-- stay: they are about the value. No erasure mark (P ex:): it dropped every in-flight event
-- carrying the value, whoever's. A mark of its own instead, P xq:<sha1(type:value)> with the
-- time: resolve.lua drops an event ingested before it that carries the value (while it is
-- quarantined) and that its routing (selection, limits and the merge-rate quarantine) sends to no existing profile, as
-- the erased person's leftover (their in-flight event with the value and an identifier the
-- graph did not know yet created a profile, the person back, as the marks of their own
-- identifiers were not on it), and lets one routed to a live profile go on to that profile.
-- Takes out of <member>'s partner set (P sw:) its '#'-entries, identifiers of others a limit
-- kept out of every profile, and <member> from each one's record (P sr:, which names it by
-- value); returns the set's other partners, profile ids.
local function dropSeenEntries(member, partners)
  local profiles = {}
  for _, partner in ipairs(redis.call('SMEMBERS', partners)) do
    if string.sub(partner, 1, 1) == '#' then
      redis.call('SREM', P .. 'sr:' .. string.sub(partner, 2), member)
      redis.call('SREM', partners, partner)
    else
      table.insert(profiles, partner)
    end
  end
  return profiles
end

local function quarantinedShared(member, gone)
  redis.call('DEL', P .. 'i:' .. member)
  redis.call('SET', P .. 'xq:' .. redis.sha1hex(member), at)
  local partners = P .. 'sw:' .. member
  for _, partner in ipairs(dropSeenEntries(member, partners)) do
    -- The profile it stands for today: merged ones point at their survivor (P p: mergedInto;
    -- the hash of an erased profile is deleted, so the walk stops there).
    local erased = gone[partner] or redis.call('EXISTS', P .. 'px:' .. partner) == 1
    local current = partner
    for _ = 1, 1000 do
      if erased then break end
      current = redis.call('HGET', P .. 'p:' .. current, 'mergedInto')
      if not current then break end
      erased = gone[current] or redis.call('EXISTS', P .. 'px:' .. current) == 1
    end
    if erased then redis.call('SREM', partners, partner) end
  end
end

-- The profiles erased with <pid> (`selves`: it and those folded into it) and those it holds
-- apart (P pd:<pid>, gathered already: each gets an erasure request of its own), as a set.
local function goneSet(pid, selves)
  local gone = {}
  for _, id in ipairs(selves) do gone[id] = true end
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'pd:' .. pid)) do gone[id] = true end
  return gone
end

local function erase(pid, version, applied)
  gather(pid, pid)
  local selves = { pid }
  local stored = redis.call('HGET', P .. 'ps:' .. pid, 's')
  if stored then
    local ok, state = pcall(cjson.decode, stored)
    -- Profiles folded into this one earlier: the same person. Their link goes; their own mark
    -- keeps their in-flight touchpoints from recreating them. What they held apart joins this
    -- profile's P pd: (kept, like the erasure mark, so that a repeated request finds it).
    if ok and type(state) == 'table' and type(state.mergedFrom) == 'table' then
      for _, absorbed in ipairs(state.mergedFrom) do
        if redis.call('EXISTS', P .. 'px:' .. absorbed) == 0 then mark(absorbed, nil) end
        gather(pid, absorbed)
        table.insert(selves, absorbed)
      end
    end
  end
  local gone
  for _, member in ipairs(redis.call('SMEMBERS', P .. 'p:' .. pid .. ':ids')) do
    if redis.call('EXISTS', P .. 'q:' .. member) == 1 then
      gone = gone or goneSet(pid, selves)
      quarantinedShared(member, gone)
    else
      -- Not quarantined: as far as the graph knows, the person's own value, even one seen with
      -- a few other profiles below the thresholds. It goes with them: its partner set and
      -- merge history (counting starts again should it be shared), and its erasure mark drops
      -- the in-flight events carrying it, the person's and any other's, ingested before now.
      -- Seen, before this profile held it, with values of other profiles while a limit kept it
      -- out of every profile: their partner sets name it by its value (resolve.lua, sr:).
      local seenWith = P .. 'sr:' .. member
      for _, other in ipairs(redis.call('SMEMBERS', seenWith)) do redis.call('SREM', P .. 'sw:' .. other, '#' .. member) end
      -- And its own partner set names such identifiers of others, whose sr: names it by value.
      local partners = P .. 'sw:' .. member
      dropSeenEntries(member, partners)
      redis.call('DEL', P .. 'i:' .. member, partners, P .. 'mw:' .. member, seenWith)
      redis.call('SET', P .. 'ex:' .. redis.sha1hex(member), at)
    end
  end
  -- The profile's events: a sorted set, or a plain set written before 2026-12-06.
  purgeOrQueue(pid)
  redis.call('DEL', P .. 'p:' .. pid .. ':ids', P .. 'p:' .. pid .. ':n', P .. 'ps:' .. pid)
  mark(pid, version, applied)
end

if mode == 'request' then
  local pid, applied = ARGV[4], ARGV[5]
  local survivor = redis.call('GET', P .. 'pm:' .. pid)
  if survivor then return 'merged:' .. survivor end
  local version
  if redis.call('EXISTS', P .. 'px:' .. pid) == 1 then
    local marked = redis.call('HMGET', P .. 'px:' .. pid, 'v', 'u')
    version = marked[1]
    if not version then return 'absorbed' end
    -- A mark written before 2026-12-07, or by an erasure through a merge, has no time: this one.
    if marked[2] then applied = marked[2] else redis.call('HSET', P .. 'px:' .. pid, 'u', applied) end
    gather(pid, pid)
  else
    local last = redis.call('HGET', P .. 'ps:' .. pid, 'v')
    version = last and tostring(tonumber(last) + 1) or '1'
    erase(pid, version, applied)
  end
  return withHeldApart(version .. ' ' .. applied, pid)
end

if mode == 'held' then return withHeldApart('', ARGV[4]) end

if mode == 'purge' then
  local left = tonumber(ARGV[4])
  for _, pid in ipairs(redis.call('SMEMBERS', P .. 'purging')) do
    local queued = P .. 'pq:' .. pid
    while left > 0 do
      local deleted = purgeSome(queued, math.min(left, PURGE_CHUNK))
      if deleted == 0 then break end
      left = left - deleted
    end
    if redis.call('EXISTS', queued) == 0 then redis.call('SREM', P .. 'purging', pid) end
    if left <= 0 then break end
  end
  return redis.call('SCARD', P .. 'purging')
end

if mode == 'hold' then
  local survivor = ARGV[4]
  local absorbed = cjson.decode(ARGV[5])
  for _, id in ipairs(absorbed) do
    redis.call('SADD', P .. 'pd:' .. survivor, id)
    redis.call('SADD', P .. 'pa:' .. id, survivor)
  end
  -- The merge was loaded before this: an erasure applied since, on another partition, did not
  -- see the link. The survivor erased: the absorbed ones not erased are still to go. One of
  -- the absorbed erased: the survivor is (its erasure gathers the others).
  local erasedAt = redis.call('HGET', P .. 'px:' .. survivor, 'at')
  if erasedAt then return withHeldApart(erasedAt, survivor) end
  for _, id in ipairs(absorbed) do
    erasedAt = redis.call('HGET', P .. 'px:' .. id, 'at')
    if erasedAt then return erasedAt .. '\n' .. survivor end
  end
  return ''
end

if mode == 'merge' then
  local sets = appliedSets(P, 10)
  local survivor = ARGV[14]
  if anyApplied(sets, { ARGV[4] }) then return withHeldApart('duplicate', survivor) end
  local absorbed = cjson.decode(ARGV[5])
  for _, entry in ipairs(absorbed) do
    local id = entry[1]
    if redis.call('EXISTS', P .. 'pm:' .. id) == 1 or redis.call('EXISTS', P .. 'px:' .. id) == 1 then return 'conflict' end
    if (redis.call('HGET', P .. 'ps:' .. id, 'v') or '') ~= entry[2] then return 'conflict' end
  end
  for _, entry in ipairs(absorbed) do
    local expected = entry[2]
    -- The erasure updates' time (ARGV[15]) on each mark: a later request publishes the same record.
    erase(entry[1], expected == '' and '1' or tostring(tonumber(expected) + 1), ARGV[15])
    gather(survivor, entry[1])
  end
  addApplied(sets, { ARGV[4] })
  if ARGV[8] ~= '' then
    redis.call('HSET', ARGV[6], ARGV[7], ARGV[8])
    redis.call('EXPIRE', ARGV[6], tonumber(ARGV[9]))
  end
  return withHeldApart('ok', survivor)
end

return redis.error_reply('ERASE_MODE unknown mode ' .. tostring(mode))
