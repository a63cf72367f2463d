package files

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrBadName is wrapped by every error that refuses a file name or a sid.
var ErrBadName = errors.New("files: bad name")

// ErrQuota is wrapped by the error a Writer returns when a write would take the
// session's usage (data and tmp together) over its quota.
var ErrQuota = errors.New("files: session disk quota exceeded")

// MaxNameLen is the longest file name accepted, in bytes: the limit of common
// Linux file systems, so a name that passes is one the disk takes.
const MaxNameLen = 255

// maxSIDLen bounds a sid; sids are base64url and far shorter in practice.
const maxSIDLen = 64

// ValidName reports whether name may name a file in a namespace, and why not.
//
// A name is one path component and nothing else can be read into it:
//   - not empty, not "." or "..";
//   - no "/" or "\" (a second component on any platform), no NUL;
//   - no ASCII control characters (they break logs, headers such as
//     Content-Disposition, and terminals of whoever lists the directory);
//   - valid UTF-8, at most MaxNameLen bytes;
//   - not starting with "-": such a name reads as an option to any tool an
//     operator runs over the directory (rm, tar, grep), so it is refused here
//     rather than trusted to every later "--".
//
// Names starting with "." are allowed: inside data/ they are ordinary files.
// ValidName does not protect against symlinks; the os.Root under every access does.
func ValidName(name string) error {
	if reason := nameProblem(name); reason != "" {
		return fmt.Errorf("%w %s: %s", ErrBadName, quoteShort(name), reason)
	}
	return nil
}

func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case name == "." || name == "..":
		return "refers to a directory"
	case len(name) > MaxNameLen:
		return fmt.Sprintf("longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case strings.ContainsAny(name, `/\`):
		return "contains a path separator"
	case strings.ContainsRune(name, 0):
		return "contains a NUL byte"
	case strings.IndexFunc(name, isControl) >= 0:
		return "contains a control character"
	case name[0] == '-':
		return `starts with "-"`
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validSID reports whether sid has the shape of a session id: 1 to 64 characters
// of the base64url alphabet. Anything else could name a path or collide in a
// cache prefix, so it never reaches the file system.
func validSID(sid string) error {
	if sid == "" || len(sid) > maxSIDLen {
		return fmt.Errorf("%w: sid %s: want 1 to %d characters", ErrBadName, quoteShort(sid), maxSIDLen)
	}
	for i := 0; i < len(sid); i++ {
		if !isSIDByte(sid[i]) {
			return fmt.Errorf("%w: sid %s: want only A-Z a-z 0-9 _ -", ErrBadName, quoteShort(sid))
		}
	}
	return nil
}

func isSIDByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoteShort quotes a possibly hostile name for an error message, cut so that a
// long name cannot flood a log line.
func quoteShort(s string) string {
	const keep = 64
	if len(s) > keep {
		return fmt.Sprintf("%q… (%d bytes)", s[:keep], len(s))
	}
	return fmt.Sprintf("%q", s)
}
