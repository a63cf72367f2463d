package seal

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// A key file holds one line, "id:base64key". It is what a single-instance
// server (the database and memory backends) uses when config.yaml names no
// key: generated once, kept next to the data it protects, readable only by
// its owner.

// maxKeyFile bounds what LoadKeyFile reads: a key line is under 100 bytes.
const maxKeyFile = 4096

// LoadKeyFile reads the key file at path. A missing file is (Key{}, false,
// nil). A file that group or others may read is refused, since a key anyone
// on the machine can read protects nothing; so is anything but one valid
// "id:base64key" line. Errors never contain key material.
func LoadKeyFile(path string) (Key, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, false, nil
	}
	if err != nil {
		return Key{}, false, fmt.Errorf("seal: key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path: no window for a swap between the
	// check and the read.
	fi, err := f.Stat()
	if err != nil {
		return Key{}, false, fmt.Errorf("seal: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Key{}, false, fmt.Errorf("seal: key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return Key{}, false, fmt.Errorf("seal: key file %s is readable by others (mode %04o): chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return Key{}, false, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return Key{}, false, fmt.Errorf("seal: key file %s: too large for one id:base64key line", path)
	}
	k, err := parseKeyLine(string(data))
	if err != nil {
		return Key{}, false, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	return k, true, nil
}

func parseKeyLine(s string) (Key, error) {
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return Key{}, errors.New("empty; want one line id:base64key")
	}
	if strings.ContainsAny(s, "\r\n") {
		return Key{}, errors.New("more than one line; want one line id:base64key")
	}
	id, b64, ok := strings.Cut(s, ":")
	if !ok {
		return Key{}, errors.New("no ':'; want one line id:base64key")
	}
	if !ValidID(id) {
		return Key{}, fmt.Errorf("key id %q: want 1 to %d characters of A-Z a-z 0-9 _ -", truncate(id, MaxIDLen), MaxIDLen)
	}
	secret, err := ParseKey(b64)
	if err != nil {
		return Key{}, fmt.Errorf("key %q: %s", id, strings.TrimPrefix(err.Error(), "seal: "))
	}
	return Key{ID: id, Secret: secret}, nil
}

// CreateKeyFile generates a key with id "local-<8 hex digits>", writes it to
// path with mode 0600 and returns it. It never overwrites: an existing file
// is an error wrapping fs.ErrExist (replacing a key would make everything
// sealed under it unreadable). The parent directory is created (0700) if
// missing.
func CreateKeyFile(path string) (Key, error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	k := Key{ID: "local-" + hex.EncodeToString(suffix[:]), Secret: secret}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	line := k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret) + "\n"
	_, err = f.WriteString(line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A half-written file would stop every later start-up.
		os.Remove(path)
		return Key{}, fmt.Errorf("seal: create key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateKeyFile loads the key file at path, creating it first when it
// does not exist; created reports which. Two processes starting at once end
// up with the same key: the one that loses the O_EXCL race waits briefly for
// the winner's line and loads it.
func LoadOrCreateKeyFile(path string) (k Key, created bool, err error) {
	k, ok, err := LoadKeyFile(path)
	if err != nil || ok {
		return k, false, err
	}
	k, err = CreateKeyFile(path)
	if !errors.Is(err, fs.ErrExist) {
		return k, err == nil, err
	}
	// The file appeared since the first look: another process created it and
	// may not have written its line yet. Give it a moment.
	for range 20 {
		k, ok, err = LoadKeyFile(path)
		if err == nil && ok {
			return k, false, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err == nil {
		err = fmt.Errorf("seal: key file %s: created by another process but not readable", path)
	}
	return Key{}, false, err
}
