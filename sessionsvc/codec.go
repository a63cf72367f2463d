package sessionsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// metaKey is the scs value under which the session's Meta lives.
const metaKey = "_m"

// Meta is what the request path needs to know about a session without asking
// the registry: it travels in the scs blob, so a read-only request costs one
// store read. Times are unix milliseconds.
type Meta struct {
	SID          string `json:"sid"`
	User         string `json:"u"`
	Role         string `json:"r"`
	CreatedAt    int64  `json:"c"`
	AuthAt       int64  `json:"a"`
	LastActivity int64  `json:"la"` // last written activity (writes are throttled)
	ExpiresAt    int64  `json:"e"`
	IdleAt       int64  `json:"i"`
	LifetimeAt   int64  `json:"l"`
	Fingerprint  string `json:"fp"`
	IP           string `json:"ip"` // client IP at sign-in, for ip_validation
	CSRF         string `json:"x"`  // synchronizer token
	// Theme is a copy of preferences.theme kept in the blob, so the layout of
	// every page knows it without a state read; SetTheme writes both.
	Theme string `json:"th,omitempty"`
	// Locale is likewise a copy of preferences.locale ("es-PY" or "en"); ""
	// in blobs written before it existed. SetLocale writes both.
	Locale string `json:"lc,omitempty"`
}

func ms(t time.Time) int64         { return t.UnixMilli() }
func fromMS(v int64) time.Time     { return time.UnixMilli(v).UTC() }
func (m Meta) deadline() time.Time { return fromMS(min(m.ExpiresAt, m.IdleAt, m.LifetimeAt)) }

// errCorruptBlob marks a blob that cannot be decoded; the session is treated as
// absent and the cookie cleared, rather than failing every request.
var errCorruptBlob = errors.New("sessionsvc: corrupt session blob")

// jsonCodec replaces scs's gob codec: gob-decoding bytes from a shared store
// invites type confusion, JSON keeps the blob small and inspectable. It knows
// the Meta type; every other value must be a string.
type jsonCodec struct{}

type wireBlob struct {
	Deadline int64             `json:"d"`
	Meta     *Meta             `json:"m,omitempty"`
	Values   map[string]string `json:"v,omitempty"`
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	w := wireBlob{Deadline: deadline.UnixMilli()}
	for k, v := range values {
		switch v := v.(type) {
		case Meta:
			if k != metaKey {
				return nil, fmt.Errorf("sessionsvc: encode: Meta under key %q", k)
			}
			w.Meta = &v
		case string:
			if w.Values == nil {
				w.Values = make(map[string]string)
			}
			w.Values[k] = v
		default:
			return nil, fmt.Errorf("sessionsvc: encode: value %q has unsupported type %T", k, v)
		}
	}
	return json.Marshal(w)
}

func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var w wireBlob
	if err := json.Unmarshal(b, &w); err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: %v", errCorruptBlob, err)
	}
	if w.Meta == nil || w.Meta.SID == "" || w.Meta.User == "" {
		return time.Time{}, nil, fmt.Errorf("%w: no session metadata", errCorruptBlob)
	}
	values := make(map[string]any, len(w.Values)+1)
	for k, v := range w.Values {
		values[k] = v
	}
	values[metaKey] = *w.Meta
	return time.UnixMilli(w.Deadline).UTC(), values, nil
}
