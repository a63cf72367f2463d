package sessionsvc

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// cleanupLease is how long one pass may hold the cleanup lease before another
// instance may take over; a pass renews it between batches.
const (
	cleanupLeaseName = "cleanup"
	cleanupLease     = 2 * time.Minute
	cleanupBatch     = 500
)

// Grace is the safety margin a store adds to every TTL: longer than the cleanup
// interval plus the lease, so cleanup sees every session before the backend's own
// expiry removes its data.
func (c Config) Grace() time.Duration {
	return c.Cleanup.Interval() + cleanupLease + 5*time.Minute
}

// CleanupStats says what one cleanup pass did.
type CleanupStats struct {
	Ran      bool // false: another instance holds the lease
	Ended    int  // sessions past their deadline ended here
	Archived int
	Purged   int
}

// Cleanup runs one pass: it ends sessions past their deadlines with their due
// reason, then archives (archive_expired) or purges every ended session. Only one
// instance runs a pass at a time; every step is safe to repeat.
func (s *Service) Cleanup(ctx context.Context) (stats CleanupStats, err error) {
	start := time.Now()
	at := s.now()
	ok, err := s.st.Acquire(ctx, cleanupLeaseName, s.instance, cleanupLease, s.now())
	if err != nil {
		return stats, s.unavailable("cleanup lease", err)
	}
	if !ok {
		return stats, nil
	}
	stats.Ran = true
	defer func() { s.notePass(at, time.Since(start), stats, err) }()
	defer func() { s.metrics.CleanupPass(time.Since(start), stats.Ended, stats.Archived, stats.Purged) }()
	defer func() {
		if err := s.st.Release(context.WithoutCancel(ctx), cleanupLeaseName, s.instance); err != nil {
			s.log.WarnContext(ctx, "cleanup: release lease", slog.String("error", err.Error()))
		}
	}()
	renew := func() error {
		ok, err := s.st.Acquire(ctx, cleanupLeaseName, s.instance, cleanupLease, s.now())
		if err != nil {
			return s.unavailable("cleanup lease", err)
		}
		if !ok {
			return context.Canceled // lost the lease: stop, the other holder goes on
		}
		return nil
	}

	for {
		now := s.now()
		due, err := s.st.Due(ctx, now, cleanupBatch)
		if err != nil {
			return stats, s.unavailable("cleanup: due", err)
		}
		for _, rec := range due {
			t := store.Tombstone{SID: rec.SID, User: rec.User, Reason: rec.DueReason(now), Actor: "system", At: now}
			if t.Reason == "" {
				continue
			}
			ended, err := s.st.End(ctx, rec.SID, t, s.cfg.Session.RecoveryWindow())
			if err != nil {
				return stats, s.unavailable("cleanup: end", err)
			}
			if ended {
				stats.Ended++
				s.noteEnd(ctx, t, rec.CreatedAt)
			}
		}
		if len(due) < cleanupBatch {
			break
		}
		if err := renew(); err != nil {
			return stats, nil
		}
	}

	retention := time.Duration(s.cfg.Cleanup.ArchiveDays) * 24 * time.Hour
	for {
		ended, err := s.st.Ended(ctx, s.now(), cleanupBatch)
		if err != nil {
			return stats, s.unavailable("cleanup: ended", err)
		}
		for _, e := range ended {
			sid := e.Record.SID
			if s.cfg.Cleanup.ArchiveExpired {
				delete(e.State.Categories, store.CatTemporaryData)
				e.Files = s.fileList(ctx, sid)
				if err := s.st.Archive(ctx, e, s.now(), retention); err != nil {
					return stats, s.unavailable("cleanup: archive", err)
				}
				stats.Archived++
			} else {
				if err := s.st.Purge(ctx, sid); err != nil {
					return stats, s.unavailable("cleanup: purge", err)
				}
				stats.Purged++
			}
			// The namespace goes last: a pass that stops before this repeats it.
			if s.files != nil {
				if err := s.files.Remove(sid); err != nil {
					s.log.WarnContext(ctx, "cleanup: remove files", slog.String("sid", sid), slog.String("error", err.Error()))
				}
			}
		}
		if len(ended) < cleanupBatch {
			break
		}
		if err := renew(); err != nil {
			return stats, nil
		}
	}
	if stats.Ended+stats.Archived+stats.Purged > 0 {
		s.log.InfoContext(ctx, "cleanup pass", slog.Int("ended", stats.Ended), slog.Int("archived", stats.Archived), slog.Int("purged", stats.Purged))
	}
	return stats, nil
}

// RunCleanup runs Cleanup every cleanup.interval_seconds (with a little jitter,
// so instances started together do not race for the lease) until ctx ends.
func (s *Service) RunCleanup(ctx context.Context) {
	if !s.cfg.Cleanup.Enabled {
		return
	}
	interval := s.cfg.Cleanup.Interval()
	for {
		jitter := time.Duration(rand.Int64N(int64(interval/10) + 1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval + jitter):
		}
		if _, err := s.Cleanup(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "cleanup pass failed", slog.String("error", err.Error()))
		}
	}
}

// fileList names the files of a session's namespace, for its archive.
func (s *Service) fileList(ctx context.Context, sid string) []string {
	if s.files == nil || !s.files.Exists(sid) {
		return nil
	}
	ns, err := s.files.Namespace(sid)
	if err != nil {
		s.log.WarnContext(ctx, "cleanup: open files", slog.String("sid", sid), slog.String("error", err.Error()))
		return nil
	}
	defer ns.Close()
	infos, err := ns.List()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(infos))
	for _, fi := range infos {
		names = append(names, fi.Name)
	}
	return names
}
