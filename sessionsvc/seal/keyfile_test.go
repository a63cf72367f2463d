package seal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestCreateAndLoadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "session.key") // parent created
	k, err := CreateKeyFile(path)
	if err != nil {
		t.Fatalf("CreateKeyFile = %v", err)
	}
	if !regexp.MustCompile(`^local-[0-9a-f]{8}$`).MatchString(k.ID) {
		t.Errorf("id = %q, want local-<8 hex>", k.ID)
	}
	if len(k.Secret) != KeySize {
		t.Errorf("secret is %d bytes", len(k.Secret))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !regexp.MustCompile(`^local-[0-9a-f]{8}:[A-Za-z0-9+/]{43}=\n$`).Match(data) {
		t.Errorf("file = %q, want one id:base64key line", data)
	}

	got, ok, err := LoadKeyFile(path)
	if err != nil || !ok {
		t.Fatalf("LoadKeyFile = %v, %v", ok, err)
	}
	if got.ID != k.ID || !bytes.Equal(got.Secret, k.Secret) {
		t.Errorf("LoadKeyFile = %q, want the created key %q", got.ID, k.ID)
	}

	// Never overwritten: replacing a key loses everything sealed under it.
	if _, err := CreateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateKeyFile(existing) = %v, want fs.ErrExist", err)
	}
	// No temporary file is left behind, after success or refusal.
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}
	again, _, _ := LoadKeyFile(path)
	if !bytes.Equal(again.Secret, k.Secret) {
		t.Error("the key file changed")
	}
}

func TestLoadKeyFileMissing(t *testing.T) {
	k, ok, err := LoadKeyFile(filepath.Join(t.TempDir(), "session.key"))
	if err != nil || ok || k.ID != "" {
		t.Errorf("LoadKeyFile(missing) = %v, %v, %v, want zero, false, nil", k, ok, err)
	}
}

func TestLoadKeyFileRefusesOpenPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	path := filepath.Join(t.TempDir(), "session.key")
	if _, err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: LoadKeyFile = %v, want a chmod 600 hint", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := LoadKeyFile(path); err != nil || !ok {
		t.Errorf("mode 0400: LoadKeyFile = %v, %v", ok, err)
	}
}

func TestLoadKeyFileMalformed(t *testing.T) {
	key, _ := GenerateKey()
	const material = "c2VjcmV0LW1hdGVyaWFs"
	tests := []struct {
		name, body, want string // want "" means valid
	}{
		{"valid", "k1:" + key + "\n", ""},
		{"no newline", "k1:" + key, ""},
		{"crlf", "k1:" + key + "\r\n", ""},
		{"url-safe key", "k1:" + strings.NewReplacer("+", "-", "/", "_").Replace(key), ""},
		{"empty", "", "empty"},
		{"only a newline", "\n", "empty"},
		{"no colon", key + "\n", "no ':'"},
		{"empty id", ":" + key + "\n", `key id ""`},
		{"bad id", "a b:" + key + "\n", `key id "a b"`},
		{"short key", "k1:" + material + "\n", `key "k1": key decodes to 15 bytes, want 32`},
		{"not base64", "k1:" + material + "!!\n", `key "k1": key is not valid base64`},
		{"two lines", "k1:" + key + "\nk2:" + key + "\n", "more than one line"},
		{"blank line after", "k1:" + key + "\n\n", "more than one line"},
		{"too large", strings.Repeat("x", 5000), "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "session.key")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			k, ok, err := LoadKeyFile(path)
			if tc.want == "" {
				if err != nil || !ok || k.ID != "k1" || len(k.Secret) != KeySize {
					t.Fatalf("LoadKeyFile = %q, %v, %v", k.ID, ok, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadKeyFile = %v, want an error naming the file and containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), material[:8]) || strings.Contains(err.Error(), key[:8]) {
				t.Errorf("error repeats key material: %v", err)
			}
		})
	}
}

func TestLoadKeyFileRefusesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "session.key")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadKeyFile(dir); err == nil {
		t.Error("LoadKeyFile(directory) succeeded")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKeyFile = %v, %v, want created", created, err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || k2.ID != k1.ID || !bytes.Equal(k1.Secret, k2.Secret) {
		t.Fatalf("second LoadOrCreateKeyFile = %q, %v, %v, want the first key loaded", k2.ID, created, err)
	}
}

// TestLoadOrCreateKeyFileRace: processes starting at once agree on one key.
func TestLoadOrCreateKeyFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.key")
	const n = 16
	var wg sync.WaitGroup
	keys := make([]Key, n)
	creators := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			k, created, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], creators[i] = k, created
		})
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if creators[i] {
			nCreated++
		}
		if keys[i].ID != keys[0].ID || !bytes.Equal(keys[i].Secret, keys[0].Secret) {
			t.Errorf("caller %d got key %q, caller 0 got %q", i, keys[i].ID, keys[0].ID)
		}
	}
	if nCreated != 1 {
		t.Errorf("%d callers created the file, want 1", nCreated)
	}
}

func TestKeyFileKeyOpensItsValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.key")
	created, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := mustSeal(t, mustRing(t, created), []byte("v"), nil)
	loaded, _, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mustRing(t, loaded).Open(s, nil); err != nil || string(got) != "v" {
		t.Errorf("Open with the reloaded key = %q, %v", got, err)
	}
}
