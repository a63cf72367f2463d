package files

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespace is one session's files: data/ holds what the session keeps (uploads,
// results), tmp/ what is being produced. Both count against the quota. It is safe
// for concurrent use; every method resolves names through os.Root.
type Namespace struct {
	m    *Manager
	sid  string
	acct *account
	root *os.Root // <sid>/, for renames between tmp/ and data/ and for usage
	data *os.Root // <sid>/data
	tmp  *os.Root // <sid>/tmp

	mu      sync.Mutex
	writers int  // Writers not yet finished; they need the roots open
	closed  bool // Close was called
}

// FileInfo describes one file in data/.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// SID is the session the namespace belongs to.
func (n *Namespace) SID() string { return n.sid }

// Create makes a new file in data/ and returns a Writer for it. The name must be
// free (fs.ErrExist otherwise, also when it is taken by a planted symlink, which
// is never followed). The file is visible from the start; write into CreateTemp
// and Rename when a file must appear only complete.
func (n *Namespace) Create(name string) (*Writer, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := n.beginWriter(); err != nil {
		return nil, err
	}
	f, err := n.data.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		n.endWriter()
		return nil, fmt.Errorf("files: create %s: %w", quoteShort(name), err)
	}
	return n.newWriter(f, n.data, "data/", name), nil
}

// CreateTemp makes a new file in tmp/ with a name made from pattern as
// os.CreateTemp does (the last "*" is replaced by a random string, or one is
// appended). Writer.Name gives the name to pass to Rename.
func (n *Namespace) CreateTemp(pattern string) (*Writer, error) {
	prefix, suffix := pattern, ""
	if i := strings.LastIndex(pattern, "*"); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	// Check the shape once with a stand-in for the random part.
	if err := ValidName(prefix + "0000000000" + suffix); err != nil {
		return nil, err
	}
	if err := n.beginWriter(); err != nil {
		return nil, err
	}
	for range 1000 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32())+1e9, 10) + suffix
		f, err := n.tmp.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			n.endWriter()
			return nil, fmt.Errorf("files: create temp %s: %w", quoteShort(pattern), err)
		}
		return n.newWriter(f, n.tmp, "tmp/", name), nil
	}
	n.endWriter()
	return nil, fmt.Errorf("files: create temp %s: %w", quoteShort(pattern), fs.ErrExist)
}

// Open opens a file in data/ for reading. Only regular files open; a symlink
// leading outside data/ is refused by os.Root.
func (n *Namespace) Open(name string) (*os.File, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	f, err := n.data.Open(name)
	if err != nil {
		return nil, fmt.Errorf("files: open %s: %w", quoteShort(name), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("files: open %s: %w", quoteShort(name), err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("files: open %s: not a regular file", quoteShort(name))
	}
	return f, nil
}

// Remove deletes a file from data/ (a symlink itself, never its target). A file
// still being written is unlinked; its Writer keeps working and its bytes are
// released when it finishes. A missing name wraps fs.ErrNotExist.
func (n *Namespace) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	a := n.acct
	a.mu.Lock()
	defer a.mu.Unlock()
	fi, err := n.data.Lstat(name)
	if err != nil {
		return fmt.Errorf("files: remove %s: %w", quoteShort(name), err)
	}
	if fi.IsDir() {
		return fmt.Errorf("files: remove %s: is a directory", quoteShort(name))
	}
	if err := n.data.Remove(name); err != nil {
		return fmt.Errorf("files: remove %s: %w", quoteShort(name), err)
	}
	if w := a.open["data/"+name]; w != nil {
		w.unlinked = true
		delete(a.open, "data/"+name)
	} else if fi.Mode().IsRegular() {
		a.used -= fi.Size()
	}
	return nil
}

// Rename moves a finished temp file (a Writer from CreateTemp, closed) into data/
// as name, replacing a file of that name atomically: readers see the old or the
// new file, never a partial one. A temp file still being written, or a target
// still being written, is refused.
func (n *Namespace) Rename(tmpName, name string) error {
	if err := ValidName(tmpName); err != nil {
		return err
	}
	if err := ValidName(name); err != nil {
		return err
	}
	a := n.acct
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open["tmp/"+tmpName] != nil {
		return fmt.Errorf("files: rename %s: still being written", quoteShort(tmpName))
	}
	if a.open["data/"+name] != nil {
		return fmt.Errorf("files: rename to %s: being written: %w", quoteShort(name), fs.ErrExist)
	}
	fi, err := n.tmp.Lstat(tmpName)
	if err != nil {
		return fmt.Errorf("files: rename %s: %w", quoteShort(tmpName), err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("files: rename %s: not a regular file", quoteShort(tmpName))
	}
	var replaced int64
	old, err := n.data.Lstat(name)
	switch {
	case err == nil && old.IsDir():
		return fmt.Errorf("files: rename to %s: is a directory", quoteShort(name))
	case err == nil && old.Mode().IsRegular():
		replaced = old.Size()
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("files: rename to %s: %w", quoteShort(name), err)
	}
	// Both names are single validated components, so these paths stay in
	// tmp/ and data/; the root confines them to the namespace regardless.
	if err := n.root.Rename("tmp/"+tmpName, "data/"+name); err != nil {
		return fmt.Errorf("files: rename %s to %s: %w", quoteShort(tmpName), quoteShort(name), err)
	}
	a.used -= replaced
	return nil
}

// List returns the regular files in data/, sorted by name. Symlinks and
// anything else planted there are not listed.
func (n *Namespace) List() ([]FileInfo, error) {
	d, err := n.data.Open(".")
	if err != nil {
		return nil, fmt.Errorf("files: list: %w", err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("files: list: %w", err)
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("files: list: %w", err)
		}
		out = append(out, FileInfo{Name: e.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Usage is the number of bytes in regular files in data/ and tmp/, as on disk
// now (files being written count what they have written so far).
func (n *Namespace) Usage() (int64, error) {
	used, err := diskUsage(n.root)
	if err != nil {
		return 0, fmt.Errorf("files: %w", err)
	}
	return used, nil
}

// Close releases the namespace. Writers still open keep working; the directory
// handles are released when the last of them finishes. Closing twice is a no-op.
func (n *Namespace) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	last := n.writers == 0
	n.mu.Unlock()
	if !last {
		return nil
	}
	return n.release()
}

func (n *Namespace) beginWriter() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("files: namespace %s: %w", n.sid, os.ErrClosed)
	}
	n.writers++
	return nil
}

// endWriter is called once per successful beginWriter.
func (n *Namespace) endWriter() {
	n.mu.Lock()
	n.writers--
	last := n.closed && n.writers == 0
	n.mu.Unlock()
	if last {
		n.release() // nobody to report a close error to
	}
}

func (n *Namespace) release() error {
	err := errors.Join(n.tmp.Close(), n.data.Close(), n.root.Close())
	n.m.release(n.sid, n.acct)
	if err != nil {
		return fmt.Errorf("files: close namespace %s: %w", n.sid, err)
	}
	return nil
}
