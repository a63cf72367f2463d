package store

import "context"

// BlobEnvelope is the first byte of a blob as the service stores it: then
// the length of the session's sid in one byte, the sid, and the sealed
// session. A store reads nothing else of a blob, and this only to serve
// StateFinder.
const BlobEnvelope = 'E'

// BlobSID returns the sid a blob's envelope names; ok is false for a blob
// without a well-formed envelope.
func BlobSID(b []byte) (sid string, ok bool) {
	if len(b) < 2 || b[0] != BlobEnvelope || int(b[1]) > len(b)-2 {
		return "", false
	}
	return string(b[2 : 2+int(b[1])]), true
}

// StateFinder is an optional capability of a Store whose reads cost a round
// trip (Redis): FindWithState is FindCtx that also reads the state of the
// session the blob's envelope names, in the same step, so that a page that
// shows the state costs one round trip instead of two.
type StateFinder interface {
	// FindWithState returns what FindCtx returns and, when the blob was
	// found with a well-formed envelope, what GetState returns for the sid
	// the envelope names, as of the same moment. state is nil when it was
	// not read. The envelope is not authenticated: the caller uses the
	// state only once the blob has opened for that sid.
	FindWithState(ctx context.Context, tokenHash string) (b []byte, found bool, state *FoundState, err error)
}

// FoundState is the state FindWithState read.
type FoundState struct {
	SID   string
	Doc   StateDoc
	Found bool // as GetState's found
}
