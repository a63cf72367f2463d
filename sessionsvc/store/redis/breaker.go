package redis

// The fail-fast gate. Every store call borrows its connection through
// Store.conn, which asks the gate first: while Redis answers (closed), the
// gate costs two atomic loads and no round trip. The first network or
// timeout error opens it ("down"): calls then fail at once with ErrDown,
// without taking a connection, so that a stalled Redis costs each request
// nothing instead of a read timeout (or several, queued behind busy
// connections). One call at a time is let through as a probe: the first
// one right after the trip (a single broken connection then costs one
// error, not a window of them), later ones every probeInterval (±25%
// jitter, so instances do not probe in step). A probe that gets any answer
// from Redis closes the gate; one that fails keeps it open.
//
// Connections that sat idle across a change of state are PINGed once when
// borrowed (Pool.TestOnBorrowContext, bounded by the borrow's deadline), so
// a restarted Redis does not trip the gate again on each stale connection
// the pool still holds. Waiting for a pooled connection (and dialing one) is
// bounded by the caller's ctx and by ReadTimeout (Store.wait), and so is
// that wait plus the first command on the connection: a call that waited or
// dialed does not add a whole read timeout after it.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

// ErrDown is returned, wrapped with the error that tripped the gate, by every
// call made while Redis is considered down (between a network or timeout
// error and the next probe that gets an answer).
var ErrDown = errors.New("redis: server down, failing fast")

// probeInterval is the time between probes while the gate is open.
const probeInterval = 200 * time.Millisecond

// minCommand is the least time the first command of a borrow gets when the
// borrow used up (nearly) all of the call's time.
const minCommand = 20 * time.Millisecond

// downError is ErrDown with the trip's cause.
type downError struct {
	since time.Time
	cause error
}

func (e *downError) Error() string {
	return fmt.Sprintf("%v since %s: %v", ErrDown, e.since.Format("15:04:05.000"), e.cause)
}

func (e *downError) Is(target error) bool { return target == ErrDown }

// outcome classifies what a call says about Redis.
type outcome int

const (
	answered outcome = iota // Redis replied (also with an error reply)
	failed                  // network or timeout error: Redis is down
	neutral                 // the caller gave up (its ctx) or waited for a free connection
)

// classify tells whether err means Redis did not answer. ctx is the caller's,
// nil when the call took none: a call whose ctx ended says nothing about Redis.
func classify(ctx context.Context, err error) outcome {
	if err == nil {
		return answered
	}
	var re redigo.Error
	if errors.As(err, &re) {
		// Replies that mean the server cannot serve yet.
		for _, p := range []string{"LOADING", "BUSY ", "MASTERDOWN"} {
			if strings.HasPrefix(string(re), p) {
				return failed
			}
		}
		return answered
	}
	if ctx != nil && ctx.Err() != nil {
		return neutral
	}
	return failed
}

// ticket is one borrow's pass through the gate.
type ticket struct {
	epoch uint64 // recoveries seen when borrowed: older failures do not re-open
	probe bool
}

// breaker is the gate's state. The closed path reads two atomics.
type breaker struct {
	open    atomic.Bool
	epoch   atomic.Uint64 // incremented at each recovery
	changed atomic.Int64  // unix ns of the last trip or recovery

	mu        sync.Mutex
	since     time.Time // of the current trip
	cause     error
	probes    int       // probes in flight
	nextProbe time.Time // zero: at once

	interval time.Duration
	now      func() time.Time
	jitter   func(time.Duration) time.Duration // [0, d)
	// onChange, if set, hears each trip (open, with its cause) and each
	// recovery (closed, with how long the gate was open), under the lock.
	onChange func(open bool, cause error, down time.Duration)
}

func newBreaker(interval time.Duration) *breaker {
	return &breaker{interval: interval, now: time.Now,
		jitter: func(d time.Duration) time.Duration { return rand.N(d) }}
}

// backoff is the wait until the next probe: interval ±25%.
func (b *breaker) backoff() time.Duration {
	q := b.interval / 4
	if q <= 0 {
		return b.interval
	}
	return b.interval - q + b.jitter(2*q)
}

// allow lets a call through, as a probe while the gate is open, or fails it
// with ErrDown. force makes it a probe whatever the schedule (Ping: a health
// check must ask Redis, and its answer closes the gate).
func (b *breaker) allow(force bool) (ticket, error) {
	if !b.open.Load() {
		return ticket{epoch: b.epoch.Load()}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open.Load() {
		return ticket{epoch: b.epoch.Load()}, nil
	}
	if !force && (b.probes > 0 || b.now().Before(b.nextProbe)) {
		return ticket{}, &downError{since: b.since, cause: b.cause}
	}
	b.probes++
	return ticket{epoch: b.epoch.Load(), probe: true}, nil
}

// down is the error calls get while the gate is open; nil when closed.
func (b *breaker) down() error {
	if !b.open.Load() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open.Load() {
		return nil
	}
	return &downError{since: b.since, cause: b.cause}
}

// record notes a call's outcome and returns the ticket for the connection's
// next call: a probe is one call.
func (b *breaker) record(t ticket, o outcome, err error) ticket {
	if o == answered && !t.probe {
		return t // the common case: nothing to do
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	probe := t.probe
	if probe {
		b.probes--
		t.probe = false
	}
	now := b.now()
	switch o {
	case answered:
		if b.open.Load() {
			b.open.Store(false)
			b.epoch.Add(1)
			b.changed.Store(now.UnixNano())
			b.cause = nil
			if b.onChange != nil {
				b.onChange(false, nil, now.Sub(b.since))
			}
		}
		t.epoch = b.epoch.Load()
	case failed:
		if !b.open.Load() {
			if t.epoch != b.epoch.Load() {
				return t // began before the last recovery
			}
			b.open.Store(true)
			b.changed.Store(now.UnixNano())
			b.since = now
			b.nextProbe = time.Time{} // the next call probes at once
			if b.onChange != nil {
				b.onChange(true, err, 0)
			}
		} else if probe {
			b.nextProbe = now.Add(b.backoff())
		}
		b.cause = err
	}
	return t
}

// stale reports whether a connection idle since idleSince may predate the
// last change of state (and so be broken, or be the gate's only news).
func (b *breaker) stale(idleSince time.Time) bool {
	return idleSince.UnixNano() <= b.changed.Load()
}

// testOnBorrow is the pool's TestOnBorrowContext: PING a connection that has
// been idle across a trip or a recovery (the pool's TestOnBorrow checks the
// ones idle for long).
func (b *breaker) testOnBorrow(ctx context.Context, c redigo.Conn, idleSince time.Time) error {
	if !b.stale(idleSince) {
		return nil
	}
	_, err := redigo.DoContext(c, ctx, "PING")
	return err
}

// borrow takes a pooled connection through the gate, waiting at most as long
// as ctx and s.wait. Every store call gets its connection here (Store.conn).
func (s *Store) borrow(ctx context.Context, force bool) (redigo.Conn, error) {
	t, err := s.gate.allow(force)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, s.wait)
	c, err := s.pool.GetContext(wctx)
	cancel()
	if err != nil {
		if err == context.DeadlineExceeded || err == context.Canceled {
			// No connection came free in time, or the caller left: busy, not down.
			s.gate.record(t, neutral, err)
			if ctx.Err() == nil {
				err = fmt.Errorf("no free connection within %v: %w", s.wait, err)
			}
			return nil, err
		}
		s.gate.record(t, classify(ctx, err), err)
		return nil, err
	}
	if !t.probe {
		// The gate may have opened while this call waited for the connection.
		if err := s.gate.down(); err != nil {
			c.Close()
			return nil, err
		}
	}
	g := &gatedConn{c: c, b: s.gate, t: t, start: start}
	if time.Since(start) > time.Millisecond {
		// It waited, dialed or tested: the first command gets what is left.
		g.deadline = start.Add(s.wait)
	}
	return g, nil
}

// gatedConn reports every call's outcome to the gate. It implements the
// optional interfaces (ConnWithContext, ConnWithTimeout) that the pool's
// connections do, which redigo.DoContext and Script.DoContext need.
type gatedConn struct {
	c  redigo.Conn
	b  *breaker
	mu sync.Mutex
	t  ticket
	// deadline, when set, bounds the next command (then it is cleared).
	deadline time.Time
	start    time.Time // of the borrow
}

var (
	_ redigo.ConnWithContext = (*gatedConn)(nil)
	_ redigo.ConnWithTimeout = (*gatedConn)(nil)
)

func (g *gatedConn) note(ctx context.Context, err error) {
	o := classify(ctx, err)
	g.mu.Lock()
	g.t = g.b.record(g.t, o, err)
	g.mu.Unlock()
}

func (g *gatedConn) Close() error {
	g.mu.Lock()
	if g.t.probe {
		// A probe that ran nothing: give the slot back.
		g.t = g.b.record(g.t, neutral, nil)
	}
	g.mu.Unlock()
	return g.c.Close()
}

func (g *gatedConn) Err() error { return g.c.Err() }

// capped returns ctx bounded by the borrow's deadline, if the borrow set
// one for this command.
func (g *gatedConn) capped(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.deadline.IsZero() {
		return ctx, func() {}
	}
	dl := g.deadline
	g.deadline = time.Time{}
	if least := time.Now().Add(minCommand); dl.Before(least) {
		dl = least
	}
	return context.WithDeadline(ctx, dl)
}

func (g *gatedConn) Do(cmd string, args ...any) (any, error) {
	if !g.deadline.IsZero() {
		return g.DoContext(context.Background(), cmd, args...)
	}
	r, err := g.c.Do(cmd, args...)
	g.note(nil, err)
	return r, err
}

func (g *gatedConn) Send(cmd string, args ...any) error {
	err := g.c.Send(cmd, args...)
	if err != nil {
		g.note(nil, err)
	}
	return err
}

func (g *gatedConn) Flush() error {
	err := g.c.Flush()
	if err != nil {
		g.note(nil, err)
	}
	return err
}

func (g *gatedConn) Receive() (any, error) {
	r, err := g.c.Receive()
	g.note(nil, err)
	return r, err
}

func (g *gatedConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	cctx, cancel := g.capped(ctx)
	defer cancel()
	r, err := redigo.DoContext(g.c, cctx, cmd, args...)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("no answer within the call's bound of %v: %w", time.Since(g.start).Round(time.Millisecond), err)
	}
	g.note(ctx, err) // the caller's ctx: the cap running out is Redis's fault
	return r, err
}

func (g *gatedConn) ReceiveContext(ctx context.Context) (any, error) {
	r, err := redigo.ReceiveContext(g.c, ctx)
	g.note(ctx, err)
	return r, err
}

func (g *gatedConn) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	r, err := redigo.DoWithTimeout(g.c, d, cmd, args...)
	g.note(nil, err)
	return r, err
}

func (g *gatedConn) ReceiveWithTimeout(d time.Duration) (any, error) {
	r, err := redigo.ReceiveWithTimeout(g.c, d)
	g.note(nil, err)
	return r, err
}
