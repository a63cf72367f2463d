package sessionsvc

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters of new password hashes: argon2id with 19 MiB, 2 passes and 1
// lane, OWASP's recommended minimum (Password Storage Cheat Sheet). RFC 9106's
// 64 MiB option made every sign-in allocate 64 MiB: a burst of sign-ins took
// the server from 30 MB to over 400 MB. Hashes made with other parameters keep
// working: VerifyPassword reads them from the string.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// argonSlots bounds the argon2 computations running at once. Each allocates
// its m= KiB: without a bound, N simultaneous sign-ins (or an attacker's
// flood of wrong passwords) allocate N times that. Extra callers wait their
// turn; two slots keep both cores of a small server busy.
var argonSlots = make(chan struct{}, 2)

func argonKey(password []byte, h argonHash, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, keyLen)
}

// Bounds on the parameters VerifyPassword accepts. A hash string comes from
// config.yaml, which an operator edits by hand: without bounds one mistyped
// "m=" would make every login allocate gigabytes or spin for minutes.
const (
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 10
	maxArgonThreads   = 16
	minArgonSaltLen   = 8
	maxArgonSaltLen   = 64
	minArgonKeyLen    = 16
	maxArgonKeyLen    = 64
)

// ErrMalformedHash is returned (wrapped, with the reason) by VerifyPassword and
// ValidPasswordHash for a string that is not an argon2id PHC string within the
// accepted bounds.
var ErrMalformedHash = errors.New("sessionsvc: malformed password hash")

// phcFormat is shown in messages so an operator knows what a hash looks like.
const phcFormat = "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>"

// argonHash is a parsed PHC string.
type argonHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// HashPassword returns a new argon2id hash of password as a PHC string,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, salt and hash in unpadded
// standard base64. It is what the hash-password subcommand prints for
// config.yaml.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("sessionsvc: hash password: empty password")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("sessionsvc: hash password: %w", err)
	}
	h := argonHash{memory: argonMemoryKiB, time: argonTime, threads: argonThreads, salt: salt}
	h.key = argonKey([]byte(password), h, argonKeyLen)
	return h.String(), nil
}

// VerifyPassword reports whether password matches hash, a PHC string made by
// HashPassword or any argon2id implementation whose parameters lie within the
// bounds above. The parameters are read from the string, so hashes made with
// older parameters keep working. A wrong password is (false, nil); an error
// means the hash itself is unusable (it wraps ErrMalformedHash). The comparison
// takes the same time wherever the first differing byte is.
func VerifyPassword(hash, password string) (bool, error) {
	h, err := parseArgonHash(hash)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	key := argonKey([]byte(password), h, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// ValidPasswordHash reports why s cannot be used as an account's password_hash,
// or nil if VerifyPassword would accept it. It parses only; it never runs argon2,
// so validating a config stays instant.
func ValidPasswordHash(s string) error {
	if _, err := parseArgonHash(s); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return nil
}

// String formats h as a PHC string.
func (h argonHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.memory, h.time, h.threads,
		base64.RawStdEncoding.EncodeToString(h.salt),
		base64.RawStdEncoding.EncodeToString(h.key))
}

// parseArgonHash parses a PHC argon2id string strictly. Its errors say what is
// wrong without repeating the string, and carry no package prefix because config
// validation puts them after a key path.
func parseArgonHash(s string) (argonHash, error) {
	var h argonHash
	if s == "" {
		return h, errors.New("empty")
	}
	parts := strings.Split(s, "$")
	if len(parts) < 2 || parts[0] != "" {
		return h, fmt.Errorf("not a PHC string, want %s", phcFormat)
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("algorithm %q, want argon2id (%s)", truncate(parts[1], 16), phcFormat)
	}
	if len(parts) != 6 {
		return h, fmt.Errorf("want 5 fields separated by $, got %d (%s)", len(parts)-1, phcFormat)
	}
	if parts[2] != "v=19" {
		return h, fmt.Errorf("version %q, want v=19", truncate(parts[2], 16))
	}

	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("parameters must be exactly m=<KiB>,t=<passes>,p=<lanes>")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return h, fmt.Errorf("parameters must be exactly m=<KiB>,t=<passes>,p=<lanes>")
		}
		// Leading zeros and signs are refused: PHC numbers are plain decimals.
		if v == "" || (len(v) > 1 && v[0] == '0') || strings.ContainsAny(v, "+-") {
			return h, fmt.Errorf("parameter %s is not a plain decimal number", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, fmt.Errorf("parameter %s is not a number in range", name)
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || p > maxArgonThreads:
		return h, fmt.Errorf("p=%d, want 1 to %d lanes", p, maxArgonThreads)
	case t < 1 || t > maxArgonTime:
		return h, fmt.Errorf("t=%d, want 1 to %d passes", t, maxArgonTime)
	case m < 8*p || m > maxArgonMemoryKiB:
		return h, fmt.Errorf("m=%d, want %d to %d KiB", m, 8*p, maxArgonMemoryKiB)
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)

	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil {
		return h, errors.New("salt is not unpadded standard base64")
	}
	if n := len(h.salt); n < minArgonSaltLen || n > maxArgonSaltLen {
		return h, fmt.Errorf("salt is %d bytes, want %d to %d", n, minArgonSaltLen, maxArgonSaltLen)
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil {
		return h, errors.New("hash is not unpadded standard base64")
	}
	if n := len(h.key); n < minArgonKeyLen || n > maxArgonKeyLen {
		return h, fmt.Errorf("hash is %d bytes, want %d to %d", n, minArgonKeyLen, maxArgonKeyLen)
	}
	return h, nil
}

// truncate keeps messages about hand-edited strings short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
