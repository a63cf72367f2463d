package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fuzzRing is the ring FuzzOpen opens with. Its keys are fixed so that the
// seed corpus in testdata/fuzz/FuzzOpen holds values that really open.
func fuzzRing(t testing.TB) *Keyring {
	return mustRing(t, Key{ID: "fuzz-new", Secret: secret(7)}, Key{ID: "fuzz-old", Secret: secret(8)})
}

// FuzzOpen feeds Open arbitrary bytes: it must never panic, fail only with
// ErrAuth or ErrUnknownKey, and succeed only on a value that re-seals and
// opens to the same plaintext.
func FuzzOpen(f *testing.F) {
	k := fuzzRing(f)
	ad := AD("sid", "user_data")
	f.Add(mustSeal(f, k, []byte(`{"a":1}`), ad), ad)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{Version, 8}, ad)
	f.Add([]byte("\x01\x08fuzz-old"), ad)
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		pt, err := k.Open(sealed, ad)
		_ = k.Current(sealed)
		_, _ = KeyID(sealed)
		if err != nil {
			if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open = %v, want ErrAuth or ErrUnknownKey", err)
			}
			if pt != nil {
				t.Fatalf("Open failed but returned %d bytes", len(pt))
			}
			return
		}
		again, err := k.Open(mustSeal(t, k, pt, ad), ad)
		if err != nil || !bytes.Equal(again, pt) {
			t.Fatalf("re-sealed value: Open = %v", err)
		}
	})
}

// TestFuzzCorpus checks the seed corpus still means what its file names say,
// so FuzzOpen starts from values that open as well as from ones that must not.
func TestFuzzCorpus(t *testing.T) {
	k := fuzzRing(t)
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzOpen"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 5 {
		t.Fatalf("seed corpus has %d entries", len(entries))
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzOpen", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a two-argument corpus file", e.Name())
		}
		var args [2][]byte
		for i, l := range lines[1:] {
			s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(l, "[]byte("), ")"))
			if err != nil {
				t.Fatalf("%s: line %d: %v", e.Name(), i+2, err)
			}
			args[i] = []byte(s)
		}
		_, err = k.Open(args[0], args[1])
		switch {
		case strings.HasPrefix(e.Name(), "valid-"):
			if err != nil {
				t.Errorf("%s: Open = %v, want success", e.Name(), err)
			}
		case strings.HasPrefix(e.Name(), "unknown-key"):
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("%s: Open = %v, want ErrUnknownKey", e.Name(), err)
			}
		default:
			if !errors.Is(err, ErrAuth) {
				t.Errorf("%s: Open = %v, want ErrAuth", e.Name(), err)
			}
		}
	}
}
