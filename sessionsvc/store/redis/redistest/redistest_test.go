package redistest

import (
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

func TestStartDoAndCommandStats(t *testing.T) {
	s := Start(t)
	if got, err := redigo.String(s.Do("PING")); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	if _, err := s.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Do("GET", "k"); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := s.CommandStats()
	if err != nil {
		t.Fatal(err)
	}
	if got := stats["get"]; got != 3 {
		t.Errorf("calls of get = %d, want 3 (stats %v)", got, stats)
	}
	if got, want := s.URL(), "redis://"+s.Addr()+"/0"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	aof, err := redigo.Strings(s.Do("CONFIG", "GET", "appendonly"))
	if err != nil || len(aof) != 2 || aof[1] != "no" {
		t.Errorf("appendonly = %v, %v; want no", aof, err)
	}
}

func TestPauseResume(t *testing.T) {
	s := Start(t)
	s.Pause()
	c, err := redigo.Dial("tcp", s.Addr(), redigo.DialReadTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Do("PING"); err == nil {
		t.Fatal("PING on a paused server answered; want a timeout")
	}
	s.Resume()
	if got, err := redigo.String(s.Do("PING")); err != nil || got != "PONG" {
		t.Fatalf("PING after Resume = %q, %v", got, err)
	}
}

func TestKillRestart(t *testing.T) {
	tests := []struct {
		name     string
		opts     []Option
		wantKept bool
	}{
		{"no persistence loses data", nil, false},
		{"append-only keeps data", []Option{AppendOnly()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, tt.opts...)
			addr := s.Addr()
			if _, err := s.Do("SET", "k", "v"); err != nil {
				t.Fatal(err)
			}
			if tt.wantKept {
				// everysec: wait past one fsync so the write is on disk.
				time.Sleep(1500 * time.Millisecond)
			}
			s.Kill()
			if _, err := s.Do("PING"); err == nil {
				t.Fatal("PING after Kill answered")
			}
			s.Restart()
			if s.Addr() != addr {
				t.Errorf("Addr after Restart = %s, want %s", s.Addr(), addr)
			}
			v, err := redigo.String(s.Do("GET", "k"))
			switch {
			case tt.wantKept && (err != nil || v != "v"):
				t.Errorf("GET after restart = %q, %v; want v", v, err)
			case !tt.wantKept && err != redigo.ErrNil:
				t.Errorf("GET after restart = %q, %v; want nil", v, err)
			}
		})
	}
}

func TestParseCommandStats(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_get:calls=4,usec=10,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_config|resetstat:calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n"
	got, err := parseCommandStats(info)
	if err != nil {
		t.Fatal(err)
	}
	if got["get"] != 4 || got["config|resetstat"] != 1 || len(got) != 2 {
		t.Errorf("parseCommandStats = %v", got)
	}
}

func TestShared(t *testing.T) {
	s, stop, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := redigo.String(s.Do("PING")); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING after stop answered")
	}
}
