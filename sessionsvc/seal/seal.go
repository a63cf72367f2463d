// Package seal encrypts values at rest with AES-256-GCM under a ring of named
// keys, so that a key can be rotated without making old data unreadable.
//
// The first key of a Keyring encrypts; every key decrypts. A sealed value names
// the key that sealed it, and its associated data binds it to that key id, to
// the format version and to whatever the caller passes (a session id and a
// category), so a value copied to another session, category or key fails to
// open. Open authenticates before it returns a single byte of plaintext:
// callers never decode (JSON, gob, anything) bytes that were not authenticated.
//
// Sealed format, version 1:
//
//	0x01 | len(id) | id | 12-byte random nonce | GCM ciphertext and 16-byte tag
//
// The GCM additional data is the header (version, id length, id) followed by
// the caller's ad. The header is self-delimiting, so no two (id, ad) pairs give
// the same additional data.
//
// This package must never log, print or put into an error any key material or
// plaintext.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Version is the first byte of every value sealed by this package.
const Version = 1

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// MaxIDLen is the longest key id: it is stored in every sealed value.
const MaxIDLen = 32

const (
	nonceSize = 12
	tagSize   = 16
)

// Errors returned by Open. Callers treat both as "the value is absent and
// someone may have tampered with it": they are security events, not bugs.
var (
	// ErrUnknownKey: the value names a key id that is not in the ring (its key
	// was removed too early, or the id bytes were altered).
	ErrUnknownKey = errors.New("seal: unknown key id")
	// ErrAuth: the value failed authentication: tampered with, truncated,
	// opened with other associated data, or not a sealed value at all.
	ErrAuth = errors.New("seal: authentication failed")
)

// Key is one named AES-256 key.
type Key struct {
	ID     string // 1..MaxIDLen bytes of [A-Za-z0-9_-]; stored in every sealed value
	Secret []byte // KeySize bytes
}

// Keyring seals under its primary key and opens under any of its keys. It is
// immutable after New, hence safe for concurrent use.
type Keyring struct {
	primary *ringKey
	byID    map[string]*ringKey
	ids     []string // in the order given to New: the primary first
}

type ringKey struct {
	id     string
	header []byte // version | len(id) | id
	aead   cipher.AEAD
}

// New builds a Keyring. keys[0] is the primary key, which seals; all keys
// open. Ids must be valid and unique, secrets KeySize bytes. New copies the
// secrets, so the caller may wipe its slices afterwards.
func New(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys")
	}
	k := &Keyring{byID: make(map[string]*ringKey, len(keys))}
	for i, key := range keys {
		if !ValidID(key.ID) {
			return nil, fmt.Errorf("seal: key %d: id %q: want 1 to %d characters of A-Z a-z 0-9 _ -", i, truncate(key.ID, MaxIDLen+8), MaxIDLen)
		}
		if _, dup := k.byID[key.ID]; dup {
			return nil, fmt.Errorf("seal: key %d: duplicate id %q", i, key.ID)
		}
		if len(key.Secret) != KeySize {
			return nil, fmt.Errorf("seal: key %q: secret is %d bytes, want %d", key.ID, len(key.Secret), KeySize)
		}
		block, err := aes.NewCipher(bytes.Clone(key.Secret))
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", key.ID, err)
		}
		rk := &ringKey{id: key.ID, header: header(key.ID), aead: aead}
		k.byID[key.ID] = rk
		k.ids = append(k.ids, key.ID)
		if i == 0 {
			k.primary = rk
		}
	}
	return k, nil
}

func header(id string) []byte {
	h := make([]byte, 0, 2+len(id))
	h = append(h, Version, byte(len(id)))
	return append(h, id...)
}

// ValidID reports whether id may name a key: 1..MaxIDLen bytes of
// [A-Za-z0-9_-], which keeps ids safe in config files, logs and file names.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// PrimaryID returns the id of the key Seal uses.
func (k *Keyring) PrimaryID() string { return k.primary.id }

// IDs returns the ids of every key in the ring, the primary first and the
// others in the order given to New, so an operator can see which keys a
// rotation still needs. Ids are not secret; the slice is the caller's.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Seal encrypts plaintext under the primary key with a fresh random nonce,
// binding it to ad. Random 96-bit nonces keep the collision risk negligible
// up to about 2^32 values per key; rotate long before that.
func (k *Keyring) Seal(plaintext, ad []byte) ([]byte, error) {
	if k == nil || k.primary == nil {
		return nil, errors.New("seal: Seal on an empty keyring")
	}
	p := k.primary
	out := make([]byte, len(p.header)+nonceSize, len(p.header)+nonceSize+len(plaintext)+tagSize)
	copy(out, p.header)
	nonce := out[len(p.header):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return p.aead.Seal(out, nonce, plaintext, additional(p.header, ad)), nil
}

// Open authenticates and decrypts a value made by Seal with the same ad. It
// returns ErrUnknownKey when the value's key id is not in the ring and ErrAuth
// for everything else that is wrong with it; it never panics, whatever the
// input. The plaintext is a new slice.
func (k *Keyring) Open(sealed, ad []byte) ([]byte, error) {
	if k == nil || k.primary == nil {
		return nil, errors.New("seal: Open on an empty keyring")
	}
	id, hlen, ok := parseHeader(sealed)
	if !ok {
		return nil, fmt.Errorf("%w: malformed header", ErrAuth)
	}
	if len(sealed) < hlen+nonceSize+tagSize {
		return nil, fmt.Errorf("%w: truncated", ErrAuth)
	}
	rk, ok := k.byID[string(id)]
	if !ok {
		// The id is not authenticated yet: show it quoted and bounded, as
		// data that may be hostile.
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	nonce := sealed[hlen : hlen+nonceSize]
	pt, err := rk.aead.Open(nil, nonce, sealed[hlen+nonceSize:], additional(sealed[:hlen], ad))
	if err != nil {
		return nil, fmt.Errorf("%w (key %q)", ErrAuth, rk.id)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// Current reports whether sealed names the primary key. False means the value
// should be rewritten (sealed again) on its next write; it says nothing about
// whether the value would open.
func (k *Keyring) Current(sealed []byte) bool {
	if k == nil || k.primary == nil {
		return false
	}
	id, _, ok := parseHeader(sealed)
	return ok && string(id) == k.primary.id
}

// KeyID returns the key id a sealed value names, unauthenticated: for logs and
// metrics ("values still under key X"), never for decisions.
func KeyID(sealed []byte) (string, bool) {
	id, _, ok := parseHeader(sealed)
	if !ok || !ValidID(string(id)) {
		return "", false
	}
	return string(id), true
}

// parseHeader splits off version and key id. It reads only the two length
// and version bytes and slices; nothing is decoded.
func parseHeader(b []byte) (id []byte, n int, ok bool) {
	if len(b) < 2 || b[0] != Version {
		return nil, 0, false
	}
	l := int(b[1])
	if l == 0 || l > MaxIDLen || len(b) < 2+l {
		return nil, 0, false
	}
	return b[2 : 2+l], 2 + l, true
}

// additional is the GCM additional data: the header, then the caller's ad.
func additional(header, ad []byte) []byte {
	out := make([]byte, 0, len(header)+len(ad))
	out = append(out, header...)
	return append(out, ad...)
}

// AD builds associated data from parts, each prefixed by its length, so that
// ("ab", "c") and ("a", "bc") differ. Callers bind a value with, for example,
// AD("state", sid, category).
func AD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out
}

// GenerateKey returns a new random key in standard padded base64: what
// `sessionconsole gen-key` prints and security.encryption_keys[].key takes.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("seal: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padded or not,
// surrounding white space ignored) that must be exactly KeySize bytes. Its
// errors never contain the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("seal: empty key")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("seal: key decodes to %d bytes, want %d", len(b), KeySize)
		}
		return b, nil
	}
	return nil, errors.New("seal: key is not valid base64")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
