package files

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// newManager returns a Manager over a fresh directory, closed with the test.
func newManager(t *testing.T, quota int64) (*Manager, string) {
	t.Helper()
	root := t.TempDir()
	m, err := NewManager(root, quota)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, root
}

func openNS(t *testing.T, m *Manager, sid string) *Namespace {
	t.Helper()
	n, err := m.Namespace(sid)
	if err != nil {
		t.Fatalf("Namespace(%q): %v", sid, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func writeFile(t *testing.T, n *Namespace, name, content string) {
	t.Helper()
	w, err := n.Create(name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	defer w.Abort()
	if _, err := io.WriteString(w, content); err != nil {
		t.Fatalf("write %q: %v", name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %q: %v", name, err)
	}
}

func readFile(t *testing.T, n *Namespace, name string) string {
	t.Helper()
	f, err := n.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return string(b)
}

func usage(t *testing.T, n *Namespace) int64 {
	t.Helper()
	u, err := n.Usage()
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return u
}

// hostileNames are refused by ValidName and by every method taking a name.
var hostileNames = []struct {
	desc, name string
}{
	{"empty", ""},
	{"dot", "."},
	{"dotdot", ".."},
	{"parent", "../x"},
	{"deep parent", "../../etc/passwd"},
	{"absolute", "/etc/passwd"},
	{"two components", "a/b"},
	{"backslash", `a\b`},
	{"windows parent", `..\x`},
	{"trailing slash", "x/"},
	{"NUL", "x\x00y"},
	{"256 bytes", strings.Repeat("a", 256)},
	{"invalid UTF-8", "x\xffy"},
	{"newline", "x\ny"},
	{"leading dash", "-rf"},
}

func TestValidName(t *testing.T) {
	for _, tc := range hostileNames {
		t.Run(tc.desc, func(t *testing.T) {
			err := ValidName(tc.name)
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("ValidName(%q) = %v, want ErrBadName", tc.name, err)
			}
		})
	}
	for _, name := range []string{
		"report.csv", "a b.txt", "ñandutí.json", ".hidden", "x-y_z.1", "..x", "x..",
		strings.Repeat("a", 255), strings.Repeat("é", 127), // 254 bytes
	} {
		if err := ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
}

// TestHostileNamesRefused runs every hostile name through every method of a
// namespace: each is refused before touching the disk, and nothing appears
// outside the namespace.
func TestHostileNamesRefused(t *testing.T) {
	m, root := newManager(t, 1<<20)
	n := openNS(t, m, "alice")
	writeFile(t, n, "ok.txt", "fine")

	ops := []struct {
		op  string
		run func(name string) error
	}{
		{"Create", func(name string) error {
			w, err := n.Create(name)
			if err == nil {
				w.Abort()
			}
			return err
		}},
		{"CreateTemp", func(name string) error {
			w, err := n.CreateTemp(name)
			if err == nil {
				w.Abort()
			}
			return err
		}},
		{"Open", func(name string) error {
			f, err := n.Open(name)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"Remove", n.Remove},
		{"Rename from", func(name string) error { return n.Rename(name, "ok2.txt") }},
		{"Rename to", func(name string) error { return n.Rename("ok.txt", name) }},
	}
	for _, tc := range hostileNames {
		for _, op := range ops {
			if op.op == "CreateTemp" && (tc.name == "" || tc.name == "." || tc.name == "..") {
				continue // a random part is appended: "", "." and ".." make fine names
			}
			t.Run(op.op+"/"+tc.desc, func(t *testing.T) {
				if err := op.run(tc.name); !errors.Is(err, ErrBadName) {
					t.Fatalf("%s(%q) = %v, want ErrBadName", op.op, tc.name, err)
				}
			})
		}
	}
	if got := readFile(t, n, "ok.txt"); got != "fine" {
		t.Errorf("ok.txt = %q after hostile calls, want %q", got, "fine")
	}
	// Nothing escaped: the root holds only sessions/alice/{data/ok.txt,tmp}.
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		paths = append(paths, rel)
		return nil
	})
	want := []string{".", "sessions", "sessions/alice", "sessions/alice/data", "sessions/alice/data/ok.txt", "sessions/alice/tmp"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("tree after hostile calls = %v, want %v", paths, want)
	}
}

func TestHostileSIDsRefused(t *testing.T) {
	m, root := newManager(t, 1<<20)
	openNS(t, m, "good")
	for _, sid := range []string{"", ".", "..", "../x", "a/b", `a\b`, "/etc", "a:b", "x\x00", "a b", strings.Repeat("a", 65)} {
		t.Run(sid, func(t *testing.T) {
			if _, err := m.Namespace(sid); !errors.Is(err, ErrBadName) {
				t.Errorf("Namespace(%q) = %v, want ErrBadName", sid, err)
			}
			if err := m.Remove(sid); !errors.Is(err, ErrBadName) {
				t.Errorf("Remove(%q) = %v, want ErrBadName", sid, err)
			}
			if err := m.Move("good", sid); !errors.Is(err, ErrBadName) {
				t.Errorf("Move(good, %q) = %v, want ErrBadName", sid, err)
			}
			if err := m.Move(sid, "other"); !errors.Is(err, ErrBadName) {
				t.Errorf("Move(%q, other) = %v, want ErrBadName", sid, err)
			}
			if m.Exists(sid) {
				t.Errorf("Exists(%q) = true, want false", sid)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "sessions", "good", "data")); err != nil {
		t.Errorf("good namespace damaged: %v", err)
	}
}

// TestSymlinksOutsideRefused plants symlinks in a session's data/ pointing at
// another session's file, at /etc/passwd and at the session's own tmp/: none
// can be read or written through the namespace, and the targets stay intact.
func TestSymlinksOutsideRefused(t *testing.T) {
	m, root := newManager(t, 1<<20)
	alice := openNS(t, m, "alice")
	bob := openNS(t, m, "bob")
	writeFile(t, bob, "secret.txt", "bob's secret")
	tw, err := alice.CreateTemp("work-*")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, "temp")
	tw.Close()

	bobSecret := filepath.Join(root, "sessions", "bob", "data", "secret.txt")
	aliceData := filepath.Join(root, "sessions", "alice", "data")
	links := []struct{ name, target string }{
		{"bob-abs", bobSecret},
		{"bob-rel", "../../bob/data/secret.txt"},
		{"bob-dir", "../../bob/data"},
		{"passwd", "/etc/passwd"},
		{"passwd-rel", strings.Repeat("../", 20) + "etc/passwd"},
		{"own-tmp", "../tmp/" + tw.Name()},
	}
	for _, l := range links {
		if err := os.Symlink(l.target, filepath.Join(aliceData, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	passwdBefore, _ := os.ReadFile("/etc/passwd")

	for _, l := range links {
		t.Run(l.name, func(t *testing.T) {
			if f, err := alice.Open(l.name); err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				t.Fatalf("Open(%q) read %d bytes through a symlink to %s, want an error", l.name, len(b), l.target)
			}
			if w, err := alice.Create(l.name); err == nil {
				io.WriteString(w, "overwritten")
				w.Close()
				t.Fatalf("Create(%q) succeeded through a symlink to %s, want an error", l.name, l.target)
			} else if !errors.Is(err, fs.ErrExist) {
				t.Errorf("Create(%q) = %v, want fs.ErrExist", l.name, err)
			}
		})
	}
	list, err := alice.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("List() = %v, want no symlinks listed", list)
	}
	// Replacing a planted link by a rename, or removing it, touches the link only.
	tw2, _ := alice.CreateTemp("")
	io.WriteString(tw2, "mine")
	tw2.Close()
	if err := alice.Rename(tw2.Name(), "bob-abs"); err != nil {
		t.Fatalf("Rename over a symlink: %v", err)
	}
	if got := readFile(t, alice, "bob-abs"); got != "mine" {
		t.Errorf("bob-abs after rename = %q, want %q", got, "mine")
	}
	if err := alice.Remove("bob-rel"); err != nil {
		t.Fatalf("Remove(bob-rel): %v", err)
	}
	if err := alice.Remove("passwd"); err != nil {
		t.Fatalf("Remove(passwd): %v", err)
	}
	if got := readFile(t, bob, "secret.txt"); got != "bob's secret" {
		t.Errorf("bob's secret = %q, want it intact", got)
	}
	if passwdAfter, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(passwdBefore, passwdAfter) {
		t.Error("/etc/passwd changed")
	}
	// Symlinks do not count towards usage: only the temp file and bob-abs.
	if got, want := usage(t, alice), int64(len("temp")+len("mine")); got != want {
		t.Errorf("alice usage = %d, want %d", got, want)
	}
}

// TestPlantedDirectoriesRefused covers symlinks one level up: a sid entry, or a
// session's data/ directory, replaced by a symlink to another session. os.Root
// alone would follow them, since they stay inside the sessions root.
func TestPlantedDirectoriesRefused(t *testing.T) {
	m, root := newManager(t, 1<<20)
	bob := openNS(t, m, "bob")
	writeFile(t, bob, "secret.txt", "bob's secret")
	sessions := filepath.Join(root, "sessions")

	if err := os.Symlink("bob", filepath.Join(sessions, "mallory")); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Namespace("mallory"); err == nil {
		n.Close()
		t.Error("Namespace(mallory) with sessions/mallory -> bob succeeded, want an error")
	}
	if m.Exists("mallory") {
		t.Error("Exists(mallory) = true for a symlink, want false")
	}
	if err := m.Move("mallory", "eve"); err == nil {
		t.Error("Move from a symlinked sid succeeded, want an error")
	}

	if err := os.MkdirAll(filepath.Join(sessions, "trudy"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../bob/data", filepath.Join(sessions, "trudy", "data")); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Namespace("trudy"); err == nil {
		n.Close()
		t.Error("Namespace(trudy) with data -> ../bob/data succeeded, want an error")
	}

	// Removing the planted namespaces removes the links, never bob's files.
	for _, sid := range []string{"mallory", "trudy"} {
		if err := m.Remove(sid); err != nil {
			t.Fatalf("Remove(%s): %v", sid, err)
		}
	}
	if got := readFile(t, bob, "secret.txt"); got != "bob's secret" {
		t.Errorf("bob's secret = %q, want it intact", got)
	}
}

func TestOtherSessionUnreachable(t *testing.T) {
	m, _ := newManager(t, 1<<20)
	alice := openNS(t, m, "alice")
	bob := openNS(t, m, "bob")
	writeFile(t, bob, "secret.txt", "bob's secret")
	for _, name := range []string{"secret.txt", "../bob/data/secret.txt", "../../bob/data/secret.txt", "bob/data/secret.txt"} {
		if f, err := alice.Open(name); err == nil {
			f.Close()
			t.Errorf("alice.Open(%q) succeeded, want an error", name)
		}
		if err := alice.Remove(name); err == nil {
			t.Errorf("alice.Remove(%q) succeeded, want an error", name)
		}
	}
	if err := alice.Remove("secret.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("alice.Remove(secret.txt) = %v, want fs.ErrNotExist", err)
	}
	if got := readFile(t, bob, "secret.txt"); got != "bob's secret" {
		t.Errorf("bob's secret = %q, want it intact", got)
	}
}

func TestPermissions(t *testing.T) {
	m, root := newManager(t, 1<<20)
	n := openNS(t, m, "alice")
	writeFile(t, n, "f", "x")
	for _, p := range []string{"sessions", "sessions/alice", "sessions/alice/data", "sessions/alice/tmp"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s mode = %o, want 700", p, got)
		}
	}
	fi, err := os.Stat(filepath.Join(root, "sessions/alice/data/f"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode = %o, want 600", got)
	}
}

func TestCreateOpenListRemove(t *testing.T) {
	m, _ := newManager(t, 1<<20)
	n := openNS(t, m, "alice")
	writeFile(t, n, "b.csv", "bbb")
	writeFile(t, n, "a.csv", "a")
	if _, err := n.Create("a.csv"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create of an existing name = %v, want fs.ErrExist", err)
	}
	list, err := n.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a.csv" || list[0].Size != 1 || list[1].Name != "b.csv" || list[1].Size != 3 {
		t.Errorf("List() = %+v, want a.csv(1), b.csv(3)", list)
	}
	if list[0].ModTime.IsZero() {
		t.Error("ModTime is zero")
	}
	if err := n.Remove("a.csv"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Open("a.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Remove = %v, want fs.ErrNotExist", err)
	}
	if err := n.Remove("a.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Remove = %v, want fs.ErrNotExist", err)
	}
}

func TestQuota(t *testing.T) {
	m, _ := newManager(t, 100)
	n := openNS(t, m, "alice")

	writeFile(t, n, "first", strings.Repeat("a", 60))

	// A write that would cross the quota fails at once and leaves nothing.
	w, err := n.Create("second")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 30)); err != nil {
		t.Fatalf("write within quota: %v", err)
	}
	if _, err := w.Write(make([]byte, 11)); !errors.Is(err, ErrQuota) {
		t.Fatalf("write beyond quota = %v, want ErrQuota", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrQuota) {
		t.Errorf("write after ErrQuota = %v, want ErrQuota again", err)
	}
	if err := w.Close(); !errors.Is(err, ErrQuota) {
		t.Errorf("Close after ErrQuota = %v, want ErrQuota", err)
	}
	if _, err := n.Open("second"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("partial file after ErrQuota: Open = %v, want fs.ErrNotExist", err)
	}
	if got := usage(t, n); got != 60 {
		t.Errorf("usage after failed write = %d, want 60", got)
	}

	// Temp files count too.
	tw, err := n.CreateTemp("result-*.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tw.Name(), "result-") || !strings.HasSuffix(tw.Name(), ".json") {
		t.Errorf("temp name = %q, want result-*.json", tw.Name())
	}
	if _, err := tw.Write(make([]byte, 30)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := usage(t, n); got != 90 {
		t.Errorf("usage with a temp file = %d, want 90", got)
	}
	w, _ = n.Create("third")
	if _, err := w.Write(make([]byte, 11)); !errors.Is(err, ErrQuota) {
		t.Errorf("write counting tmp/ = %v, want ErrQuota", err)
	}
	w.Close()

	// Exactly up to the quota is allowed.
	writeFile(t, n, "fits", strings.Repeat("c", 10))
	if got := usage(t, n); got != 100 {
		t.Errorf("usage at the quota = %d, want 100", got)
	}

	// Moving the temp file into data/ changes nothing; replacing a file frees it.
	if err := n.Rename(tw.Name(), "first"); err != nil {
		t.Fatal(err)
	}
	if got := usage(t, n); got != 40 {
		t.Errorf("usage after rename over a 60-byte file = %d, want 40", got)
	}
	writeFile(t, n, "again", strings.Repeat("d", 60))

	// Removing frees, and a reopened namespace counts from disk.
	if err := n.Remove("again"); err != nil {
		t.Fatal(err)
	}
	n.Close()
	n2 := openNS(t, m, "alice")
	w, _ = n2.Create("big")
	if _, err := w.Write(make([]byte, 61)); !errors.Is(err, ErrQuota) {
		t.Errorf("after reopen, 40+61 bytes = %v, want ErrQuota", err)
	}
	w.Close()
	writeFile(t, n2, "big", strings.Repeat("e", 60))
}

func TestWriterAbort(t *testing.T) {
	m, _ := newManager(t, 100)
	n := openNS(t, m, "alice")
	w, err := n.Create("upload")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 70))
	if w.Size() != 70 {
		t.Errorf("Size = %d, want 70", w.Size())
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Open("upload"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Abort = %v, want fs.ErrNotExist", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after Abort = nil, want an error")
	}
	// The aborted bytes were given back.
	writeFile(t, n, "upload", strings.Repeat("a", 100))
	// Abort after a successful Close keeps the file.
	w, _ = n.CreateTemp("")
	w.Close()
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close = %v, want nil", err)
	}
	if err := n.Rename(w.Name(), "kept"); err != nil {
		t.Errorf("temp file gone after Abort following Close: %v", err)
	}
}

func TestRemoveWhileWriting(t *testing.T) {
	m, _ := newManager(t, 100)
	n := openNS(t, m, "alice")
	w, _ := n.Create("upload")
	w.Write(make([]byte, 50))
	if err := n.Remove("upload"); err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 10))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// All 100 bytes are free again.
	writeFile(t, n, "upload", strings.Repeat("a", 100))
}

func TestRenameRules(t *testing.T) {
	m, _ := newManager(t, 1<<20)
	n := openNS(t, m, "alice")
	tw, _ := n.CreateTemp("x-*")
	io.WriteString(tw, "partial")
	if err := n.Rename(tw.Name(), "out"); err == nil {
		t.Error("Rename of a temp file still being written succeeded, want an error")
	}
	tw.Close()
	if err := n.Rename("missing", "out"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rename of a missing temp file = %v, want fs.ErrNotExist", err)
	}
	if err := n.Rename(tw.Name(), "out"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, n, "out"); got != "partial" {
		t.Errorf("out = %q, want %q", got, "partial")
	}
}

func TestMove(t *testing.T) {
	m, _ := newManager(t, 1<<20)
	old := openNS(t, m, "old")
	writeFile(t, old, "upload.csv", "rows")
	tw, _ := old.CreateTemp("t-*")
	io.WriteString(tw, "tmp")
	tw.Close()
	old.Close()

	if err := m.Move("old", "new"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if m.Exists("old") {
		t.Error("Exists(old) = true after Move")
	}
	if !m.Exists("new") {
		t.Error("Exists(new) = false after Move")
	}
	n := openNS(t, m, "new")
	if got := readFile(t, n, "upload.csv"); got != "rows" {
		t.Errorf("new upload.csv = %q, want %q", got, "rows")
	}
	if err := n.Rename(tw.Name(), "from-tmp"); err != nil {
		t.Errorf("temp file did not move: %v", err)
	}
	if got := usage(t, n); got != 7 {
		t.Errorf("new usage = %d, want 7", got)
	}

	if err := m.Move("old", "newer"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Move from a missing sid = %v, want fs.ErrNotExist", err)
	}
	openNS(t, m, "taken")
	if err := m.Move("new", "taken"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Move onto an existing sid = %v, want fs.ErrExist", err)
	}
	if err := m.Move("new", "new"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Move onto itself = %v, want fs.ErrExist", err)
	}
	if got := readFile(t, n, "upload.csv"); got != "rows" {
		t.Errorf("new upload.csv after refused moves = %q, want %q", got, "rows")
	}
}

func TestRemoveNamespace(t *testing.T) {
	m, root := newManager(t, 1<<20)
	n := openNS(t, m, "alice")
	writeFile(t, n, "f", "x")
	n.Close()
	for i := range 2 {
		if err := m.Remove("alice"); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	if err := m.Remove("never-existed"); err != nil {
		t.Errorf("Remove of a missing namespace = %v, want nil", err)
	}
	if m.Exists("alice") {
		t.Error("Exists after Remove = true")
	}
	if _, err := os.Stat(filepath.Join(root, "sessions", "alice")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory after Remove: %v, want gone", err)
	}
	// A new namespace of the same sid starts empty, with the full quota.
	n = openNS(t, m, "alice")
	if got := usage(t, n); got != 0 {
		t.Errorf("usage after Remove = %d, want 0", got)
	}
}

func TestCachePrefix(t *testing.T) {
	m, _ := newManager(t, 1)
	a, b := m.CachePrefix("a"), m.CachePrefix("ab")
	if a != "cache:a:" {
		t.Errorf("CachePrefix(a) = %q, want %q", a, "cache:a:")
	}
	if strings.HasPrefix(b, a) {
		t.Errorf("CachePrefix(ab) = %q starts with CachePrefix(a) = %q", b, a)
	}
	for _, bad := range []string{"", "a:b", "a:"} {
		if p := m.CachePrefix(bad); strings.HasPrefix(p, a) || p == "cache:" || p == "" {
			t.Errorf("CachePrefix(%q) = %q overlaps a valid prefix", bad, p)
		}
	}
}

func TestNewManagerRejectsBadQuota(t *testing.T) {
	for _, q := range []int64{0, -1} {
		if _, err := NewManager(t.TempDir(), q); err == nil {
			t.Errorf("NewManager(quota %d) = nil error, want an error", q)
		}
	}
}

// TestConcurrentWritersShareQuota runs writers in one namespace and in a second
// Namespace of the same sid at once: together they never exceed the quota, and
// every failed writer leaves no file.
func TestConcurrentWritersShareQuota(t *testing.T) {
	const (
		quota   = 10_000
		writers = 24
		perFile = 1_000
		chunk   = 100
	)
	m, _ := newManager(t, quota)
	n1 := openNS(t, m, "alice")
	n2 := openNS(t, m, "alice")

	var wg sync.WaitGroup
	ok := make([]bool, writers)
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			n := n1
			if i%2 == 1 {
				n = n2
			}
			var w *Writer
			var err error
			if i%3 == 0 {
				w, err = n.CreateTemp("w-*")
			} else {
				w, err = n.Create("w-" + string(rune('a'+i)))
			}
			if err != nil {
				errs <- err
				return
			}
			defer w.Abort()
			buf := bytes.Repeat([]byte{'x'}, chunk)
			for written := 0; written < perFile; written += chunk {
				if _, err := w.Write(buf); err != nil {
					if !errors.Is(err, ErrQuota) {
						errs <- err
					}
					return
				}
			}
			if err := w.Close(); err != nil {
				errs <- err
				return
			}
			ok[i] = true
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("writer: %v", err)
	}
	succeeded := 0
	for _, v := range ok {
		if v {
			succeeded++
		}
	}
	got := usage(t, n1)
	if got > quota {
		t.Errorf("usage = %d, over the quota %d", got, quota)
	}
	if want := int64(succeeded * perFile); got != want {
		t.Errorf("usage = %d, want %d (%d complete files, no partial ones)", got, want, succeeded)
	}
	if succeeded == 0 || succeeded == writers {
		t.Errorf("%d of %d writers succeeded; the test wants contention", succeeded, writers)
	}
	// The account agrees with the disk: the remaining space can be filled exactly.
	if rest := quota - got; rest > 0 {
		writeFile(t, n1, "rest", strings.Repeat("r", int(rest)))
	}
	w, _ := n2.Create("one-more")
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrQuota) {
		t.Errorf("write into a full namespace = %v, want ErrQuota", err)
	}
	w.Close()
}

// TestCloseWithWriterOpen: closing a namespace while a writer is open lets the
// writer finish, and a new Create on the closed namespace is refused.
func TestCloseWithWriterOpen(t *testing.T) {
	m, _ := newManager(t, 100)
	n, err := m.Namespace("alice")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := n.Create("f")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Create("g"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Create after Close = %v, want os.ErrClosed", err)
	}
	if _, err := io.WriteString(w, "late"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n2 := openNS(t, m, "alice")
	if got := readFile(t, n2, "f"); got != "late" {
		t.Errorf("f = %q, want %q", got, "late")
	}
}
