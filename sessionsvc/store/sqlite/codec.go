package sqlite

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// valuesFormat is the first byte of an encoded snapshot, so that a later
// layout can be told apart from this one.
const valuesFormat = 1

// errBadValues is returned by decodeValues for bytes encodeValues did not
// write.
var errBadValues = errors.New("malformed snapshot values")

// encodeValues encodes a category's values for a snapshot as
//
//	format byte (1) | uvarint count | count × (uvarint len, key, uvarint len, value)
//
// with keys in sorted order. Not JSON: the values are opaque, mostly sealed
// bytes, which JSON would have to base64 (a third larger, and the largest
// part of every snapshot); and not gob, which no one else can read. The
// layout is length-prefixed throughout, so decoding needs no escaping and
// checks every length against what is left.
func encodeValues(m map[string][]byte) []byte {
	size := 1 + binary.MaxVarintLen64
	for k, v := range m {
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b := make([]byte, 0, size)
	b = append(b, valuesFormat)
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeValues decodes what encodeValues wrote, and only that: every
// length is checked against what is left, and keys must be in strictly
// increasing order, so that each map has one encoding. The values share b's
// memory, each capped at its own length so that an append to one cannot
// overwrite the next.
func decodeValues(b []byte) (map[string][]byte, error) {
	if len(b) == 0 || b[0] != valuesFormat {
		return nil, errBadValues
	}
	b = b[1:]
	n, w := uvarint(b)
	// Every entry takes at least two bytes, which bounds the map's size
	// hint by the input rather than by a count the input claims.
	if w <= 0 || n > uint64(len(b)-w)/2 {
		return nil, errBadValues
	}
	b = b[w:]
	next := func() ([]byte, bool) {
		l, w := uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) {
			return nil, false
		}
		out := b[w : w+int(l) : w+int(l)]
		b = b[w+int(l):]
		return out, true
	}
	m := make(map[string][]byte, n)
	var prev []byte
	for i := range n {
		k, ok := next()
		// Keys must come sorted and once each, as encodeValues writes
		// them: anything else is not ours.
		if !ok || i > 0 && bytes.Compare(prev, k) >= 0 {
			return nil, errBadValues
		}
		v, ok := next()
		if !ok {
			return nil, errBadValues
		}
		m[string(k)] = v
		prev = k
	}
	if len(b) != 0 {
		return nil, errBadValues
	}
	return m, nil
}

// archivedState is the stored form of an archived session's final state:
// JSON, written once per session and read only by the console, so a
// self-describing document is worth its size there. Field names are fixed
// here rather than taken from store.StateDoc, so that renaming a Go field
// does not orphan what is already stored. Nil and empty maps survive the
// round trip as they were.
type archivedState struct {
	Categories   map[string]archivedCategory `json:"categories"`
	Version      int64                       `json:"version"`
	LastModified int64                       `json:"last_modified_ms"`
	Bytes        int64                       `json:"bytes"`
}

type archivedCategory struct {
	Values  map[string][]byte `json:"values"` // base64 in JSON
	Version int64             `json:"version"`
}

// encodeArchive returns the stored forms of an archived session's state and
// file list.
func encodeArchive(d store.StateDoc, files []string) (state, fileList []byte, err error) {
	a := archivedState{Version: d.Version, LastModified: ms(d.LastModified), Bytes: d.Bytes}
	if d.Categories != nil {
		a.Categories = make(map[string]archivedCategory, len(d.Categories))
		for c, cd := range d.Categories {
			a.Categories[c] = archivedCategory{Values: cd.Values, Version: cd.Version}
		}
	}
	if state, err = json.Marshal(a); err != nil {
		return nil, nil, err
	}
	if fileList, err = json.Marshal(files); err != nil {
		return nil, nil, err
	}
	return state, fileList, nil
}

// decodeArchive reverses encodeArchive. A NULL column (a session archived
// before the state existed) decodes to the zero value.
func decodeArchive(state, fileList []byte) (store.StateDoc, []string, error) {
	var d store.StateDoc
	var files []string
	if len(state) > 0 {
		var a archivedState
		if err := json.Unmarshal(state, &a); err != nil {
			return d, nil, err
		}
		d = store.StateDoc{Version: a.Version, LastModified: fromMS(a.LastModified), Bytes: a.Bytes}
		if a.Categories != nil {
			d.Categories = make(map[string]store.CategoryDoc, len(a.Categories))
			for c, ac := range a.Categories {
				d.Categories[c] = store.CategoryDoc{Values: ac.Values, Version: ac.Version}
			}
		}
	}
	if len(fileList) > 0 {
		if err := json.Unmarshal(fileList, &files); err != nil {
			return d, nil, err
		}
	}
	return d, files, nil
}

// uvarint is binary.Uvarint that also refuses a number written in more
// bytes than it needs (a zero last byte), which binary.Uvarint accepts.
func uvarint(b []byte) (uint64, int) {
	v, w := binary.Uvarint(b)
	if w > 1 && b[w-1] == 0 {
		return 0, 0
	}
	return v, w
}
