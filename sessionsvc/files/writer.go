package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Writer writes one new file of a namespace and charges every byte to the
// session's quota before it reaches the disk. A Writer is for one goroutine;
// many Writers of one namespace may run at once and share the quota.
//
// A file ends in one of two ways. Close keeps it. Abort, or any failed Write
// (ErrQuota or an I/O error), removes it and gives its bytes back, so no
// partial file is left behind. Abort after a successful Close does nothing,
// which makes `defer w.Abort()` right after Create the safe pattern.
type Writer struct {
	n    *Namespace
	f    *os.File
	dir  *os.Root // data or tmp, to remove the file on failure
	key  string   // "data/<name>" or "tmp/<name>", the account's key
	name string

	size     int64 // bytes written and charged
	err      error // first failure, or the abort; the file is already gone
	abortErr error // what removing the file reported
	done     bool  // finished: closed, aborted or failed

	unlinked bool // the name was removed from under us; guarded by acct.mu
}

func (n *Namespace) newWriter(f *os.File, dir *os.Root, prefix, name string) *Writer {
	w := &Writer{n: n, f: f, dir: dir, key: prefix + name, name: name}
	n.acct.mu.Lock()
	n.acct.open[w.key] = w
	n.acct.mu.Unlock()
	return w
}

// Name is the file's name in its directory: what Open or, for a temp file,
// Rename take.
func (w *Writer) Name() string { return w.name }

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Write charges len(p) bytes to the quota and writes them. If the session's usage
// would exceed the quota, nothing is written, the file is removed and the error
// wraps ErrQuota; every later call returns the same error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, fmt.Errorf("files: write %s: %w", quoteShort(w.name), os.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.reserve(int64(len(p))); err != nil {
		w.fail(err)
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if n < len(p) {
		w.giveBack(int64(len(p) - n))
	}
	if err != nil {
		w.fail(fmt.Errorf("files: write %s: %w", quoteShort(w.name), err))
		return n, w.err
	}
	return n, nil
}

// reserve charges n bytes to the account, or refuses with ErrQuota.
func (w *Writer) reserve(n int64) error {
	a, quota := w.n.acct, w.n.m.quota
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used+n > quota {
		return fmt.Errorf("files: write %s: %w (%d of %d bytes used)", quoteShort(w.name), ErrQuota, a.used, quota)
	}
	a.used += n
	return nil
}

func (w *Writer) giveBack(n int64) {
	a := w.n.acct
	a.mu.Lock()
	a.used -= n
	a.mu.Unlock()
}

// Close finishes the file and keeps it. If a Write failed or Abort was called,
// the file is already gone and Close returns that error. Closing twice returns
// the first result.
func (w *Writer) Close() error {
	if w.done {
		return w.err
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		w.fail(fmt.Errorf("files: close %s: %w", quoteShort(w.name), err))
		return w.err
	}
	w.done = true
	a := w.n.acct
	a.mu.Lock()
	if a.open[w.key] == w {
		delete(a.open, w.key)
	}
	if w.unlinked {
		// Removed while we wrote: its bytes left the disk with the last close.
		a.used -= w.size
	}
	a.mu.Unlock()
	w.n.endWriter()
	return nil
}

// Abort discards the file: it is closed and removed, and its bytes are given
// back to the quota. After Close or a failed Write it does nothing.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.fail(fmt.Errorf("files: write %s: aborted: %w", quoteShort(w.name), os.ErrClosed))
	return w.abortErr
}

// fail ends the writer: closes and removes the file, gives its bytes back and
// records cause as the error later calls return.
func (w *Writer) fail(cause error) {
	w.err = cause
	w.done = true
	var errs []error
	if w.f != nil {
		errs = append(errs, w.f.Close())
	}
	a := w.n.acct
	a.mu.Lock()
	if !w.unlinked {
		// The name is still ours while it is in the open map, so removing by
		// name cannot hit a file someone else created since.
		if err := w.dir.Remove(w.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if a.open[w.key] == w {
		delete(a.open, w.key)
	}
	a.used -= w.size
	a.mu.Unlock()
	w.n.endWriter()
	if err := errors.Join(errs...); err != nil {
		w.abortErr = fmt.Errorf("files: discard %s: %w", quoteShort(w.name), err)
	}
}
