package redis

import (
	"context"
	"errors"
	"fmt"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// scriptFindState: ARGV P, token hash. Returns {} when there is no blob,
// {blob} when it has no envelope (store.BlobSID), else {blob, then what
// scriptGetState returns for the sid the envelope names}.
var scriptFindState = newScript(`
local b = redis.call('GET', bkey(ARGV[2]))
if not b then return {} end
local n = string.byte(b, 2)
if string.byte(b, 1) ~= ` + fmt.Sprint(store.BlobEnvelope) + ` or not n or #b < 2 + n then return {b} end
local sid = string.sub(b, 3, 2 + n)
local out = read_state(sid)
local live = redis.call('EXISTS', rkey(sid))
table.insert(out, 1, live == 1 and 0 or redis.call('EXISTS', P .. 'e:' .. sid))
table.insert(out, 1, live)
table.insert(out, 1, b)
return out
`)

// FindWithState implements store.StateFinder: the blob and the state of the
// session its envelope names, with one script call.
func (s *Store) FindWithState(ctx context.Context, tokenHash string) ([]byte, bool, *store.FoundState, error) {
	reply, err := redigo.Values(s.run(ctx, scriptFindState, tokenHash))
	if err != nil {
		return nil, false, nil, fmt.Errorf("redis: find blob and state: %w", err)
	}
	if len(reply) == 0 {
		return nil, false, nil, nil
	}
	b, err := redigo.Bytes(reply[0], nil)
	if err != nil {
		return nil, false, nil, fmt.Errorf("redis: find blob and state: %w", err)
	}
	if len(reply) == 1 {
		return b, true, nil, nil
	}
	sid, ok := store.BlobSID(b)
	if !ok || len(reply) != 4+len(store.Categories) {
		return nil, false, nil, errors.New("redis: find blob and state: the reply does not match the blob")
	}
	rec, _ := redigo.Int(reply[1], nil)
	ended, _ := redigo.Int(reply[2], nil)
	doc, written, err := decodeState(reply[3:])
	if err != nil {
		return nil, false, nil, fmt.Errorf("redis: find blob and state of %s: %w", sid, err)
	}
	fs := &store.FoundState{SID: sid, Found: rec != 0 || ended != 0 || written}
	if fs.Found {
		fs.Doc = doc
	}
	return b, true, fs, nil
}
