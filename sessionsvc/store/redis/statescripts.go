package redis

// The scripts of the state contract (store.State and Registry.SetProcessing).
// Like the others they take the key prefix as ARGV[1] and the caller's now as
// an argument.

// snapshotFormat is the first byte of every snapshot the update script
// writes (the 1 in its struct.pack), so that the layout can change later.
const snapshotFormat = 1

// scriptUpdateState: ARGV P, sid, category, expect, snapshots, limit, now,
// replace (1|0), nset, then nset key/value pairs, then the keys to delete.
//
// Returns {1, categoryVersion, stateVersion}, {0} when the session has no
// live record at now, {-1, currentVersion} on a version conflict, or {-2,
// bytesAfter} when the update would pass the limit. Nothing is written unless
// it returns 1.
//
// Bytes stay exact without reading values: each key's old size comes from
// HSTRLEN, and the session's running total lives in the meta hash. A write
// that does not grow the state is allowed even past the limit, so that a
// session over a lowered limit can still shrink.
//
// A snapshot is the category before the update, packed with struct:
// format byte, version and time (8 bytes each, big-endian), pair count (4),
// then each key and value as a 4-byte length and its bytes. Values are
// ciphertext, which cjson would mangle (it passes non-UTF-8 bytes through
// into JSON) and Lua has no base64; cmsgpack would need a msgpack decoder in
// Go for four fields. This layout is decoded by a few bounds-checked lines.
var scriptUpdateState = newScript(`
local sid, cat = ARGV[2], ARGV[3]
local expect, snaps, limit, now = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local replace = ARGV[8] == '1'
local nset = tonumber(ARGV[9])
local first, last = 10, 9 + 2 * nset
local rk = rkey(sid)
local r = redis.call('HMGET', rk, 'exp', 'idle', 'life', 'sx')
if not r[1] or deadline(r[1], r[2], r[3]) <= now then return {0} end
local mk = smkey(sid)
local vf = 'v:' .. cat
local m = redis.call('HMGET', mk, vf, 'sv', 'b')
local cur = tonumber(m[1] or '0')
if expect >= 0 and expect ~= cur then return {-1, cur} end
local sv, total = tonumber(m[2] or '0'), tonumber(m[3] or '0')

local sk = stkey(sid, cat)
-- size returns the length of field k's value, or nil if k is not set.
local function size(k)
  local n = redis.call('HSTRLEN', sk, k)
  if n > 0 or redis.call('HEXISTS', sk, k) == 1 then return n end
  return nil
end
local set = {}
local delta = 0
for i = first, last, 2 do
  local k, v = ARGV[i], ARGV[i + 1]
  set[k] = true
  local n = size(k)
  if n then delta = delta + #v - n else delta = delta + #k + #v end
end
-- A key both set and deleted is set.
local del, seen = {}, {}
local function drop(k)
  if set[k] or seen[k] then return end
  seen[k] = true
  local n = size(k)
  if n then
    delta = delta - #k - n
    del[#del + 1] = k
  end
end
for i = last + 1, #ARGV do drop(ARGV[i]) end
if replace then
  for _, k in ipairs(redis.call('HKEYS', sk)) do drop(k) end
end
if limit > 0 and delta > 0 and total + delta > limit then
  return {-2, total + delta}
end

local ssk = sskey(sid, cat)
local snapped = snaps > 0 and cur > 0
if snapped then
  local h = redis.call('HGETALL', sk)
  local parts = {struct.pack('>BI8I8I4', 1, cur, now, #h / 2)}
  for i = 1, #h do parts[#parts + 1] = struct.pack('>I4', #h[i]) .. h[i] end
  redis.call('LPUSH', ssk, table.concat(parts))
  redis.call('LTRIM', ssk, 0, snaps - 1)
end
for i = 1, #del, 1000 do
  redis.call('HDEL', sk, unpack(del, i, math.min(i + 999, #del)))
end
for i = first, last, 1000 do
  redis.call('HSET', sk, unpack(ARGV, i, math.min(i + 999, last)))
end
cur, sv = cur + 1, sv + 1
redis.call('HSET', mk, vf, n2s(cur), 'sv', n2s(sv), 'b', n2s(total + delta), 'lm', ARGV[7])
redis.call('HSET', rk, 'sv', n2s(sv))
-- State expires at the record's sx (see scriptCreate); a record of an
-- older version has none, and its state lives as long as the record (the
-- commit script keeps them together).
if r[4] then
  redis.call('EXPIREAT', mk, r[4])
  redis.call('EXPIREAT', sk, r[4])
  if snapped then redis.call('EXPIREAT', ssk, r[4]) end
else
  local ttl = redis.call('PTTL', rk)
  if ttl > 0 then
    redis.call('PEXPIRE', mk, ttl)
    redis.call('PEXPIRE', sk, ttl)
    if snapped then redis.call('PEXPIRE', ssk, ttl) end
  end
end
return {1, cur, sv}
`)

// scriptGetState: ARGV P, sid. Returns {record exists, ended entry exists
// (0 when the record exists: not asked), then read_state}.
var scriptGetState = newScript(`
local sid = ARGV[2]
local out = read_state(sid)
local live = redis.call('EXISTS', rkey(sid))
table.insert(out, 1, live == 1 and 0 or redis.call('EXISTS', P .. 'e:' .. sid))
table.insert(out, 1, live)
return out
`)

// scriptSetProcessing: ARGV P, sid, status, progress. Returns 1, or 0 when
// the session has no record.
var scriptSetProcessing = newScript(`
local rk = rkey(ARGV[2])
if redis.call('EXISTS', rk) == 0 then return 0 end
redis.call('HSET', rk, 'proc', ARGV[3], 'prog', ARGV[4])
return 1
`)

// scriptRecoveryPoints: ARGV P, user, now. Returns {score, HGETALL of the
// ended entry} for each recovery point whose window is open at now, dropping
// points whose entry is gone.
var scriptRecoveryPoints = newScript(`
local zk = P .. 'rp:' .. ARGV[2]
local ms = redis.call('ZRANGE', zk, '(' .. ARGV[3], '+inf', 'BYSCORE', 'WITHSCORES')
local out = {}
for i = 1, #ms, 2 do
  local h = redis.call('HGETALL', P .. 'e:' .. ms[i])
  if #h > 0 then out[#out + 1] = {ms[i + 1], h} else redis.call('ZREM', zk, ms[i]) end
end
return out
`)

// scriptClaimRecovery: ARGV P, sid, user, now. Takes the recovery point once
// (ZREM), makes the ended entry ready for cleanup at now and marks it
// claimed (for ListEnded). Returns {score, HGETALL of the ended entry}, or
// nil when there is no open point of user.
var scriptClaimRecovery = newScript(`
local sid, user, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local zk = P .. 'rp:' .. user
local sc = redis.call('ZSCORE', zk, sid)
if not sc or tonumber(sc) <= now then return false end
local ek = P .. 'e:' .. sid
local h = redis.call('HGETALL', ek)
if #h == 0 then
  redis.call('ZREM', zk, sid)
  return false
end
if redis.call('HGET', ek, 'user') ~= user then return false end
if redis.call('ZREM', zk, sid) ~= 1 then return false end
redis.call('ZADD', P .. 'ended', ARGV[4], sid)
redis.call('HSET', ek, '_claimed', '1')
return {sc, h}
`)

// scriptSaveLink: ARGV P, tokenHash, sid, user, expires, expireAt.
var scriptSaveLink = newScript(`
local k = P .. 'rl:' .. ARGV[2]
redis.call('DEL', k)
redis.call('HSET', k, 'sid', ARGV[3], 'user', ARGV[4], 'exp', ARGV[5])
redis.call('PEXPIREAT', k, ARGV[6])
return 1
`)

// scriptUseLink: ARGV P, tokenHash, now. Deletes the link and returns {sid,
// user}, or nil when it is unknown or expired at now.
var scriptUseLink = newScript(`
local k = P .. 'rl:' .. ARGV[2]
local r = redis.call('HMGET', k, 'sid', 'user', 'exp')
if not r[1] or tonumber(r[3]) <= tonumber(ARGV[3]) then return false end
redis.call('DEL', k)
return {r[1], r[2]}
`)
