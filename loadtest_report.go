package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/ppfiber/sessionconsole/sessionsvc"
)

// ltResult is everything measured against one server.
type ltResult struct {
	label       string
	target      ltTarget
	load        *ltLoad
	interrupted bool
	redis       *redisDelta  // over the measured run
	perKind     []ltKindCost // each request type alone
	memory      *procMemory  // at the end of the measured run
	idleMemory  *procMemory  // in-process: before the load
	inProcess   bool
	cpu         time.Duration // CPU time of the server's process over the run
	cpuSelf     bool          // ... which is this one (server and clients)
	notes       []string
}

func (r *ltResult) print(w io.Writer) {
	if r.load == nil {
		fmt.Fprintf(w, "%s: interrupted before the measured run\n", r.label)
		return
	}
	l := r.load
	status := ""
	if r.interrupted {
		status = " (interrupted)"
	}
	fmt.Fprintf(w, "%s%s: %d requests in %.1fs: %.0f req/s, %d errors\n", r.label, status, l.requests(), l.elapsed.Seconds(), l.rate(), l.errors())
	var all []time.Duration
	for k := range ltKinds {
		all = append(all, l.lat[k]...)
	}
	p := percentiles(all)
	fmt.Fprintf(w, "  latency p50 %s  p95 %s  p99 %s\n", fmtDur(p[0]), fmtDur(p[1]), fmtDur(p[2]))
	for k := range ltKinds {
		if l.count[k] == 0 {
			continue
		}
		kp := percentiles(l.lat[k])
		fmt.Fprintf(w, "  %-5s %-26s %8d  %7.0f req/s  p50 %s  p95 %s  p99 %s  %d errors\n", ltKindNames[k], r.target.describe(k),
			l.count[k], float64(l.count[k])/l.elapsed.Seconds(), fmtDur(kp[0]), fmtDur(kp[1]), fmtDur(kp[2]), l.errs[k])
	}
	for _, n := range l.notes {
		fmt.Fprintf(w, "  error: %s\n", n)
	}
	if n := l.requests(); n > 0 && (r.cpu > 0 || r.redis != nil && r.redis.haveCPU) {
		var parts []string
		if r.cpu > 0 {
			who := "the server's process"
			if r.cpuSelf {
				who = "this process (server and clients)"
			}
			parts = append(parts, fmt.Sprintf("%.0f µs in %s", float64(r.cpu.Microseconds())/float64(n), who))
		}
		if r.redis != nil && r.redis.haveCPU {
			parts = append(parts, fmt.Sprintf("%.0f µs in redis-server", float64(r.redis.cpu.Microseconds())/float64(n)))
		}
		fmt.Fprintf(w, "  CPU per request: %s\n", strings.Join(parts, ", "))
	}
	if r.redis != nil && l.requests() > 0 {
		fmt.Fprintf(w, "  redis over the run: %s\n", r.redis.perRequest(l.requests()))
	}
	if len(r.perKind) > 0 {
		fmt.Fprintf(w, "  redis per request, each type alone (%d sequential requests of one user):\n", r.perKind[0].n)
		for _, c := range r.perKind {
			errs := ""
			if c.errors > 0 {
				errs = fmt.Sprintf(" [%d errors]", c.errors)
			}
			fmt.Fprintf(w, "    %-26s %s%s\n", c.name, c.redis.perRequest(int64(c.n)), errs)
		}
	}
	if m := r.memory; m != nil {
		if r.inProcess {
			idle := ""
			if r.idleMemory != nil {
				idle = fmt.Sprintf("; VmRSS %s before the load", fmtMB(r.idleMemory.rss))
			}
			fmt.Fprintf(w, "  memory: VmRSS %s, VmHWM %s (this process: the in-process server shares it with the %s load clients%s)\n",
				fmtMB(m.rss), fmtMB(m.peak), "simulated", idle)
		} else {
			fmt.Fprintf(w, "  memory of process %s: VmRSS %s, VmHWM %s\n", m.pid, fmtMB(m.rss), fmtMB(m.peak))
		}
	}
	for _, n := range r.notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// printRatio compares ours with the baseline: req/s (issue 7 asks for at
// least 1.3) and each latency percentile (below 1: ours answers faster).
func printRatio(w io.Writer, ours, base *ltResult) {
	if ours == nil || base == nil || ours.load == nil || base.load == nil || base.load.rate() == 0 {
		return
	}
	var oa, ba []time.Duration
	for k := range ltKinds {
		oa = append(oa, ours.load.lat[k]...)
		ba = append(ba, base.load.lat[k]...)
	}
	op, bp := percentiles(oa), percentiles(ba)
	ratio := ours.load.rate() / base.load.rate()
	verdict := "meets"
	if ratio < 1.3 {
		verdict = "below"
	}
	fmt.Fprintf(w, "ours/baseline: req/s %.2fx (%s issue 7's 1.3x); latency p50 %.2fx, p95 %.2fx, p99 %.2fx\n",
		ratio, verdict, durRatio(op[0], bp[0]), durRatio(op[1], bp[1]), durRatio(op[2], bp[2]))
}

func durRatio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// percentiles returns p50, p95 and p99 (nearest rank) of ds, which it sorts.
func percentiles(ds []time.Duration) [3]time.Duration {
	if len(ds) == 0 {
		return [3]time.Duration{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return [3]time.Duration{at(0.50), at(0.95), at(0.99)}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
}

func fmtMB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// redisProbe reads the Redis server's counters on a connection of its own.
// It only reads (INFO): it never resets statistics of a Redis others use.
type redisProbe struct {
	c redigo.Conn
}

func dialRedisProbe(ctx context.Context, s sessionsvc.StorageConfig) (*redisProbe, error) {
	c, err := redigo.DialURLContext(ctx, s.RedisURL,
		redigo.DialConnectTimeout(time.Duration(s.DialTimeout)*time.Millisecond),
		redigo.DialReadTimeout(5*time.Second), redigo.DialWriteTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", redactRedisURL(s.RedisURL), err)
	}
	return &redisProbe{c: c}, nil
}

func (p *redisProbe) close() { p.c.Close() }

// redisSnapshot is the counters at one moment: calls per command from INFO
// commandstats (which counts the commands scripts run inside Redis too) and
// total_reads_processed from INFO stats, the socket reads of client
// requests: one per round trip, pipelines and MULTI/EXEC blocks included.
type redisSnapshot struct {
	calls     map[string]int64
	reads     int64
	haveReads bool
	cpu       time.Duration // used_cpu_sys + used_cpu_user
	haveCPU   bool
}

// probeRequests is how many requests snapshot sends.
const probeRequests = 3

// snapshot issues INFO stats, INFO cpu, then INFO commandstats.
func (p *redisProbe) snapshot() (redisSnapshot, error) {
	stats, err := redigo.String(p.c.Do("INFO", "stats"))
	if err != nil {
		return redisSnapshot{}, fmt.Errorf("redis INFO stats: %w", err)
	}
	cpu, err := redigo.String(p.c.Do("INFO", "cpu"))
	if err != nil {
		return redisSnapshot{}, fmt.Errorf("redis INFO cpu: %w", err)
	}
	cs, err := redigo.String(p.c.Do("INFO", "commandstats"))
	if err != nil {
		return redisSnapshot{}, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	s := redisSnapshot{calls: map[string]int64{}}
	sc := bufio.NewScanner(strings.NewReader(stats))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "total_reads_processed:"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				s.reads, s.haveReads = n, true
			}
		}
	}
	var cpuFields int
	sc = bufio.NewScanner(strings.NewReader(cpu))
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if k != "used_cpu_sys" && k != "used_cpu_user" {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			s.cpu += time.Duration(f * float64(time.Second))
			cpuFields++
		}
	}
	s.haveCPU = cpuFields == 2
	sc = bufio.NewScanner(strings.NewReader(cs))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for kv := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					s.calls[strings.TrimPrefix(name, "cmdstat_")] = n
				}
			}
		}
	}
	return s, nil
}

// redisDelta is what happened between two snapshots, without the probe's own
// INFO commands.
type redisDelta struct {
	calls     map[string]int64
	reads     int64
	haveReads bool
	cpu       time.Duration
	haveCPU   bool
}

// since is s minus an earlier snapshot b. Between b's INFO stats and s's,
// the probe itself sent probeRequests requests (b's others, s's INFO stats).
func (s redisSnapshot) since(b redisSnapshot) redisDelta {
	d := redisDelta{calls: map[string]int64{}, haveReads: s.haveReads && b.haveReads, haveCPU: s.haveCPU && b.haveCPU}
	if d.haveCPU {
		d.cpu = s.cpu - b.cpu
	}
	for k, v := range s.calls {
		if k == "info" {
			continue
		}
		if n := v - b.calls[k]; n > 0 {
			d.calls[k] = n
		}
	}
	if d.haveReads {
		d.reads = max(0, s.reads-b.reads-probeRequests)
	}
	return d
}

// scriptCalls are the commands that run a script: they count as one round
// trip each, whatever the script does inside.
var scriptCalls = []string{"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"}

// perRequest formats the delta per request: round trips (socket reads),
// every command Redis counted, the script calls, and each command's calls.
func (d redisDelta) perRequest(n int64) string {
	if n <= 0 {
		return "no requests"
	}
	per := func(v int64) float64 { return float64(v) / float64(n) }
	var total, scripts int64
	type kv struct {
		k string
		v int64
	}
	var cmds []kv
	for k, v := range d.calls {
		total += v
		if slices.Contains(scriptCalls, k) {
			scripts += v
		}
		cmds = append(cmds, kv{k, v})
	}
	slices.SortFunc(cmds, func(a, b kv) int {
		if a.v != b.v {
			return int(b.v - a.v)
		}
		return strings.Compare(a.k, b.k)
	})
	var parts []string
	for _, c := range cmds {
		parts = append(parts, fmt.Sprintf("%s %.2f", c.k, per(c.v)))
	}
	rt := "round trips n/a (no total_reads_processed)"
	if d.haveReads {
		rt = fmt.Sprintf("%.2f round trips", per(d.reads))
	}
	return fmt.Sprintf("%s, %.2f commands (%.2f script calls) per request [%s]", rt, per(total), per(scripts), strings.Join(parts, ", "))
}
