package redis

import (
	"strconv"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// The Lua scripts below are the store's atomic operations. Every script takes
// the key prefix as ARGV[1] and builds its key names from it, so they run on a
// single Redis server (or a primary with replicas), not on Redis Cluster.
//
// Scripts never read Redis TIME: the caller's now is an argument, so tests can
// move time. Real time enters only as TTL safety nets computed in Go.

// luaPrelude is shared by every script: key helpers, the record field list
// and the one way to end a session.
var luaPrelude = `
local P = ARGV[1]
local F = ` + luaStringList(recordFields) + `
local FDEF = ` + luaStringMap(recordDefaults) + `
local UAPART = ` + strconv.Itoa(uaPart) + `
-- BLOBF are the fields of an ended entry that hold its blob in parts of at
-- most UAPART bytes (see blobParts).
local BLOBF = ` + luaStringList(blobFieldNames()) + `
local FI = ` + luaIndexMap(recordFields) + `
local function n2s(x) return string.format('%d', x) end
local function rkey(sid) return P .. 's:' .. sid end
local function bkey(th) return P .. 'b:' .. th end
local function rix(kind, role) return P .. 'ix:' .. kind .. ':r:' .. role end
-- roles_of is {role}, or every role ever indexed when role is '': the live
-- indexes are per role only, so every query without a role filter reads
-- (and merges) each role's index.
local function roles_of(role)
  if role ~= '' then return {role} end
  return redis.call('SMEMBERS', P .. 'roles')
end
-- live_count counts the sessions of role (every role if '') whose deadline
-- is after now.
local function live_count(role, now)
  local n = 0
  for _, r in ipairs(roles_of(role)) do
    n = n + redis.call('ZCOUNT', rix('dl', r), '(' .. n2s(tonumber(now)), '+inf')
  end
  return n
end
local function ukey(user) return P .. 'u:' .. user end
-- bytelt compares strings by bytes, as sorted sets order members; Lua's <
-- follows the server's collation locale.
local function bytelt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function deadline(exp, idle, life)
  return math.min(tonumber(exp), tonumber(idle), tonumber(life))
end

-- State keys: one hash per category, one snapshot list per category and the
-- meta hash (category versions, state version, last modified, bytes).
local CATS = ` + luaStringList(store.Categories) + `
-- CATV are the meta hash's version fields of CATS: a category's hash and
-- snapshots exist only once its version does.
local CATV = ` + luaStringList(prefixed("v:", store.Categories)) + `
local function stkey(sid, cat) return P .. 'st:' .. sid .. ':' .. cat end
local function sskey(sid, cat) return P .. 'ss:' .. sid .. ':' .. cat end
local function smkey(sid) return P .. 'sm:' .. sid end
local function state_keys(sid)
  local ks = {smkey(sid)}
  for _, c in ipairs(CATS) do
    ks[#ks + 1] = stkey(sid, c)
    ks[#ks + 1] = sskey(sid, c)
  end
  return ks
end
-- expire_state applies how (PEXPIRE or PEXPIREAT) with ms to every state key
-- of sid; missing keys make it a no-op for them.
local function expire_state(sid, how, ms)
  for _, k in ipairs(state_keys(sid)) do redis.call(how, k, ms) end
end
-- read_state returns the meta hash and each category hash (HGETALL replies,
-- in CATS order) of sid.
local function read_state(sid)
  local meta = redis.call('HGETALL', smkey(sid))
  local has = {}
  for i = 1, #meta, 2 do has[meta[i]] = true end
  local out = {meta}
  -- A category without a version has no hash: no call for it.
  for i, c in ipairs(CATS) do
    out[#out + 1] = has[CATV[i]] and redis.call('HGETALL', stkey(sid, c)) or {}
  end
  return out
end
-- drop_ended removes an ended session's entry, state, snapshots and recovery
-- point. user may be false when the entry is already gone.
local function drop_ended(sid, user)
  redis.call('DEL', P .. 'e:' .. sid, unpack(state_keys(sid)))
  redis.call('ZREM', P .. 'ended', sid)
  if user then redis.call('ZREM', P .. 'rp:' .. user, sid) end
end

-- The ended lists of ListEnded: every ended session, held or archived,
-- until Purge or its archive's retention unlists it, scored by its end
-- (unix ms): overall, per user, per reason, the recovery points overall
-- and per reason; the archives by the end of their retention (ret); and
-- who, sid -> 'reason user', so that any path can unlist a session whose
-- data is gone (reasons have no spaces).
local function xkey(s) return P .. 'x:end' .. s end
-- unlist removes sid from every ended list.
local function unlist(sid)
  local wk = xkey(':who')
  local w = redis.call('HGET', wk, sid)
  redis.call('ZREM', xkey(''), sid)
  redis.call('ZREM', xkey(':rp'), sid)
  redis.call('ZREM', xkey(':ret'), sid)
  if w then
    local sp = string.find(w, ' ', 1, true)
    local reason, user = string.sub(w, 1, sp - 1), string.sub(w, sp + 1)
    redis.call('ZREM', xkey(':u:' .. user), sid)
    redis.call('ZREM', xkey(':r:' .. reason), sid)
    redis.call('ZREM', xkey(':rp:' .. reason), sid)
    redis.call('HDEL', wk, sid)
  end
end
-- zadd_pairs adds the flat score/member list z to key, 500 pairs a call.
local function zadd_pairs(key, z)
  for i = 1, #z, 1000 do
    redis.call('ZADD', key, unpack(z, i, math.min(i + 999, #z)))
  end
end
-- add_pair appends a pair to the flat list t[k], creating it.
local function add_pair(t, k, a, b)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = a
  l[#l + 1] = b
end

-- index puts sid into every index it belongs to.
local function index(sid, role, user, act, cre, dl)
  redis.call('ZADD', rix('act', role), act, sid)
  redis.call('ZADD', rix('cre', role), cre, sid)
  redis.call('ZADD', rix('dl', role), dl, sid)
  redis.call('ZADD', ukey(user), act, sid)
  redis.call('SADD', P .. 'roles', role)
end

-- forget removes a sid whose record is gone (its safety-net TTL fired before
-- cleanup ended it) from the indexes of every role ever seen.
local function forget(sid)
  for _, role in ipairs(redis.call('SMEMBERS', P .. 'roles')) do
    redis.call('ZREM', rix('act', role), sid)
    redis.call('ZREM', rix('cre', role), sid)
    redis.call('ZREM', rix('dl', role), sid)
  end
end

local function new_acc()
  return {n = 0, sids = {}, ready = {}, rpf = {}, roles = {}, users = {}, x = {}, xr = {}, tail = {}}
end

-- xlist returns the pairs to add to the ended list of suffix k, creating it.
local function xlist(acc, k)
  local l = acc.x[k]
  if not l then l = {}; acc.x[k] = l end
  return l
end

-- end_batch ends the sessions named in sids that have a record (reason is
-- one reason for all, or a table sid -> reason): for each it renames the
-- record into the ended holding area (kept endedTTL ms) and adds how it
-- ended and the blob, writes the tombstone (kept keep ms) and deletes the
-- blob. The session's state stays, since recovery and the archive read it:
-- its keys already expire at the record's sx (see scriptCreate), and only
-- when that is before stateAt (the ended entry's expiry, unix ms: a record
-- of an older version without sx, a recovery window made longer since the
-- session began, or touches past its lifetime) does their TTL move to
-- endedTTL like the entry's. Unless the reason is logout, the session
-- becomes a recovery point of its user until at+keep, and it is ready for
-- cleanup then; a logout is ready at once.
--
-- What is keyed by session costs one call per key: HMGET of the record,
-- RENAME, HSET and PEXPIRE of the entry, SET of the tombstone, and, only
-- in the cases above, for a session with state one HMGET of its meta and a
-- PEXPIRE of each state key that can exist. The blobs are read by one MGET and deleted by one DEL
-- per 500 sessions; what is keyed by user, role or list is collected in acc
-- and written by flush_ended, one call per key for the batch. With tombs
-- it returns the tombstone fields {sid, th, user, reason, actor, note, at}
-- of each session it ended, in the order of sids.
local function end_batch(sids, reason, actor, note, at, keep, endedTTL, stateAt, acc, tombs)
  local got, gs, rks, seen = {}, {}, {}, {}
  for _, sid in ipairs(sids) do
    if not seen[sid] then
      seen[sid] = true
      local rk = rkey(sid)
      local r = redis.call('HMGET', rk, 'th', 'user', 'role', 'sv', 'sx')
      if r[1] then
        got[#got + 1] = r
        gs[#gs + 1] = sid
        rks[#rks + 1] = rk
      end
    end
  end
  local out = {}
  if #got == 0 then return out end
  local blobs, found = {}, {}
  for i = 1, #got, 500 do
    local bks = {}
    for j = i, math.min(i + 499, #got) do bks[#bks + 1] = bkey(got[j][1]) end
    local part = redis.call('MGET', unpack(bks))
    for j = 1, #part do
      if part[j] then
        blobs[i + j - 1] = part[j]
        found[#found + 1] = bks[j]
      end
    end
  end
  acc.at, acc.endedTTL = at, endedTTL
  local rs = n2s(tonumber(at) + keep)
  local who, all = xlist(acc, ':who'), xlist(acc, '')
  for i, r in ipairs(got) do
    local sid, th, user, role, sv, sx = gs[i], r[1], r[2], r[3], r[4], r[5]
    local why = reason
    if type(reason) == 'table' then why = reason[sid] end
    if sv and sv ~= '0' and not (sx and tonumber(sx) * 1000 >= stateAt) then
      local mk = smkey(sid)
      local v = redis.call('HMGET', mk, unpack(CATV))
      redis.call('PEXPIRE', mk, endedTTL)
      for c = 1, #CATS do
        if v[c] then
          redis.call('PEXPIRE', stkey(sid, CATS[c]), endedTTL)
          redis.call('PEXPIRE', sskey(sid, CATS[c]), endedTTL)
        end
      end
    end
    local n = acc.n + 1
    acc.n = n
    acc.sids[n] = sid
    local u = acc.users[user]
    if not u then acc.users[user] = n
    elseif type(u) == 'number' then acc.users[user] = {u, n}
    else u[#u + 1] = n end
    local rl = acc.roles[role]
    if not rl then rl = {}; acc.roles[role] = rl end
    rl[#rl + 1] = sid
    local xr = acc.xr[why]
    if not xr then
      xr = {xlist(acc, ':r:' .. why), xlist(acc, ':rp'), xlist(acc, ':rp:' .. why)}
      acc.xr[why] = xr
    end
    all[#all + 1] = at
    all[#all + 1] = sid
    who[#who + 1] = sid
    who[#who + 1] = why .. ' ' .. user
    local l = xr[1]
    l[#l + 1] = at
    l[#l + 1] = sid
    local ek = P .. 'e:' .. sid
    redis.call('RENAME', rks[i], ek)
    local h = {'_reason', why, '_actor', actor, '_note', note, '_at', at}
    if why ~= 'logout' and keep > 0 then
      acc.ready[n] = rs
      acc.rpf[n] = true
      l = xr[2]
      l[#l + 1] = at
      l[#l + 1] = sid
      l = xr[3]
      l[#l + 1] = at
      l[#l + 1] = sid
      h[9], h[10] = '_ru', rs
    else
      acc.ready[n] = at
    end
    -- The blob goes in parts that keep the entry a listpack hash, as the
    -- record was, unless it is too long for that.
    local blob = blobs[i]
    if blob and #blob > #BLOBF * UAPART then
      h[#h + 1] = '_blob'
      h[#h + 1] = blob
    elseif blob then
      for p = 1, math.max(1, math.ceil(#blob / UAPART)) do
        h[#h + 1] = BLOBF[p]
        h[#h + 1] = string.sub(blob, (p - 1) * UAPART + 1, p * UAPART)
      end
    end
    redis.call('HSET', ek, unpack(h))
    redis.call('PEXPIRE', ek, endedTTL)
    if keep > 0 then
      local tail = acc.tail[why]
      if not tail then
        tail = ',' .. string.sub(cjson.encode({reason = why, actor = actor, note = note, at = at}), 2)
        acc.tail[why] = tail
      end
      redis.call('SET', P .. 't:' .. th, '{"sid":' .. cjson.encode(sid) .. ',"th":' .. cjson.encode(th) ..
        ',"user":' .. cjson.encode(user) .. tail, 'PX', keep)
    end
    if tombs then out[#out + 1] = {sid, th, user, why, actor, note, at} end
  end
  for i = 1, #found, 500 do
    redis.call('DEL', unpack(found, i, math.min(i + 499, #found)))
  end
  return out
end

-- zrem_all removes members from key, in slices small enough for unpack.
local function zrem_all(key, members)
  for i = 1, #members, 1000 do
    redis.call('ZREM', key, unpack(members, i, math.min(i + 999, #members)))
  end
end

-- flush_ended removes the sessions that end_batch ended from the role and
-- user indexes and adds them to the ended index, scored by the
-- time each is ready for cleanup, to their users' recovery points and to
-- the ended lists: one call per key for the batch (a user with one session
-- in it costs no table). It extends the TTL of each recovery-point index it
-- added to, never shortening it.
local function flush_ended(acc)
  if acc.n == 0 then return end
  for k, z in pairs(acc.x) do
    if k == ':who' then
      for i = 1, #z, 1000 do
        redis.call('HSET', xkey(k), unpack(z, i, math.min(i + 999, #z)))
      end
    elseif #z > 0 then
      zadd_pairs(xkey(k), z)
    end
  end
  local at, ttl, sids, ready, rpf = acc.at, acc.endedTTL, acc.sids, acc.ready, acc.rpf
  for user, u in pairs(acc.users) do
    local uk, xk, pk = ukey(user), xkey(':u:' .. user), P .. 'rp:' .. user
    local rp = false
    if type(u) == 'number' then
      local sid = sids[u]
      redis.call('ZREM', uk, sid)
      redis.call('ZADD', xk, at, sid)
      if rpf[u] then
        redis.call('ZADD', pk, ready[u], sid)
        rp = true
      end
    else
      local us, ux, ur = {}, {}, {}
      for _, i in ipairs(u) do
        us[#us + 1] = sids[i]
        ux[#ux + 1] = at
        ux[#ux + 1] = sids[i]
        if rpf[i] then
          ur[#ur + 1] = ready[i]
          ur[#ur + 1] = sids[i]
        end
      end
      zrem_all(uk, us)
      zadd_pairs(xk, ux)
      if #ur > 0 then
        zadd_pairs(pk, ur)
        rp = true
      end
    end
    if rp and redis.call('PTTL', pk) < ttl then redis.call('PEXPIRE', pk, ttl) end
  end
  for role, rs in pairs(acc.roles) do
    zrem_all(rix('act', role), rs)
    zrem_all(rix('cre', role), rs)
    zrem_all(rix('dl', role), rs)
  end
  for i = 1, acc.n, 500 do
    local z = {}
    for j = i, math.min(i + 499, acc.n) do
      z[#z + 1] = ready[j]
      z[#z + 1] = sids[j]
    end
    redis.call('ZADD', P .. 'ended', unpack(z))
  end
end
`

func newScript(body string) *redigo.Script {
	return redigo.NewScript(0, luaPrelude+body)
}

// scriptCreate: ARGV P, now, max, keep, endedTTL, expireAt, stateAt,
// stateExpireAt, then the record's values in recordFields order. Returns
// the tombstones of the sessions it ended, or an error reply if the sid
// exists.
//
// The record keeps stateExpireAt (unix seconds, rounded up: 5 bytes in a
// listpack instead of 9) as its sx field (not in recordFields): every
// state key of the session expires then (UpdateState writes it with
// EXPIREAT sx), which is after the record's own safety net and after the
// ended entry's if the session ends before its lifetime plus Grace with a
// recovery window no longer than keep. So neither a touch nor the end has
// to move the state's TTL; a touch that pushes the record's expiry past sx
// (past its lifetime, with a skewed clock) raises sx and the state's TTL.
var scriptCreate = newScript(`
local now = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local endedTTL = tonumber(ARGV[5])
local expireAt = ARGV[6]
local stateAt = tonumber(ARGV[7])
local sx = ARGV[8]
local v = {}
for i, f in ipairs(F) do v[f] = ARGV[8 + i] end
local sid, user, role = v['sid'], v['user'], v['role']
local rk = rkey(sid)
if redis.call('EXISTS', rk) == 1 then
  return redis.error_reply('EXISTS session already exists')
end
local live = {}
local due, why = {}, {}
local acc = new_acc()
local uk = ukey(user)
for _, m in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  local r = redis.call('HMGET', rkey(m), 'act', 'cre', 'exp', 'idle', 'life')
  if not r[1] then
    redis.call('ZREM', uk, m)
    forget(m)
  else
    local act, cre = tonumber(r[1]), tonumber(r[2])
    local exp, idle, life = tonumber(r[3]), tonumber(r[4]), tonumber(r[5])
    local reason = nil
    if now >= life then reason = 'lifetime'
    elseif now >= idle then reason = 'idle'
    elseif now >= exp then reason = 'expired' end
    if reason then
      due[#due + 1] = m
      why[m] = reason
    else
      live[#live + 1] = {m, act, cre}
    end
  end
end
if max > 0 and #live >= max then
  table.sort(live, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    if a[3] ~= b[3] then return a[3] < b[3] end
    return bytelt(a[1], b[1])
  end)
  local i = 1
  while #live - i + 1 >= max do
    due[#due + 1] = live[i][1]
    why[live[i][1]] = 'evicted'
    i = i + 1
  end
end
local ended = end_batch(due, why, 'system', '', ARGV[2], keep, endedTTL, stateAt, acc, true)
flush_ended(acc)
-- Leave out what the record would repeat or hold as a default (see
-- recordFields): a missing fip reads as lip, a missing fua as the last
-- user agent, a missing auth as cre.
local skip = {}
if v['fip'] == v['lip'] then skip['fip'] = true end
if v['auth'] == v['cre'] then skip['auth'] = true end
if v['fua'] == v['lua'] and v['fua2'] == v['lua2'] and v['fua3'] == v['lua3'] then
  skip['fua'], skip['fua2'], skip['fua3'] = true, true, true
end
local args = {}
for i, f in ipairs(F) do
  local x = ARGV[8 + i]
  if not skip[f] and FDEF[f] ~= x then
    args[#args + 1] = f
    args[#args + 1] = x
  end
end
args[#args + 1] = 'sx'
args[#args + 1] = sx
redis.call('HSET', rk, unpack(args))
redis.call('PEXPIREAT', rk, expireAt)
index(sid, role, user, v['act'], v['cre'], n2s(deadline(v['exp'], v['idle'], v['life'])))
return ended
`)

// scriptCommit: ARGV P, sid, tokenHash, blob, blobAtMin, grace, guard,
// hasTouch, act, exp, idle, ip, ua, path. Returns 1 if written, 0 if the
// session has no record with that token hash.
var scriptCommit = newScript(`
local sid, th = ARGV[2], ARGV[3]
local blobAtMin, grace, guard = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local rk = rkey(sid)
local cur = redis.call('HMGET', rk, 'th', 'role', 'user', 'exp', 'idle', 'life', 'fip', 'fua', 'sv', 'fua2', 'fua3', 'sx',
  'lip', 'lua', 'lua2', 'lua3')
if not cur[1] or cur[1] ~= th then return 0 end
local exp, idle, life = cur[4], cur[5], cur[6]
if ARGV[8] == '1' then
  local act, ip, ua = ARGV[9], ARGV[12], ARGV[13]
  exp, idle = ARGV[10], ARGV[11]
  -- The user agent goes into three fields, as encodeRecord splits it; an
  -- empty part is written only over one the record has.
  local f = {'act', act, 'exp', exp, 'idle', idle, 'lip', ip, 'lua', string.sub(ua, 1, UAPART), 'path', ARGV[14]}
  local ua2, ua3 = string.sub(ua, UAPART + 1, 2 * UAPART), string.sub(ua, 2 * UAPART + 1)
  if ua2 ~= '' or cur[15] then f[#f + 1] = 'lua2'; f[#f + 1] = ua2 end
  if ua3 ~= '' or cur[16] then f[#f + 1] = 'lua3'; f[#f + 1] = ua3 end
  -- A missing fip or fua is the last one (see recordFields): written out
  -- here before the last one changes.
  if ip ~= (cur[7] or cur[13] or '') then
    f[#f + 1] = 'ipc'; f[#f + 1] = '1'
    if not cur[7] then f[#f + 1] = 'fip'; f[#f + 1] = cur[13] or '' end
  end
  local lua = (cur[14] or '') .. (cur[15] or '') .. (cur[16] or '')
  local fua = lua
  if cur[8] then fua = cur[8] .. (cur[10] or '') .. (cur[11] or '') end
  if ua ~= fua then
    f[#f + 1] = 'uac'; f[#f + 1] = '1'
    if not cur[8] then
      f[#f + 1] = 'fua'; f[#f + 1] = cur[14] or ''
      if (cur[15] or '') ~= '' then f[#f + 1] = 'fua2'; f[#f + 1] = cur[15] end
      if (cur[16] or '') ~= '' then f[#f + 1] = 'fua3'; f[#f + 1] = cur[16] end
    end
  end
  redis.call('HSET', rk, unpack(f))
  local role, user = cur[2], cur[3]
  local dl = n2s(deadline(exp, idle, life))
  redis.call('ZADD', rix('act', role), act, sid)
  redis.call('ZADD', rix('dl', role), dl, sid)
  redis.call('ZADD', ukey(user), act, sid)
  local at = n2s(math.max(tonumber(dl) + grace, guard))
  redis.call('PEXPIREAT', rk, at)
  -- State lives at least as long as its record: until sx, which covers the
  -- record's expiry unless the session is touched past its lifetime; a
  -- record of an older version has no sx, and its state follows its TTL.
  local sx = cur[12]
  if not sx or tonumber(at) > tonumber(sx) * 1000 then
    if sx then redis.call('HSET', rk, 'sx', n2s(math.ceil(tonumber(at) / 1000))) end
    if cur[9] and cur[9] ~= '0' then expire_state(sid, 'PEXPIREAT', at) end
  end
end
local blobAt = math.max(blobAtMin, deadline(exp, idle, life) + grace)
redis.call('SET', bkey(th), ARGV[4], 'PXAT', n2s(blobAt))
return 1
`)

// scriptRekey: ARGV P, sid, oldHash, newHash, role, now. Returns 1 or 0 (gone).
var scriptRekey = newScript(`
local sid, old, new, role, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local rk = rkey(sid)
local cur = redis.call('HMGET', rk, 'th', 'role', 'user', 'act', 'cre', 'exp', 'idle', 'life')
if not cur[1] or cur[1] ~= old then return 0 end
local dl = deadline(cur[6], cur[7], cur[8])
if dl <= now then return 0 end
redis.call('HSET', rk, 'th', new, 'role', role)
if role ~= cur[2] then
  redis.call('ZREM', rix('act', cur[2]), sid)
  redis.call('ZREM', rix('cre', cur[2]), sid)
  redis.call('ZREM', rix('dl', cur[2]), sid)
  redis.call('ZADD', rix('act', role), cur[4], sid)
  redis.call('ZADD', rix('cre', role), cur[5], sid)
  redis.call('ZADD', rix('dl', role), n2s(dl), sid)
  redis.call('SADD', P .. 'roles', role)
end
if old ~= new then redis.call('DEL', bkey(old)) end
return 1
`)

// scriptEnd: ARGV P, reason, actor, note, at, keep, endedTTL, stateAt,
// sid... Ends each sid and returns how many it ended. End and EndMany both
// use it.
var scriptEnd = newScript(`
local reason, actor, note, at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local keep, endedTTL, stateAt = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local acc = new_acc()
local sids = {}
for i = 9, #ARGV do sids[#sids + 1] = ARGV[i] end
end_batch(sids, reason, actor, note, at, keep, endedTTL, stateAt, acc)
flush_ended(acc)
return acc.n
`)

// scriptEndUser: ARGV P, user, reason, actor, note, at, keep, endedTTL,
// stateAt, except... Returns how many it ended.
var scriptEndUser = newScript(`
local user, reason, actor, note, at = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local keep, endedTTL, stateAt = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local except = {}
for i = 10, #ARGV do except[ARGV[i]] = true end
local acc = new_acc()
local uk = ukey(user)
local sids = {}
for _, m in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  if not except[m] then sids[#sids + 1] = m end
end
local done = {}
for _, t in ipairs(end_batch(sids, reason, actor, note, at, keep, endedTTL, stateAt, acc, true)) do done[t[1]] = true end
for _, m in ipairs(sids) do
  if not done[m] then
    redis.call('ZREM', uk, m)
    forget(m)
  end
end
flush_ended(acc)
return acc.n
`)

// scriptList: ARGV P, now, sort (act|cre|dl), role, user, ip, limit,
// hasCursor, cursorScore, cursorSid.
//
// With a user filter it returns {total, 0, rows...} with every matching row
// (a user has few sessions) and Go sorts and pages them, so that ties break
// by byte order whatever the server's locale. Otherwise it returns {total,
// more, rows...} with at most limit rows of the page after the cursor,
// merged from the index of each role (of the role filter, or of every role
// ever indexed): O(roles * (log N + page)). A row is the record's values in
// recordFields order.
var scriptList = newScript(`
local now = tonumber(ARGV[2])
local sort, role, user, ip = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit = tonumber(ARGV[7])
local hasCursor = ARGV[8] == '1'
local cs, csid = tonumber(ARGV[9]), ARGV[10]
local iLip, iFip, iRole = FI['lip'], FI['fip'], FI['role']

local function live(r)
  return r[1] and deadline(r[FI['exp']], r[FI['idle']], r[FI['life']]) > now
end
local function ipok(r)
  return ip == '' or r[iLip] == ip or r[iFip] == ip
end

if user ~= '' then
  local out = {0, 0}
  for _, m in ipairs(redis.call('ZRANGE', ukey(user), 0, -1)) do
    local r = redis.call('HMGET', rkey(m), unpack(F))
    if live(r) and (role == '' or r[iRole] == role) and ipok(r) then
      out[#out + 1] = r
    end
  end
  out[1] = #out - 2
  return out
end

local roles = roles_of(role)
local asc = sort == 'dl'

local total = 0
if ip == '' then
  total = live_count(role, now)
else
  -- IPs are not indexed: count by walking the live part of the deadline
  -- indexes.
  for _, rl in ipairs(roles) do
    local off = 0
    while true do
      local ms = redis.call('ZRANGE', rix('dl', rl), '(' .. n2s(now), '+inf', 'BYSCORE', 'LIMIT', off, 500)
      for _, m in ipairs(ms) do
        local r = redis.call('HMGET', rkey(m), 'lip', 'fip')
        if r[1] and (r[1] == ip or r[2] == ip) then total = total + 1 end
      end
      if #ms < 500 then break end
      off = off + #ms
    end
  end
end

-- One stream per role reads that role's index in list order from the
-- cursor on, a batch at a time; the page merges them. pos is the 0-based
-- position (in list order) of the next batch.
local batch = limit + 1
if batch < 64 then batch = 64 end
local streams = {}
for _, rl in ipairs(roles) do
  local st = {idx = rix(sort, rl), dl = rix('dl', rl), pos = 0, skip = false, buf = {}, i = 1, done = false}
  if hasCursor then
    local sc = redis.call('ZSCORE', st.idx, csid)
    if sc and tonumber(sc) == cs then
      if asc then st.pos = redis.call('ZRANK', st.idx, csid) + 1
      else st.pos = redis.call('ZREVRANK', st.idx, csid) + 1 end
    else
      -- The cursor row is not here (another role's, moved or ended): start
      -- at its score and skip the ties that sort at or before it.
      if asc then st.pos = redis.call('ZCOUNT', st.idx, '-inf', '(' .. n2s(cs))
      else st.pos = redis.call('ZCOUNT', st.idx, '(' .. n2s(cs), '+inf') end
      st.skip = true
    end
  end
  if asc then
    -- Entries at or before now are not live: begin after them.
    local dead = redis.call('ZCOUNT', st.idx, '-inf', n2s(now))
    if dead > st.pos then st.pos = dead; st.skip = false end
  end
  streams[#streams + 1] = st
end

-- head returns the next member and score of st, or nil when it is done.
local function head(st)
  while true do
    if st.i < #st.buf then
      local m, sc = st.buf[st.i], tonumber(st.buf[st.i + 1])
      if st.skip and sc == cs and ((asc and not bytelt(csid, m)) or ((not asc) and not bytelt(m, csid))) then
        st.i = st.i + 2
      else
        st.skip = false
        return m, sc
      end
    elseif st.done then
      return nil
    else
      if asc then st.buf = redis.call('ZRANGE', st.idx, st.pos, st.pos + batch - 1, 'WITHSCORES')
      else st.buf = redis.call('ZREVRANGE', st.idx, st.pos, st.pos + batch - 1, 'WITHSCORES') end
      st.i = 1
      st.pos = st.pos + batch
      if #st.buf < 2 * batch then st.done = true end
    end
  end
end

-- first reports whether (sa, ma) comes before (sb, mb) in list order: by
-- score in the sort's direction, then by sid bytes, as one index would.
local function first(sa, ma, sb, mb)
  if sa ~= sb then
    if asc then return sa < sb end
    return sa > sb
  end
  if asc then return bytelt(ma, mb) end
  return bytelt(mb, ma)
end

local out = {total, 0}
local rows = 0
while true do
  local best, bm, bs = nil, nil, nil
  for _, st in ipairs(streams) do
    local m, sc = head(st)
    if m and (not best or first(sc, m, bs, bm)) then best, bm, bs = st, m, sc end
  end
  if not best then break end
  best.i = best.i + 2
  local ok = true
  if not asc then
    local d = redis.call('ZSCORE', best.dl, bm)
    ok = d and tonumber(d) > now
  end
  if ok then
    local r = redis.call('HMGET', rkey(bm), unpack(F))
    if live(r) and ipok(r) then
      if rows == limit then
        out[2] = 1
        return out
      end
      out[#out + 1] = r
      rows = rows + 1
    end
  end
end
return out
`)

// scriptDue: ARGV P, now, limit. Returns up to limit records whose deadline
// is at or before now, earliest first (merging the roles' deadline indexes),
// dropping index entries whose record is gone. It also deletes the global
// indexes (ix:act, ix:cre, ix:dl) that versions before the per-role-only
// layout kept, in case one of them still ran when New deleted them.
var scriptDue = newScript(`
local now, limit = ARGV[2], tonumber(ARGV[3])
redis.call('UNLINK', P .. 'ix:act', P .. 'ix:cre', P .. 'ix:dl')
local roles = roles_of('')
-- off counts, per role, the entries already returned: in merged order they
-- are a prefix of that role's index.
local off = {}
for _, rl in ipairs(roles) do off[rl] = 0 end
local out = {}
while #out < limit do
  local want = limit - #out
  local cand = {}
  for _, rl in ipairs(roles) do
    local ms = redis.call('ZRANGE', rix('dl', rl), '-inf', now, 'BYSCORE', 'LIMIT', off[rl], want, 'WITHSCORES')
    for i = 1, #ms, 2 do cand[#cand + 1] = {ms[i], tonumber(ms[i + 1]), rl} end
  end
  if #cand == 0 then break end
  table.sort(cand, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return bytelt(a[1], b[1])
  end)
  local gone = 0
  for _, c in ipairs(cand) do
    if #out == limit then break end
    local r = redis.call('HMGET', rkey(c[1]), unpack(F))
    if r[1] then
      out[#out + 1] = r
      off[c[3]] = off[c[3]] + 1
    else
      forget(c[1])
      gone = gone + 1
    end
  end
  -- Without gone entries this round returned every due entry up to limit.
  if gone == 0 then break end
end
return out
`)

// scriptEnded: ARGV P, now, limit. Returns up to limit ended entries ready
// for cleanup at now (ended index score <= now), earliest first, each as
// {HGETALL of the entry, then read_state}, dropping index entries whose
// entry is gone.
var scriptEnded = newScript(`
local now, limit = ARGV[2], tonumber(ARGV[3])
local zk = P .. 'ended'
local out = {}
local off = 0
while #out < limit do
  local ms = redis.call('ZRANGE', zk, '-inf', now, 'BYSCORE', 'LIMIT', off, limit - #out)
  if #ms == 0 then break end
  local gone = 0
  for _, m in ipairs(ms) do
    local h = redis.call('HGETALL', P .. 'e:' .. m)
    if #h > 0 then
      local e = read_state(m)
      table.insert(e, 1, h)
      out[#out + 1] = e
    else
      drop_ended(m, false)
      if redis.call('EXISTS', P .. 'a:' .. m) == 0 then unlist(m) end
      gone = gone + 1
    end
  end
  off = off + #ms - gone
end
return out
`)

// scriptArchive: ARGV P, sid, endAt, retentionMs, pruneBefore, user,
// reason, now, retainUntil, pruneMax, then the archive hash's field/value
// pairs. It writes the archive and drops the ended entry, state, snapshots
// and recovery point. The archive keeps the ended entry's recovery window
// and claim (or an earlier archive's, when archiving again) and its
// retention's end; the session stays in the ended lists, is added to them
// if it was not listed (ended before they existed, its window then read
// from the recovery-point index), and joins the retention list. Then it
// unlists up to pruneMax archives whose retention ended by now.
var scriptArchive = newScript(`
local sid, at, now, retainUntil = ARGV[2], ARGV[3], ARGV[8], ARGV[9]
local ak, ek = P .. 'a:' .. sid, P .. 'e:' .. sid
local cur = redis.call('HMGET', ek, 'user', '_ru', '_claimed')
local user = cur[1]
if user then
  if not cur[2] then cur[2] = redis.call('ZSCORE', P .. 'rp:' .. user, sid) end
else
  user = ARGV[6]
  cur = redis.call('HMGET', ak, 'user', '_ru', '_claimed')
end
local ru, claimed = cur[2], cur[3]
redis.call('DEL', ak)
local h = {}
for i = 11, #ARGV do h[#h + 1] = ARGV[i] end
h[#h + 1] = '_retain'
h[#h + 1] = retainUntil
if ru then h[#h + 1] = '_ru'; h[#h + 1] = ru end
if claimed then h[#h + 1] = '_claimed'; h[#h + 1] = claimed end
redis.call('HSET', ak, unpack(h))
redis.call('PEXPIRE', ak, ARGV[4])
redis.call('ZADD', P .. 'archived', at, sid)
redis.call('ZREMRANGEBYSCORE', P .. 'archived', '-inf', '(' .. ARGV[5])
drop_ended(sid, user)
local wk = xkey(':who')
if redis.call('HEXISTS', wk, sid) == 0 then
  local reason = ARGV[7]
  redis.call('ZADD', xkey(''), at, sid)
  redis.call('ZADD', xkey(':u:' .. user), at, sid)
  redis.call('ZADD', xkey(':r:' .. reason), at, sid)
  if ru then
    redis.call('ZADD', xkey(':rp'), at, sid)
    redis.call('ZADD', xkey(':rp:' .. reason), at, sid)
  end
  redis.call('HSET', wk, sid, reason .. ' ' .. user)
end
redis.call('ZADD', xkey(':ret'), retainUntil, sid)
for _, m in ipairs(redis.call('ZRANGE', xkey(':ret'), '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[10]))) do
  unlist(m)
end
return 1
`)

// scriptPurge: ARGV P, sid. Drops what scriptArchive drops, archiving
// nothing, and unlists the session unless it has an archive.
var scriptPurge = newScript(`
local sid = ARGV[2]
drop_ended(sid, redis.call('HGET', P .. 'e:' .. sid, 'user'))
if redis.call('EXISTS', P .. 'a:' .. sid) == 0 then unlist(sid) end
return 1
`)

// scriptFail: ARGV P, key, now, windowMs. Returns the failure count.
var scriptFail = newScript(`
local k = P .. 'th:' .. ARGV[2]
local now, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local last = redis.call('HGET', k, 'last')
if last and now - tonumber(last) >= window then redis.call('DEL', k) end
local n = redis.call('HINCRBY', k, 'n', 1)
redis.call('HSET', k, 'last', ARGV[3])
redis.call('PEXPIRE', k, window)
return n
`)

// scriptAcquire: ARGV P, name, holder, ttlMs, now. Returns 1 if holder holds
// the lease afterwards.
var scriptAcquire = newScript(`
local k = P .. 'l:' .. ARGV[2]
local holder, ttl, now = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local cur = redis.call('HMGET', k, 'holder', 'until')
if cur[1] and cur[1] ~= holder and tonumber(cur[2]) > now then return 0 end
redis.call('HSET', k, 'holder', holder, 'until', n2s(now + ttl))
redis.call('PEXPIRE', k, ttl)
return 1
`)

// scriptRelease: ARGV P, name, holder.
var scriptRelease = newScript(`
local k = P .. 'l:' .. ARGV[2]
if redis.call('HGET', k, 'holder') == ARGV[3] then redis.call('DEL', k) end
return 1
`)
