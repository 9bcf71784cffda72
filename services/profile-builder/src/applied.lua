-- The applied sets, shared by commit.lua and erase.lua (store.ts puts this in front of each).
-- The ids of applied touchpoints and merges are kept per generation of APPLIED_TTL_SECONDS:
-- P applied:<n> (store.ts names the current and previous generation's sets); an id is looked
-- up in both, and in P applied, the single set written before generations (2026-12-06), while
-- it exists. Its arguments, ARGV[first .. first + 3]: the current generation's set, the
-- previous one's, when the current one may go (unix ms: the end of generation n+1), and the
-- old set's time to live (ms), given to it once, by the first write after the upgrade.
local function appliedSets(prefix, first)
  local sets = { current = ARGV[first], expireAt = ARGV[first + 2], legacyTtl = ARGV[first + 3], legacy = prefix .. 'applied' }
  sets.read = { sets.current, ARGV[first + 1] }
  if redis.call('EXISTS', sets.legacy) == 1 then sets.read[3] = sets.legacy else sets.legacy = nil end
  return sets
end

-- Ids go CHUNK at a time into a command: one command per set and chunk, not per id (unpack's
-- arguments go on Lua's C stack, which holds about 8,000).
local APPLIED_CHUNK = 1000
local function eachChunk(ids, fn)
  for first = 1, #ids, APPLIED_CHUNK do fn(unpack(ids, first, math.min(first + APPLIED_CHUNK - 1, #ids))) end
end

-- Whether any of `ids` was applied (in a generation looked up).
local function anyApplied(sets, ids)
  local seen = false
  for _, set in ipairs(sets.read) do
    eachChunk(ids, function(...)
      for _, flag in ipairs(redis.call('SMISMEMBER', set, ...)) do
        if flag == 1 then seen = true end
      end
    end)
    if seen then return true end
  end
  return false
end

-- Adds `ids` to the current generation, which then expires at its time (set once: NX).
local function addApplied(sets, ids)
  if #ids == 0 then return end
  eachChunk(ids, function(...) redis.call('SADD', sets.current, ...) end)
  redis.call('PEXPIREAT', sets.current, sets.expireAt, 'NX')
  if sets.legacy then redis.call('PEXPIRE', sets.legacy, sets.legacyTtl, 'NX') end
end

