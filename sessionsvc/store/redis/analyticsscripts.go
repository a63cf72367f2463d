package redis

// The scripts of the analytics contract (store.Analytics). Like the others
// they take the key prefix as ARGV[1] and the caller's times as arguments; the
// real now they need for TTL bookkeeping is computed in Go.

// scriptNoteStart: ARGV P, day, hour, user, now (ms), bucket TTL (ms).
//
// Counts the start in the day and hour buckets, adds user to the day's
// HyperLogLog and raises each bucket's peak to the live sessions at now (the
// per-role deadline indexes after now, which include the session just
// created). The count and the raise run in one script, so of 50 concurrent
// starts the last one sees all 50 and none can lower what another wrote.
var scriptNoteStart = newScript(`
local day, hour, user, now, ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local live = live_count('', now)
local function note(k)
  redis.call('HINCRBY', k, 'created', 1)
  local peak = tonumber(redis.call('HGET', k, 'peak') or '0')
  if live > peak then redis.call('HSET', k, 'peak', live) end
  redis.call('PEXPIRE', k, ttl)
end
if day ~= '' then
  note(P .. 'ad:' .. day)
  if user ~= '' then
    local uk = P .. 'uu:' .. day
    redis.call('PFADD', uk, user)
    redis.call('PEXPIRE', uk, ttl)
  end
end
if hour ~= '' then note(P .. 'ah:' .. hour) end
return live
`)

// scriptAppendEvents: ARGV P, session TTL (ms), timeline cap, bucket TTL
// (ms), the number of sessions, then per session: sid, n, the increments of
// counterFields, first and last event time (ms) and its n encoded events in
// batch order; then the number of buckets, and per bucket: kind ('ad' or
// 'ah'), name and the increments of bucketIncrFields.
//
// Per session it runs the events HINCRBY, one HINCRBY per other counter
// that changed, one HSET (first as well when the counters are new), LPUSH
// (in chunks: unpack is bounded by the Lua stack), LTRIM only when the list
// outgrew the cap, and PEXPIRE of both keys; per bucket one HINCRBY per
// field that changed and a PEXPIRE.
var scriptAppendEvents = newScript(`
local ttl, cap, bttl = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local CF = ` + luaStringList(counterFields) + `
local BF = ` + luaStringList(bucketIncrFields) + `
local i = 6
for _ = 1, tonumber(ARGV[5]) do
  local sid, n = ARGV[i], tonumber(ARGV[i + 1])
  local ev, ec = P .. 'ev:' .. sid, P .. 'ec:' .. sid
  i = i + 2
  local total = redis.call('HINCRBY', ec, CF[1], ARGV[i])
  for j = 2, #CF do
    local v = ARGV[i + j - 1]
    if v ~= '0' then redis.call('HINCRBY', ec, CF[j], v) end
  end
  i = i + #CF
  if total == n then
    redis.call('HSET', ec, 'first', ARGV[i], 'last', ARGV[i + 1])
  else
    redis.call('HSET', ec, 'last', ARGV[i + 1])
  end
  i = i + 2
  local last, len = i + n - 1, 0
  for j = i, last, 1000 do len = redis.call('LPUSH', ev, unpack(ARGV, j, math.min(j + 999, last))) end
  if len > cap then redis.call('LTRIM', ev, 0, cap - 1) end
  i = last + 1
  redis.call('PEXPIRE', ev, ttl)
  redis.call('PEXPIRE', ec, ttl)
end
local nb = tonumber(ARGV[i])
i = i + 1
for _ = 1, nb do
  local k = P .. ARGV[i] .. ':' .. ARGV[i + 1]
  i = i + 2
  for j = 1, #BF do
    if ARGV[i] ~= '0' then redis.call('HINCRBY', k, BF[j], ARGV[i]) end
    i = i + 1
  end
  redis.call('PEXPIRE', k, bttl)
end
return 1
`)

// counterFields are the counters AppendEvents increments, in the order of
// sessionBatch.incr; events comes first, since its new value tells the
// script whether the counters are new.
var counterFields = []string{ecEvents, ecPageViews, ecAPICalls, ecUploads, ecAnalyses, ecComments}

// bucketIncrFields are the bucket fields events increment, in the order of
// bucketBatch.incr.
var bucketIncrFields = []string{bkPageViews, bkAnalyses, bkAPICalls}

// Audit keys (under the prefix P):
//
//	P au:{id}       one entry (hash, auditFields), TTL retention
//	P audit         every entry's id (sorted set, all scores 0, walked by lex)
//	P audit:x       every entry's id by its expiry (sorted set, unix ms)
//	P audit:seq     the counter that orders entries of one millisecond
//
// An id is the entry's At in unix ms, 13 digits, a dash and a sequence
// number of 12 digits: ids sort by time, then by append order, as strings.
// So the index can be one sorted set ordered by member (ZREVRANGEBYLEX):
// a cursor is the last id of a page and the next page starts strictly
// below it, without skipping over entries of the same millisecond, and a
// time range is a range of id prefixes.
//
// The index is pruned by the expiry set, not by At: an entry lives retention
// after it was written on the server's clock, whatever time it carries, so
// the index drops exactly the entries whose hash has expired. Each append
// removes up to auditPruneBatch expired ids, more than the one it adds.

// scriptAppendAudit: ARGV P, at (ms), ttl (ms), real now (ms), then the
// values of auditFields after at (actor, ip, action, target, reason,
// result, affected, completed).
//
// Returns the new entry's id.
var scriptAppendAudit = newScript(`
local at, ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local seq = redis.call('INCR', P .. 'audit:seq')
local id = string.format('%013d-%012d', at, seq)
local k = P .. 'au:' .. id
redis.call('HSET', k, 'at', ARGV[2], 'actor', ARGV[5], 'ip', ARGV[6], 'action', ARGV[7],
  'target', ARGV[8], 'reason', ARGV[9], 'result', ARGV[10], 'n', ARGV[11], 'done', ARGV[12])
redis.call('PEXPIRE', k, ttl)
local idx, xidx = P .. 'audit', P .. 'audit:x'
redis.call('ZADD', idx, 0, id)
redis.call('ZADD', xidx, n2s(now + ttl), id)
local old = redis.call('ZRANGEBYSCORE', xidx, '-inf', n2s(now), 'LIMIT', 0, ` + auditPruneBatch + `)
if #old > 0 then
  redis.call('ZREM', idx, unpack(old))
  redis.call('ZREM', xidx, unpack(old))
end
return id
`)

const auditPruneBatch = "100"

// scriptCompleteAudit: ARGV P, id, result, affected, completed (ms). Writes
// the outcome only if the entry still exists, so a late completion never
// brings back an expired entry without its TTL. Returns 1 or 0.
var scriptCompleteAudit = newScript(`
local k = P .. 'au:' .. ARGV[2]
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('HSET', k, 'result', ARGV[3], 'n', ARGV[4], 'done', ARGV[5])
return 1
`)

// scriptQueryAudit: ARGV P, hi, lo (ZREVRANGEBYLEX bounds), actor, action,
// target (” does not filter), want, budget.
//
// Walks the index from hi down to lo, reading each entry and keeping those
// that match, until it has kept want entries or looked at budget ids.
// Returns {resume, id, fields..., id, fields...} with the entries in order
// and their auditFields values; resume is the last id looked at, or ” when
// the range is exhausted. Ids whose entry has expired are skipped.
var scriptQueryAudit = newScript(`
local AF = ` + luaStringList(auditFields) + `
local idx = P .. 'audit'
local hi, lo = ARGV[2], ARGV[3]
local actor, action, target = ARGV[4], ARGV[5], ARGV[6]
local want, budget = tonumber(ARGV[7]), tonumber(ARGV[8])
local out = {''}
local found, scanned = 0, 0
while true do
  local ids = redis.call('ZREVRANGEBYLEX', idx, hi, lo, 'LIMIT', 0, 128)
  for _, id in ipairs(ids) do
    scanned = scanned + 1
    local k = P .. 'au:' .. id
    -- Only the filtered fields while walking; the whole entry for a match.
    local f = redis.call('HMGET', k, 'at', 'actor', 'action', 'target')
    if f[1] and (actor == '' or f[2] == actor) and (action == '' or f[3] == action)
        and (target == '' or f[4] == target) then
      found = found + 1
      out[#out + 1] = id
      local v = redis.call('HMGET', k, unpack(AF))
      for i = 1, #v do out[#out + 1] = v[i] or '' end
      if found >= want then out[1] = id; return out end
    end
    if scanned >= budget then out[1] = id; return out end
  end
  if #ids < 128 then return out end
  hi = '(' .. ids[#ids]
end
`)

// auditFields are the fields of an entry hash, in the order the query script
// returns them.
var auditFields = []string{"at", "actor", "ip", "action", "target", "reason", "result", "n", "done"}
