package sessionsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/seal"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Associated data binds every sealed value to where it belongs, so a value
// copied to another session, category, key or user fails authentication.
func valueAD(sid, cat, key string) []byte {
	return []byte("state\x00" + sid + "\x00" + cat + "\x00" + key)
}
func prefsAD(user string) []byte          { return []byte("prefs\x00" + user) }
func blobAD(tokenHash, sid string) []byte { return []byte("blob\x00" + tokenHash + "\x00" + sid) }

// sealWith encrypts plain under the primary key; with session_encryption off
// it returns plain unchanged.
func (s *Service) sealWith(plain, ad []byte) ([]byte, error) {
	if s.ring == nil {
		return plain, nil
	}
	b, err := s.ring.Seal(plain, ad)
	if err != nil {
		return nil, fmt.Errorf("sessionsvc: seal: %w", err)
	}
	return b, nil
}

// openWith authenticates and decrypts; nothing is decoded before that.
func (s *Service) openWith(sealed, ad []byte) ([]byte, error) {
	if s.ring == nil {
		return sealed, nil
	}
	return s.ring.Open(sealed, ad)
}

func (s *Service) sealValue(sid, cat, key string, plain []byte) ([]byte, error) {
	return s.sealWith(plain, valueAD(sid, cat, key))
}

func (s *Service) openValue(sid, cat, key string, sealed []byte) ([]byte, error) {
	return s.openWith(sealed, valueAD(sid, cat, key))
}

// SecurityEvents counts values that failed authentication or named a key that
// is gone, since start.
func (s *Service) SecurityEvents() int64 { return s.securityEvents.Load() }

func (s *Service) securityEvent(ctx context.Context, msg string, attrs ...slog.Attr) {
	s.securityEvents.Add(1)
	s.metrics.SecurityEvent()
	s.log.LogAttrs(ctx, slog.LevelWarn, "security event: "+msg, attrs...)
}

// tampered handles state that failed authentication: the value is treated as
// absent, the event logged and counted, and the session ended with reason
// security, so that the user signs in again instead of meeting an error on
// every request.
func (s *Service) tampered(ctx context.Context, sid, what string, err error) error {
	s.securityEvent(ctx, what+" failed authentication", slog.String("sid", sid), slog.String("error", err.Error()))
	t := store.Tombstone{SID: sid, Reason: store.ReasonSecurity, Actor: "system", Note: "stored data failed authentication", At: s.now()}
	ended, endErr := s.st.End(ctx, sid, t, s.cfg.Session.RecoveryWindow())
	if endErr != nil {
		return s.unavailable("end tampered session", endErr)
	}
	if ended {
		s.noteEnd(ctx, t, time.Time{})
		s.auditEvent(ctx, "system", "security", sid, what+" failed authentication", "session ended")
	}
	return fmt.Errorf("%w: %s", ErrTampered, what)
}

// sealedBlobs encrypts the scs blob at rest. The envelope carries the sid in
// the clear (authenticated as associated data with the token hash), so a blob
// that fails authentication can still end its session.
type sealedBlobs struct {
	store.Store
	ring *seal.Keyring
}

// blobError is a stored blob that cannot be used; sid is set when the envelope
// named one.
type blobError struct {
	sid string
	err error
}

func (e *blobError) Error() string { return fmt.Sprintf("sessionsvc: session blob: %v", e.err) }
func (e *blobError) Unwrap() error { return errCorruptBlob }

func (b sealedBlobs) FindCtx(ctx context.Context, tokenHash string) ([]byte, bool, error) {
	var (
		raw   []byte
		ok    bool
		state *store.FoundState
		err   error
	)
	pf := prefetchFrom(ctx)
	if sf, can := b.Store.(store.StateFinder); can && pf != nil {
		raw, ok, state, err = sf.FindWithState(ctx, tokenHash)
	} else {
		raw, ok, err = b.Store.FindCtx(ctx, tokenHash)
	}
	if err != nil || !ok {
		return raw, ok, err
	}
	sid, env := store.BlobSID(raw)
	if !env {
		return nil, false, &blobError{err: errors.New("not a sealed blob")}
	}
	plain, err := b.ring.Open(raw[2+len(sid):], blobAD(tokenHash, sid))
	if err != nil {
		return nil, false, &blobError{sid: sid, err: err}
	}
	pf.set(sid, state)
	return plain, true, nil
}

func (b sealedBlobs) CommitCtx(ctx context.Context, tokenHash string, plain []byte, expiry time.Time) error {
	info, ok := store.CommitFrom(ctx)
	if !ok {
		return store.ErrNoCommitInfo
	}
	if len(info.SID) > 255 {
		return fmt.Errorf("sessionsvc: sid too long")
	}
	sealed, err := b.ring.Seal(plain, blobAD(tokenHash, info.SID))
	if err != nil {
		return fmt.Errorf("sessionsvc: seal blob: %w", err)
	}
	env := make([]byte, 0, 2+len(info.SID)+len(sealed))
	env = append(env, store.BlobEnvelope, byte(len(info.SID)))
	env = append(env, info.SID...)
	env = append(env, sealed...)
	return b.Store.CommitCtx(ctx, tokenHash, env, expiry)
}

func (b sealedBlobs) Find(tokenHash string) ([]byte, bool, error) {
	return b.FindCtx(context.Background(), tokenHash)
}

func (b sealedBlobs) Commit(tokenHash string, plain []byte, expiry time.Time) error {
	return b.CommitCtx(context.Background(), tokenHash, plain, expiry)
}
