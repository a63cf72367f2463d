package redis

import (
	"strconv"
	"strings"
)

// Every script call runs the whole prelude before its body, and a loop that
// builds strings there costs more than most scripts' own work (three such
// loops took 17 µs of Redis CPU per call). So its tables are Lua literals
// made here, once.

// luaIndexMap is a Lua table literal mapping each name to its 1-based
// position.
func luaIndexMap(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "[" + strconv.Quote(n) + "]=" + strconv.Itoa(i+1)
	}
	return "{" + strings.Join(q, ",") + "}"
}

// prefixed returns each name with prefix before it.
func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// blobFieldNames are the fields of an ended entry that hold its blob in
// parts: _blob, _blob2 ... _blob{blobParts}.
func blobFieldNames() []string {
	out := []string{"_blob"}
	for i := 2; i <= blobParts; i++ {
		out = append(out, "_blob"+strconv.Itoa(i))
	}
	return out
}
