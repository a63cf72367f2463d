package sessionsvc

import (
	"context"
	"time"
)

// systemPingTimeout bounds how long the System page waits for the store: an
// operator opens it when something is wrong, so it must answer even then.
const systemPingTimeout = 2 * time.Second

// CleanupPass is what one cleanup pass of this instance did.
type CleanupPass struct {
	At       time.Time     // when it started, by the service's clock
	Duration time.Duration // how long it ran (real time)
	Ended    int
	Archived int
	Purged   int
	Err      string // why it stopped early; empty when it completed
}

// LeaseInfo says who holds a lease.
type LeaseInfo struct {
	Held   bool // false: free (no pass is running anywhere)
	Holder string
	Until  time.Time
	Mine   bool   // held by this instance
	Err    string // the store could not say
}

// SystemInfo is what an operator checks first: is the store there and how
// fast, who runs cleanup, is the analytics buffer keeping up, which keys
// encrypt, which build runs.
type SystemInfo struct {
	CheckedAt time.Time
	Version   string
	Instance  string // this instance's id, as it appears as a lease holder

	Backend      string
	StoreUp      bool
	StoreLatency time.Duration // of one Ping, whether or not it succeeded
	StoreErr     string

	CleanupEnabled  bool
	CleanupInterval time.Duration
	CleanupLease    LeaseInfo
	LastPass        *CleanupPass // this instance's; nil when it has run none

	AnalyticsOn    bool
	BufferLen      int // events waiting to be written
	BufferCap      int
	EventsDropped  int64
	SecurityEvents int64 // values that failed authentication since start

	Encryption bool
	KeyIDs     []string // primary (the one that seals) first
}

// System reports the service's health for the console's System page. A store
// that does not answer is reported in the result (StoreUp false, StoreErr), not
// as an error: the page exists to show exactly that. The error is only the
// caller's context ending.
func (s *Service) System(ctx context.Context) (SystemInfo, error) {
	info := SystemInfo{
		CheckedAt:       s.now(),
		Version:         s.version,
		Instance:        s.instance,
		Backend:         s.backend,
		CleanupEnabled:  s.cfg.Cleanup.Enabled,
		CleanupInterval: s.cfg.Cleanup.Interval(),
		AnalyticsOn:     s.rec != nil,
		EventsDropped:   s.EventsDropped(),
		SecurityEvents:  s.SecurityEvents(),
		Encryption:      s.ring != nil,
	}
	if s.rec != nil {
		info.BufferLen, info.BufferCap = s.rec.Len(), cap(s.rec.ch)
	}
	if s.ring != nil {
		info.KeyIDs = s.ring.IDs()
	}
	s.passMu.Lock()
	if s.lastPass != nil {
		p := *s.lastPass
		info.LastPass = &p
	}
	s.passMu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, systemPingTimeout)
	defer cancel()
	start := time.Now()
	err := s.st.Ping(pctx)
	info.StoreLatency = time.Since(start)
	if ctx.Err() != nil {
		return SystemInfo{}, ctx.Err()
	}
	if err != nil {
		info.StoreErr = err.Error()
		info.CleanupLease.Err = "store unreachable"
		return info, nil
	}
	info.StoreUp = true

	holder, until, held, err := s.st.Holder(pctx, cleanupLeaseName, info.CheckedAt)
	if err != nil {
		if ctx.Err() != nil {
			return SystemInfo{}, ctx.Err()
		}
		info.CleanupLease.Err = err.Error()
		return info, nil
	}
	info.CleanupLease = LeaseInfo{Held: held, Holder: holder, Until: until, Mine: held && holder == s.instance}
	return info, nil
}

// notePass keeps what a cleanup pass of this instance did, for System.
func (s *Service) notePass(at time.Time, d time.Duration, stats CleanupStats, err error) {
	p := &CleanupPass{At: at, Duration: d, Ended: stats.Ended, Archived: stats.Archived, Purged: stats.Purged}
	if err != nil {
		p.Err = err.Error()
	}
	s.passMu.Lock()
	s.lastPass = p
	s.passMu.Unlock()
}
