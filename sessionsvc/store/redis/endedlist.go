package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// endedListFields are the fields ListEnded reads (HMGET) of an ended-entry
// or archive hash: the record and the tombstone, without the blob, state
// and files.
var endedListFields = slices.Concat(recordFields, []string{
	fieldReason, fieldActor, fieldNote, fieldAt,
	fieldArchivedAt, fieldRecoverUntil, fieldClaimed, fieldRetainUntil,
})

// ListEnded serves one page with one script from the ended lists (see the
// package doc), which the end scripts fill in the same atomic step as the
// end, Archive keeps and Purge empties:
//
//   - no filter, User, Reason, Recoverable, and Reason with Recoverable
//     each have their own sorted set: the page is O(log N + page) from the
//     cursor's rank, the Total a ZCARD;
//   - User with another filter walks the user's list whole, checking the
//     others by ZSCORE, O(the user's ended sessions) for page and Total.
//
// Each row is one HMGET of the ended entry or, once archived, the archive.
// Before listing, the script unlists the archives whose retention ended by
// now, up to pruneBatch a call; with more it returns early and ListEnded
// calls it again, so Redis is never blocked long and Total stays exact. A
// listed session whose data a safety-net TTL removed (cleanup stopped for
// longer than Grace) is skipped and unlisted as the page meets it; until
// then, and until cleanup's Ended finds its ended entry gone, it may be
// counted.
//
// Sessions ended by a version without the lists are listed once Archive
// archives them (with the recovery window from the recovery-point index);
// archives made by such a version are not listed.
func (s *Store) ListEnded(ctx context.Context, q store.EndedQuery, now time.Time) (store.EndedPage, error) {
	q, err := store.NormalizeEndedQuery(q)
	if err != nil {
		return store.EndedPage{}, err
	}
	var (
		hasCursor = "0"
		cAt       int64
		cSID      string
	)
	if q.Cursor != "" {
		if cAt, cSID, err = store.DecodeCursor(q.Cursor); err != nil {
			return store.EndedPage{}, err
		}
		hasCursor = "1"
	}
	var reply []any
	for {
		reply, err = redigo.Values(s.run(ctx, scriptListEnded, millis(now), q.User, string(q.Reason),
			boolStr(q.Recoverable), q.Limit, hasCursor, cAt, cSID, pruneBatch))
		if err != nil {
			return store.EndedPage{}, fmt.Errorf("redis: list ended: %w", err)
		}
		if len(reply) < 2 {
			if len(reply) == 1 {
				continue // it unlisted pruneBatch expired archives: there may be more
			}
			return store.EndedPage{}, fmt.Errorf("redis: list ended: short reply")
		}
		break
	}
	total, err := redigo.Int(reply[0], nil)
	if err != nil {
		return store.EndedPage{}, fmt.Errorf("redis: list ended total: %w", err)
	}
	more, err := redigo.Int(reply[1], nil)
	if err != nil {
		return store.EndedPage{}, fmt.Errorf("redis: list ended: %w", err)
	}
	rows := reply[2:]
	page := store.EndedPage{Total: total, Entries: make([]store.EndedEntry, 0, len(rows))}
	for _, row := range rows {
		e, err := decodeEndedEntry(row)
		if err != nil {
			return store.EndedPage{}, fmt.Errorf("redis: list ended: %w", err)
		}
		page.Entries = append(page.Entries, e)
	}
	if more == 1 && len(page.Entries) > 0 {
		last := page.Entries[len(page.Entries)-1]
		page.Next = store.EncodeCursor(millis(last.Tombstone.At), last.Record.SID)
	}
	return page, nil
}

// decodeEndedEntry parses a row of scriptListEnded: {archived (0|1),
// HMGET of endedListFields}.
func decodeEndedEntry(row any) (store.EndedEntry, error) {
	pair, err := redigo.Values(row, nil)
	if err != nil || len(pair) != 2 {
		return store.EndedEntry{}, fmt.Errorf("malformed row")
	}
	archived, err := redigo.Int(pair[0], nil)
	if err != nil {
		return store.EndedEntry{}, fmt.Errorf("malformed row: %w", err)
	}
	vals, err := redigo.Values(pair[1], nil)
	if err != nil || len(vals) != len(endedListFields) {
		return store.EndedEntry{}, fmt.Errorf("malformed row fields")
	}
	// Fields the entry does not have stay out of m: a record may leave out
	// fields that read as another's value (see recordFields).
	m := make(map[string]string, len(vals))
	for i, v := range vals {
		if v == nil {
			continue
		}
		if m[endedListFields[i]], err = redigo.String(v, nil); err != nil {
			return store.EndedEntry{}, fmt.Errorf("malformed row field %s: %w", endedListFields[i], err)
		}
	}
	ended, err := decodeEnded(m)
	if err != nil {
		return store.EndedEntry{}, err
	}
	e := store.EndedEntry{Record: ended.Record, Tombstone: ended.Tombstone, Archived: archived == 1, Claimed: m[fieldClaimed] == "1"}
	if e.Archived {
		if e.ArchivedAt, err = parseMillis(m[fieldArchivedAt]); err != nil {
			return store.EndedEntry{}, fmt.Errorf("archived time of %s: %w", e.Record.SID, err)
		}
	}
	if ru := m[fieldRecoverUntil]; ru != "" {
		if e.RecoverUntil, err = parseMillis(ru); err != nil {
			return store.EndedEntry{}, fmt.Errorf("recovery window of %s: %w", e.Record.SID, err)
		}
	}
	return e, nil
}

// scriptListEnded: ARGV P, now, user, reason, recoverable (1|0), limit,
// hasCursor, cursorAt, cursorSid, pruneMax.
//
// It first unlists up to pruneMax archives whose retention ended by now and
// returns {-1} if it unlisted that many (the caller calls again). Else it
// returns {total, more, rows...}: at most limit rows after the cursor, in
// (end, sid) descending order, each {0 if held or 1 if archived, HMGET of
// endedListFields}; more is 1 when another row follows. Listed sessions
// whose data is gone are unlisted once the walk has passed them.
var scriptListEnded = newScript(`
local now = tonumber(ARGV[2])
local user, reason, rec = ARGV[3], ARGV[4], ARGV[5] == '1'
local limit = tonumber(ARGV[6])
local hasCursor = ARGV[7] == '1'
local cs, csid = tonumber(ARGV[8]), ARGV[9]
local pruneMax = tonumber(ARGV[10])
local EF = ` + luaStringList(endedListFields) + `
local iRetain = #EF

local expired = redis.call('ZRANGE', xkey(':ret'), '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, pruneMax)
for _, m in ipairs(expired) do unlist(m) end
if #expired == pruneMax then return {-1} end

local gone = {}
-- row returns {0|1, fields} for a listed session, or nil when its data is
-- gone or its archive's retention has ended.
local function row(m)
  local r = redis.call('HMGET', P .. 'e:' .. m, unpack(EF))
  if r[1] then return {0, r} end
  r = redis.call('HMGET', P .. 'a:' .. m, unpack(EF))
  if r[1] and not (r[iRetain] and tonumber(r[iRetain]) <= now) then return {1, r} end
  gone[#gone + 1] = m
  return nil
end
-- after reports whether (sc, m) comes after the cursor in list order.
local function after(sc, m)
  if not hasCursor then return true end
  return sc < cs or (sc == cs and bytelt(m, csid))
end

local out = {0, 0}
local rows = 0
local function take(m)
  local r = row(m)
  if not r then return true end
  if rows == limit then
    out[2] = 1
    return false
  end
  out[#out + 1] = r
  rows = rows + 1
  return true
end

if user ~= '' and (reason ~= '' or rec) then
  -- A user's ended sessions are few: walk them all, the other filters by ZSCORE.
  local rk, rpk = xkey(':r:' .. reason), xkey(':rp')
  local ms = redis.call('ZREVRANGE', xkey(':u:' .. user), 0, -1, 'WITHSCORES')
  local total, open = 0, true
  for i = 1, #ms, 2 do
    local m, sc = ms[i], tonumber(ms[i + 1])
    if (reason == '' or redis.call('ZSCORE', rk, m)) and (not rec or redis.call('ZSCORE', rpk, m)) then
      total = total + 1
      if open and after(sc, m) then open = take(m) end
    end
  end
  out[1] = total
else
  local idx
  if user ~= '' then idx = xkey(':u:' .. user)
  elseif reason ~= '' and rec then idx = xkey(':rp:' .. reason)
  elseif reason ~= '' then idx = xkey(':r:' .. reason)
  elseif rec then idx = xkey(':rp')
  else idx = xkey('') end
  out[1] = redis.call('ZCARD', idx)
  -- start is the 0-based rank (descending) of the first candidate.
  local start = 0
  if hasCursor then
    local sc = redis.call('ZSCORE', idx, csid)
    if sc and tonumber(sc) == cs then
      start = redis.call('ZREVRANK', idx, csid) + 1
    else
      -- The cursor's row was unlisted: start at its score, after() skips
      -- the ties that sort before it.
      start = redis.call('ZCOUNT', idx, '(' .. n2s(cs), '+inf')
    end
  end
  local batch = limit + 1
  if batch < 64 then batch = 64 end
  local open = true
  while open do
    local ms = redis.call('ZREVRANGE', idx, start, start + batch - 1, 'WITHSCORES')
    for i = 1, #ms, 2 do
      if after(tonumber(ms[i + 1]), ms[i]) then
        open = take(ms[i])
        if not open then break end
      end
    end
    if #ms < 2 * batch then break end
    start = start + batch
  end
end
for _, m in ipairs(gone) do unlist(m) end
out[1] = out[1] - #gone
return out
`)
