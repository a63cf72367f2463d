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
//
// The file appears complete or not at all: the line is written to a
// temporary file (O_EXCL, 0600) and hard-linked into place, which fails if
// path exists. Where hard links are not supported it is written in place
// with O_EXCL instead.
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
	line := []byte(k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret) + "\n")

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(path)+"."+k.ID+".tmp")
	if err := writeExcl(tmp, line); err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	err := os.Link(tmp, path)
	os.Remove(tmp)
	switch {
	case err == nil:
		return k, nil
	case errors.Is(err, fs.ErrExist):
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	// No hard links here (some network and FUSE file systems).
	if err := writeExcl(path, line); err != nil {
		return Key{}, fmt.Errorf("seal: create key file: %w", err)
	}
	return k, nil
}

// writeExcl creates path (which must not exist) with mode 0600 and writes
// data to it durably. A file it could not finish is removed: a half-written
// key file would stop every later start-up.
func writeExcl(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// LoadOrCreateKeyFile loads the key file at path, creating it first when it
// does not exist; created reports which. Processes starting at once end up
// with the same key: the ones that lose the race load the winner's file,
// which is complete from the moment it exists.
func LoadOrCreateKeyFile(path string) (k Key, created bool, err error) {
	k, ok, err := LoadKeyFile(path)
	if err != nil || ok {
		return k, false, err
	}
	k, err = CreateKeyFile(path)
	if !errors.Is(err, fs.ErrExist) {
		return k, err == nil, err
	}
	k, ok, err = LoadKeyFile(path)
	if err == nil && !ok {
		err = fmt.Errorf("seal: key file %s disappeared while it was being created", path)
	}
	return k, false, err
}
