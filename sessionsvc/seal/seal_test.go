package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// secret returns a fixed 32-byte secret: tests must be reproducible, and the
// fuzz corpus in testdata/fuzz was sealed with these.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustRing(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	k, err := New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSeal(t testing.TB, k *Keyring, pt, ad []byte) []byte {
	t.Helper()
	s, err := k.Seal(pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	k := mustRing(t, Key{ID: "k1", Secret: secret(1)})
	for _, tc := range []struct {
		name   string
		pt, ad []byte
	}{
		{"json", []byte(`{"theme":"dark"}`), AD("state", "sid-1", "preferences")},
		{"empty plaintext", []byte{}, []byte("ad")},
		{"nil plaintext and ad", nil, nil},
		{"large", bytes.Repeat([]byte("x"), 1<<20), []byte("ad")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSeal(t, k, tc.pt, tc.ad)
			if len(tc.pt) >= 8 && bytes.Contains(s, tc.pt[:8]) {
				t.Errorf("sealed value contains the plaintext")
			}
			if want := 1 + 1 + 2 + nonceSize + len(tc.pt) + tagSize; len(s) != want {
				t.Errorf("len(sealed) = %d, want %d", len(s), want)
			}
			if s[0] != Version || s[1] != 2 || string(s[2:4]) != "k1" {
				t.Errorf("header = %q, want version 1, id k1", s[:4])
			}
			got, err := k.Open(s, tc.ad)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if !bytes.Equal(got, tc.pt) {
				t.Errorf("Open = %q, want %q", truncate(string(got), 40), truncate(string(tc.pt), 40))
			}
			if got == nil {
				t.Errorf("Open returned nil plaintext, want a non-nil slice")
			}
			if !k.Current(s) {
				t.Errorf("Current(fresh value) = false")
			}
			if id, ok := KeyID(s); !ok || id != "k1" {
				t.Errorf("KeyID = %q, %v", id, ok)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := mustRing(t, Key{ID: "k1", Secret: secret(1)})
	a := mustSeal(t, k, []byte("same"), nil)
	b := mustSeal(t, k, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}
}

// TestFlippedByte flips each bit of every byte of a sealed value: Open must
// refuse every variant with ErrAuth, or ErrUnknownKey when the id was hit.
func TestFlippedByte(t *testing.T) {
	k := mustRing(t, Key{ID: "key-a", Secret: secret(1)}, Key{ID: "key-b", Secret: secret(2)})
	ad := AD("sid", "user_data")
	s := mustSeal(t, k, []byte(`{"uploaded_files":[]}`), ad)
	idStart, idEnd := 1, 2+len("key-a") // the id and its length byte
	for i := range s {
		for bit := range 8 {
			c := bytes.Clone(s)
			c[i] ^= 1 << bit
			_, err := k.Open(c, ad)
			switch {
			case errors.Is(err, ErrAuth):
			case errors.Is(err, ErrUnknownKey) && i >= idStart && i < idEnd:
			default:
				t.Fatalf("byte %d bit %d flipped: Open = %v, want ErrAuth or (in the id) ErrUnknownKey", i, bit, err)
			}
		}
	}
}

func TestWrongAD(t *testing.T) {
	k := mustRing(t, Key{ID: "k1", Secret: secret(1)})
	s := mustSeal(t, k, []byte("v"), AD("sid-1", "user_data"))
	for _, ad := range [][]byte{
		nil,
		AD("sid-2", "user_data"),
		AD("sid-1", "analysis_data"),
		AD("sid-1user_data"),
		AD("sid-", "1user_data"),
		append(AD("sid-1", "user_data"), 0),
	} {
		if _, err := k.Open(s, ad); !errors.Is(err, ErrAuth) {
			t.Errorf("Open with ad %q = %v, want ErrAuth", ad, err)
		}
	}
}

func TestADIsUnambiguous(t *testing.T) {
	seen := map[string][]string{}
	for _, parts := range [][]string{
		{}, {""}, {"", ""}, {"ab", "c"}, {"a", "bc"}, {"abc"}, {"a", "b", "c"}, {"\x01a"}, {"", "a"},
	} {
		k := string(AD(parts...))
		if prev, dup := seen[k]; dup {
			t.Errorf("AD(%q) == AD(%q)", parts, prev)
		}
		seen[k] = parts
	}
}

// TestValueCannotMoveBetweenKeys: a value sealed under one key, relabelled
// with the id of another key of the same ring, does not open.
func TestValueCannotMoveBetweenKeys(t *testing.T) {
	k := mustRing(t, Key{ID: "aa", Secret: secret(1)}, Key{ID: "bb", Secret: secret(1)})
	s := mustSeal(t, k, []byte("v"), nil)
	c := bytes.Clone(s)
	copy(c[2:4], "bb")
	if _, err := k.Open(c, nil); !errors.Is(err, ErrAuth) {
		t.Errorf("Open(relabelled) = %v, want ErrAuth even with an equal secret", err)
	}
}

func TestTruncated(t *testing.T) {
	k := mustRing(t, Key{ID: "k1", Secret: secret(1)})
	s := mustSeal(t, k, []byte("some state value"), nil)
	for n := range len(s) {
		_, err := k.Open(s[:n], nil)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("Open(first %d of %d bytes) = %v, want ErrAuth", n, len(s), err)
		}
	}
	// Trailing garbage is tampering too.
	if _, err := k.Open(append(bytes.Clone(s), 0), nil); !errors.Is(err, ErrAuth) {
		t.Errorf("Open(value + 1 byte) = %v, want ErrAuth", err)
	}
}

func TestNotSealed(t *testing.T) {
	k := mustRing(t, Key{ID: "k1", Secret: secret(1)})
	for _, in := range []string{"", "{}", `{"theme":"dark"}`, "\x01", "\x01\x00", "\x02\x02k1" + strings.Repeat("x", 40), "\x01\x21" + strings.Repeat("a", 60)} {
		if _, err := k.Open([]byte(in), nil); !errors.Is(err, ErrAuth) {
			t.Errorf("Open(%q) = %v, want ErrAuth", in, err)
		}
		if k.Current([]byte(in)) {
			t.Errorf("Current(%q) = true", in)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	old := mustRing(t, Key{ID: "old", Secret: secret(1)})
	s := mustSeal(t, old, []byte("v"), nil)
	k := mustRing(t, Key{ID: "new", Secret: secret(2)})
	_, err := k.Open(s, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open(value under a removed key) = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), `"old"`) {
		t.Errorf("error %q does not name the key id", err)
	}
	if k.Current(s) {
		t.Error("Current(value under a removed key) = true")
	}
}

func TestRotation(t *testing.T) {
	oldKey := Key{ID: "2024-01", Secret: secret(1)}
	newKey := Key{ID: "2025-06", Secret: secret(2)}
	ad := AD("sid-1", "analysis_data")

	before := mustRing(t, oldKey)
	oldValue := mustSeal(t, before, []byte("results"), ad)

	after := mustRing(t, newKey, oldKey)
	if got := after.PrimaryID(); got != "2025-06" {
		t.Errorf("PrimaryID = %q, want the first key", got)
	}
	got, err := after.Open(oldValue, ad)
	if err != nil || string(got) != "results" {
		t.Fatalf("Open(old value) after rotation = %q, %v", got, err)
	}
	if after.Current(oldValue) {
		t.Error("Current(old value) = true, want false so that it is rewritten")
	}
	rewritten := mustSeal(t, after, got, ad)
	if !after.Current(rewritten) {
		t.Error("Current(rewritten value) = false")
	}
	if id, _ := KeyID(rewritten); id != "2025-06" {
		t.Errorf("rewritten under %q, want the new key", id)
	}
	// Once the old key is gone, only rewritten values open.
	final := mustRing(t, newKey)
	if _, err := final.Open(rewritten, ad); err != nil {
		t.Errorf("Open(rewritten) with the new key only = %v", err)
	}
	if _, err := final.Open(oldValue, ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open(old value) with the old key removed = %v, want ErrUnknownKey", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	k := mustRing(t, Key{ID: "a", Secret: secret(1)}, Key{ID: "b", Secret: secret(2)})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				pt := fmt.Appendf(nil, "g%d-i%d", g, i)
				ad := AD(fmt.Sprint(g))
				s, err := k.Seal(pt, ad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := k.Open(s, ad)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("Open = %q, %v, want %q", got, err, pt)
					return
				}
				_ = k.Current(s)
				_ = k.PrimaryID()
			}
		})
	}
	wg.Wait()
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		keys []Key
		want string // "" means valid
	}{
		{"one", []Key{{ID: "k", Secret: secret(1)}}, ""},
		{"longest id", []Key{{ID: strings.Repeat("a", 32), Secret: secret(1)}}, ""},
		{"all id characters", []Key{{ID: "AZaz09_-", Secret: secret(1)}}, ""},
		{"none", nil, "no keys"},
		{"empty id", []Key{{ID: "", Secret: secret(1)}}, "key 0: id"},
		{"long id", []Key{{ID: strings.Repeat("a", 33), Secret: secret(1)}}, "key 0: id"},
		{"id with colon", []Key{{ID: "a:b", Secret: secret(1)}}, "key 0: id"},
		{"id with space", []Key{{ID: "a b", Secret: secret(1)}}, "key 0: id"},
		{"duplicate id", []Key{{ID: "k", Secret: secret(1)}, {ID: "k", Secret: secret(2)}}, `key 1: duplicate id "k"`},
		{"short secret", []Key{{ID: "k", Secret: secret(1)[:16]}}, "secret is 16 bytes, want 32"},
		{"nil secret", []Key{{ID: "k"}}, "secret is 0 bytes, want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.keys...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestNewCopiesSecrets(t *testing.T) {
	s := secret(1)
	k := mustRing(t, Key{ID: "k", Secret: s})
	v := mustSeal(t, k, []byte("v"), nil)
	clear(s)
	if _, err := k.Open(v, nil); err != nil {
		t.Errorf("Open after the caller wiped its secret = %v", err)
	}
}

func TestGenerateAndParseKey(t *testing.T) {
	s, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != KeySize {
		t.Fatalf("GenerateKey() = %q: not padded std base64 of 32 bytes (%v)", s, err)
	}
	if s2, _ := GenerateKey(); s2 == s {
		t.Error("two GenerateKey calls returned the same key")
	}
	got, err := ParseKey(s)
	if err != nil || !bytes.Equal(got, raw) {
		t.Errorf("ParseKey(GenerateKey()) = %x, %v", got, err)
	}

	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(250 - i) // bytes that make + / in std and - _ in url base64
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		in := enc.EncodeToString(key)
		got, err := ParseKey(" " + in + "\n")
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", in, got, err)
		}
	}

	const material = "c2VjcmV0LW1hdGVyaWFs" // must never show up in an error
	for in, want := range map[string]string{
		"":              "empty key",
		"   ":           "empty key",
		"not base64!":   "not valid base64",
		material:        "decodes to 15 bytes, want 32",
		material + "@@": "not valid base64",
		base64.StdEncoding.EncodeToString(make([]byte, 33)): "decodes to 33 bytes, want 32",
	} {
		_, err := ParseKey(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) = %v, want %q", in, err, want)
			continue
		}
		if strings.Contains(err.Error(), "c2Vj") {
			t.Errorf("ParseKey error repeats key material: %v", err)
		}
	}
}

func TestEmptyKeyring(t *testing.T) {
	var k *Keyring
	if _, err := k.Seal([]byte("x"), nil); err == nil {
		t.Error("Seal on a nil keyring succeeded")
	}
	if _, err := k.Open([]byte("x"), nil); err == nil {
		t.Error("Open on a nil keyring succeeded")
	}
	if k.Current([]byte("x")) {
		t.Error("Current on a nil keyring = true")
	}
}

func BenchmarkSeal(b *testing.B) {
	k := mustRing(b, Key{ID: "k1", Secret: secret(1)})
	pt := bytes.Repeat([]byte("x"), 1024)
	ad := AD("sid", "user_data")
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := k.Seal(pt, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := mustRing(b, Key{ID: "k1", Secret: secret(1)})
	pt := bytes.Repeat([]byte("x"), 1024)
	ad := AD("sid", "user_data")
	s := mustSeal(b, k, pt, ad)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := k.Open(s, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIDs(t *testing.T) {
	tests := []struct {
		name string
		keys []Key
		want []string
	}{
		{"one", []Key{{ID: "k1", Secret: secret(1)}}, []string{"k1"}},
		{"primary first, then as given", []Key{{ID: "new", Secret: secret(2)}, {ID: "old", Secret: secret(1)}, {ID: "a", Secret: secret(3)}}, []string{"new", "old", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustRing(t, tt.keys...)
			got := k.IDs()
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("IDs() = %q, want %q", got, tt.want)
			}
			if got[0] != k.PrimaryID() {
				t.Errorf("IDs()[0] = %q, want the primary %q", got[0], k.PrimaryID())
			}
			got[0] = "changed"
			if k.IDs()[0] != tt.want[0] {
				t.Errorf("changing the returned slice changed the ring")
			}
		})
	}
}
