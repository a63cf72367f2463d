package sessionsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
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

// blobCodec replaces scs's gob codec: gob-decoding bytes from a shared store
// invites type confusion. It knows the Meta type; every other value must be a
// string.
//
// A blob is decoded on every request, so it is a compact binary record: the
// version byte blobV1, then protobuf wire fields (protowire; no generated
// code, no reflection) numbered as the blob* constants below. Zero values are
// left out, and fields a decoder does not know are skipped, so a later
// version can add some that this one reads past. Decoding it costs about a
// tenth of the JSON this codec wrote before; blobs of that JSON form (they
// begin with '{') are still read, and rewritten in the binary form by the
// next write of the session.
type blobCodec struct{}

// blobV1 is the first byte of a binary blob; a JSON blob begins with '{'.
const blobV1 = 0x01

// Field numbers of the binary blob. Never reuse one.
const (
	blobDeadline protowire.Number = iota + 1 // zigzag varint, unix ms
	blobSID                                  // bytes, and so on in Meta's order
	blobUser
	blobRole
	blobCreatedAt // zigzag varint, as every time below
	blobAuthAt
	blobLastActivity
	blobExpiresAt
	blobIdleAt
	blobLifetimeAt
	blobFingerprint
	blobIP
	blobCSRF
	blobTheme
	blobLocale
	blobValue // bytes: a message of blobValueKey and blobValueString
)

// Fields of a blobValue message.
const (
	blobValueKey protowire.Number = iota + 1
	blobValueString
)

func (blobCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 1, 160)
	b[0] = blobV1
	b = appendInt(b, blobDeadline, deadline.UnixMilli())
	var meta bool
	for k, v := range values {
		switch v := v.(type) {
		case Meta:
			if k != metaKey {
				return nil, fmt.Errorf("sessionsvc: encode: Meta under key %q", k)
			}
			meta = true
			b = appendString(b, blobSID, v.SID)
			b = appendString(b, blobUser, v.User)
			b = appendString(b, blobRole, v.Role)
			b = appendInt(b, blobCreatedAt, v.CreatedAt)
			b = appendInt(b, blobAuthAt, v.AuthAt)
			b = appendInt(b, blobLastActivity, v.LastActivity)
			b = appendInt(b, blobExpiresAt, v.ExpiresAt)
			b = appendInt(b, blobIdleAt, v.IdleAt)
			b = appendInt(b, blobLifetimeAt, v.LifetimeAt)
			b = appendString(b, blobFingerprint, v.Fingerprint)
			b = appendString(b, blobIP, v.IP)
			b = appendString(b, blobCSRF, v.CSRF)
			b = appendString(b, blobTheme, v.Theme)
			b = appendString(b, blobLocale, v.Locale)
		case string:
			if k == metaKey {
				return nil, fmt.Errorf("sessionsvc: encode: value %q is not a Meta", k)
			}
			n := protowire.SizeTag(blobValueKey) + protowire.SizeBytes(len(k)) +
				protowire.SizeTag(blobValueString) + protowire.SizeBytes(len(v))
			b = protowire.AppendTag(b, blobValue, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(n))
			b = protowire.AppendTag(b, blobValueKey, protowire.BytesType)
			b = protowire.AppendString(b, k)
			b = protowire.AppendTag(b, blobValueString, protowire.BytesType)
			b = protowire.AppendString(b, v)
		default:
			return nil, fmt.Errorf("sessionsvc: encode: value %q has unsupported type %T", k, v)
		}
	}
	if !meta {
		return nil, errors.New("sessionsvc: encode: no session metadata")
	}
	return b, nil
}

func appendInt(b []byte, n protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeZigZag(v))
}

func appendString(b []byte, n protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (blobCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var (
		deadline int64
		m        Meta
		values   map[string]any
		err      error
	)
	switch {
	case len(b) > 0 && b[0] == blobV1:
		deadline, m, values, err = decodeBinaryBlob(b[1:])
	case len(b) > 0 && b[0] == '{':
		deadline, m, values, err = decodeJSONBlob(b)
	default:
		err = errors.New("unknown blob format")
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("%w: %v", errCorruptBlob, err)
	}
	if m.SID == "" || m.User == "" {
		return time.Time{}, nil, fmt.Errorf("%w: no session metadata", errCorruptBlob)
	}
	if values == nil {
		values = make(map[string]any, 1)
	}
	values[metaKey] = m
	return time.UnixMilli(deadline).UTC(), values, nil
}

// decodeBinaryBlob reads the fields of a binary blob after its version byte.
// A repeated field keeps its last value, as in protobuf.
func decodeBinaryBlob(b []byte) (deadline int64, m Meta, values map[string]any, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, Meta{}, nil, protowire.ParseError(n)
		}
		b = b[n:]
		var (
			iv *int64
			sv *string
		)
		switch num {
		case blobDeadline:
			iv = &deadline
		case blobSID:
			sv = &m.SID
		case blobUser:
			sv = &m.User
		case blobRole:
			sv = &m.Role
		case blobCreatedAt:
			iv = &m.CreatedAt
		case blobAuthAt:
			iv = &m.AuthAt
		case blobLastActivity:
			iv = &m.LastActivity
		case blobExpiresAt:
			iv = &m.ExpiresAt
		case blobIdleAt:
			iv = &m.IdleAt
		case blobLifetimeAt:
			iv = &m.LifetimeAt
		case blobFingerprint:
			sv = &m.Fingerprint
		case blobIP:
			sv = &m.IP
		case blobCSRF:
			sv = &m.CSRF
		case blobTheme:
			sv = &m.Theme
		case blobLocale:
			sv = &m.Locale
		}
		switch {
		case iv != nil && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, Meta{}, nil, protowire.ParseError(n)
			}
			*iv, b = protowire.DecodeZigZag(v), b[n:]
		case sv != nil && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, Meta{}, nil, protowire.ParseError(n)
			}
			*sv, b = string(v), b[n:]
		case num == blobValue && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, Meta{}, nil, protowire.ParseError(n)
			}
			b = b[n:]
			k, s, err := decodeBlobValue(v)
			if err != nil {
				return 0, Meta{}, nil, err
			}
			if k == metaKey {
				return 0, Meta{}, nil, fmt.Errorf("value under the metadata key %q", k)
			}
			if values == nil {
				values = make(map[string]any, 4)
			}
			values[k] = s
		case iv != nil || sv != nil || num == blobValue:
			return 0, Meta{}, nil, fmt.Errorf("field %d has wire type %d", num, typ)
		default: // a field of a later version
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, Meta{}, nil, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return deadline, m, values, nil
}

// decodeBlobValue reads one blobValue message; unknown fields are skipped.
func decodeBlobValue(b []byte) (key, value string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		b = b[n:]
		if (num == blobValueKey || num == blobValueString) && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return "", "", protowire.ParseError(n)
			}
			b = b[n:]
			if num == blobValueKey {
				key = string(v)
			} else {
				value = string(v)
			}
			continue
		}
		if num == blobValueKey || num == blobValueString {
			return "", "", fmt.Errorf("value field %d has wire type %d", num, typ)
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		b = b[n:]
	}
	return key, value, nil
}

// jsonBlob is the JSON form blobs had before the binary one; Decode still
// reads it.
type jsonBlob struct {
	Deadline int64             `json:"d"`
	Meta     *Meta             `json:"m,omitempty"`
	Values   map[string]string `json:"v,omitempty"`
}

func decodeJSONBlob(b []byte) (deadline int64, m Meta, values map[string]any, err error) {
	var w jsonBlob
	if err := json.Unmarshal(b, &w); err != nil {
		return 0, Meta{}, nil, err
	}
	if w.Meta == nil {
		return 0, Meta{}, nil, errors.New("no session metadata")
	}
	if _, ok := w.Values[metaKey]; ok {
		return 0, Meta{}, nil, fmt.Errorf("value under the metadata key %q", metaKey)
	}
	values = make(map[string]any, len(w.Values)+1)
	for k, v := range w.Values {
		values[k] = v
	}
	return w.Deadline, *w.Meta, values, nil
}
