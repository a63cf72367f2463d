package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os/user"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// The ops command line: the console's read and terminate calls on the
// configured store, for scripts and for when the web console itself is down.
// It opens the store as serve does (the same config, environment overrides and
// keys) and builds the same sessionsvc.Service, without HTTP, metrics or the
// cleanup loop: a one-shot command must not take the cleanup lease.

const sessionsUsage = `usage:
  sessionconsole sessions list [-config FILE] [-user U] [-role R] [-ip IP] [-sort activity|created|deadline] [-n 50] [-cursor C]
  sessionconsole sessions show [-config FILE] SID
  sessionconsole sessions terminate [-config FILE] SID -reason R
  sessionconsole sessions terminate [-config FILE] -user U -reason R
`

const (
	// cliMaxReason matches the console's bound on a termination reason: the
	// ended user is shown it.
	cliMaxReason = 500
	// cliValueLimit is how many characters of a state value show prints, as
	// the console's detail page.
	cliValueLimit = 200
	// cliMasked replaces the value of a key that looks secret, as the console.
	cliMasked = sessionsvc.Masked
	cliTime   = "2006-01-02 15:04:05Z07:00"
)

// errUsage marks a command line the CLI refuses before touching the store.
var errUsage = errors.New("usage")

// sessionsCmd runs `sessionconsole sessions ...`.
func sessionsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return errors.New("sessions: missing subcommand (list, show or terminate)")
	}
	sub, args := args[0], args[1:]
	var err error
	switch sub {
	case "list":
		err = sessionsList(ctx, args, getenv, stdout, stderr)
	case "show":
		err = sessionsShow(ctx, args, getenv, stdout, stderr)
	case "terminate":
		err = sessionsTerminate(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, sessionsUsage)
		return nil
	default:
		fmt.Fprint(stderr, sessionsUsage)
		return fmt.Errorf("sessions: unknown subcommand %q", sub)
	}
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, sessionsUsage)
	}
	return err
}

// usageErr is a refused command line: the message, and the usage printed.
func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// parseInterleaved parses flags that may come before or after the positional
// arguments (`show SID -config F`, `terminate SID -reason R`): the standard
// flag package stops at the first positional one.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "", "configuration file (default config.yaml)")
	return fs, cfg
}

// cliService is the service over the configured store, and what closes it.
type cliService struct {
	svc   *sessionsvc.Service
	close func()
}

// openCLIService loads the config and opens the store and service as serve
// does. Its logger writes warnings and errors only to stderr: standard
// output is the command's result.
func openCLIService(ctx context.Context, configPath string, getenv func(string) string, stderr io.Writer) (*cliService, error) {
	explicit := configPath != ""
	if !explicit {
		configPath = "config.yaml"
	}
	cfg, err := sessionsvc.LoadConfigFile(configPath, explicit, getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%w\n(the embedded database serves one process: stop the server, or use the web console)", err)
		}
		return nil, fmt.Errorf("session store unreachable: %w", err)
	}
	closers := []func(){func() { st.Close() }}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	ring, err := loadKeys(cfg, getenv, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	fm, err := files.NewManager(cfg.Storage.FilesPath, cfg.Storage.QuotaBytes())
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("storage.files_path: %w", err)
	}
	closers = append(closers, func() { fm.Close() })
	svc, err := sessionsvc.New(sessionsvc.Options{Config: cfg, Store: st, Logger: log, Keys: ring, Files: fm})
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, func() {
		// The terminated events are buffered: write them before the store closes.
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := svc.Close(flushCtx); err != nil {
			log.Error("analytics flush", slog.String("error", err.Error()))
		}
	})
	if err := svc.Ready(ctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("session store unreachable: %w", err)
	}
	return &cliService{svc: svc, close: closeAll}, nil
}

// cliError turns the service's sentinel errors into a message for a person at
// a shell.
func cliError(err error) error {
	switch {
	case errors.Is(err, store.ErrBadCursor):
		return fmt.Errorf("-cursor is not a cursor this list printed: start again without it (%w)", err)
	case errors.Is(err, sessionsvc.ErrUnavailable):
		return fmt.Errorf("session store unreachable: %w", err)
	}
	return err
}

func sessionsList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, configPath := newFlagSet("sessions list", stderr)
	var q store.Query
	fs.StringVar(&q.Filter.User, "user", "", "only this user's sessions")
	fs.StringVar(&q.Filter.Role, "role", "", "only this role: admin, operator or analyst")
	fs.StringVar(&q.Filter.IP, "ip", "", "only sessions whose first or last IP is this address")
	sortBy := fs.String("sort", string(store.SortActivity), "order: activity (most recent first), created (newest first) or deadline (soonest to end first)")
	fs.IntVar(&q.Limit, "n", 50, "rows per page, 1 to 500")
	fs.StringVar(&q.Cursor, "cursor", "", "the next-page cursor a previous list printed")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("sessions list takes no arguments, got %q", pos[0])
	}
	if q.Filter.Role != "" && !sessionsvc.ValidRole(q.Filter.Role) {
		return usageErr("-role %q: choose admin, operator or analyst", q.Filter.Role)
	}
	if q.Filter.IP != "" {
		a, err := netip.ParseAddr(q.Filter.IP)
		if err != nil {
			return usageErr("-ip %q is not an IP address", q.Filter.IP)
		}
		q.Filter.IP = a.Unmap().String() // the form the service records
	}
	q.Sort = store.Sort(*sortBy)
	if !q.Sort.Valid() {
		return usageErr("-sort %q: choose activity, created or deadline", *sortBy)
	}
	if q.Limit < 1 || q.Limit > 500 {
		return usageErr("-n %d: between 1 and 500", q.Limit)
	}
	if q.Cursor != "" {
		if _, _, err := store.DecodeCursor(q.Cursor); err != nil {
			return usageErr("-cursor is not a cursor this list printed: start again without it")
		}
	}

	cs, err := openCLIService(ctx, *configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer cs.close()
	page, err := cs.svc.List(ctx, q)
	if err != nil {
		return cliError(err)
	}
	now := time.Now()
	fmt.Fprintf(stdout, "%d %s\n", page.Total, plural(page.Total, "live session", "live sessions"))
	if len(page.Records) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SID\tUSER\tROLE\tIP\tDEVICE\tCREATED\tLAST ACTIVE\tEXPIRES IN")
		for _, r := range page.Records {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(r.SID), clean(r.User), clean(r.Role),
				clean(r.LastIP), clean(r.Device), r.CreatedAt.UTC().Format(cliTime),
				r.LastActivity.UTC().Format(cliTime), until(r.Deadline(), now))
		}
		tw.Flush()
	}
	if page.Next != "" {
		fmt.Fprintf(stdout, "next page: -cursor %s\n", page.Next)
	}
	return nil
}

func sessionsShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, configPath := newFlagSet("sessions show", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("sessions show takes one SID")
	}
	sid := pos[0]
	if !sessionsvc.ValidSID(sid) {
		return fmt.Errorf("no session %q: not a session id", sid)
	}
	cs, err := openCLIService(ctx, *configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer cs.close()
	svc := cs.svc
	now := time.Now()

	an, err := svc.SessionAnalytics(ctx, sid)
	haveAnalytics := err == nil
	if err != nil && !errors.Is(err, sessionsvc.ErrNotFound) {
		return cliError(err)
	}
	var (
		state     sessionsvc.State
		haveState bool
	)
	w := &kv{w: stdout}
	rec, err := svc.Get(ctx, sid)
	switch {
	case err == nil:
		w.line("session", sid)
		w.line("status", "live")
		writeRecord(w, rec, now)
	case !errors.Is(err, sessionsvc.ErrNotFound):
		return cliError(err)
	default:
		a, aerr := svc.Archived(ctx, sid)
		switch {
		case aerr == nil:
			w.line("session", sid)
			w.line("status", "ended, archived "+a.ArchivedAt.UTC().Format(cliTime))
			writeTombstone(w, a.Tombstone)
			writeRecord(w, a.Record, now)
			state, haveState = a.State, true
		case !errors.Is(aerr, sessionsvc.ErrNotFound):
			return cliError(aerr)
		case haveAnalytics:
			// Ended, and cleanup has not archived it yet.
			w.line("session", sid)
			w.line("status", "ended, awaiting cleanup")
			w.line("user", an.User)
		default:
			return fmt.Errorf("no session %s: not live, not archived, no analytics kept", sid)
		}
	}
	if !haveState {
		st, err := svc.State(ctx, sid)
		switch {
		case err == nil:
			state, haveState = st, true
		case !errors.Is(err, sessionsvc.ErrNotFound):
			return cliError(err)
		}
	}
	w.flush()

	if haveState {
		fmt.Fprintf(stdout, "\nstate: version %d, %d bytes", state.Version, state.Bytes)
		if !state.LastModified.IsZero() {
			fmt.Fprintf(stdout, ", modified %s", state.LastModified.UTC().Format(cliTime))
		}
		fmt.Fprintln(stdout)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, name := range store.Categories {
			cat, ok := state.Categories[name]
			if !ok {
				continue
			}
			// A line without a tab ends the column block: each category's keys
			// align among themselves, with no trailing padding.
			fmt.Fprintf(tw, "  %s (v%d)\n", name, cat.Version)
			keys := make([]string, 0, len(cat.Values))
			for k := range cat.Values {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(tw, "    %s\t%s\n", clean(k), clean(displayValue(k, cat.Values[k])))
			}
		}
		tw.Flush()
	}
	if haveAnalytics {
		fmt.Fprintln(stdout, "\nanalytics:")
		w := &kv{w: stdout, indent: "  "}
		w.line("duration", an.Duration.Round(time.Second).String())
		w.line("page views", fmt.Sprint(an.PageViews))
		w.line("analyses", fmt.Sprint(an.Analyses))
		w.line("uploads", fmt.Sprint(an.Uploads))
		w.line("api calls", fmt.Sprint(an.APICalls))
		w.line("comments", fmt.Sprint(an.Comments))
		w.line("cost", an.Cost.String())
		w.line("events", fmt.Sprint(an.Events))
		w.flush()
	}
	return nil
}

func writeRecord(w *kv, r store.Record, now time.Time) {
	w.line("user", r.User)
	w.line("role", r.Role)
	w.line("created", r.CreatedAt.UTC().Format(cliTime))
	w.line("signed in", r.AuthenticatedAt.UTC().Format(cliTime))
	w.line("last active", r.LastActivity.UTC().Format(cliTime))
	w.line("expires", r.Deadline().UTC().Format(cliTime)+" (in "+until(r.Deadline(), now)+")")
	ip := r.LastIP
	if r.IPChanged || r.FirstIP != r.LastIP {
		ip += " (first " + r.FirstIP + ")"
	}
	w.line("ip", ip)
	w.line("device", r.Device)
	w.line("user agent", r.LastUserAgent)
	if r.UAChanged || r.FirstUserAgent != r.LastUserAgent {
		w.line("first user agent", r.FirstUserAgent)
	}
	w.line("page", r.Path)
	proc := r.Processing
	if proc == "" {
		proc = "idle"
	}
	if r.Processing == "running" {
		proc += fmt.Sprintf(" %d%%", r.Progress)
	}
	w.line("processing", proc)
	if r.RecoveredFrom != "" {
		w.line("recovered from", r.RecoveredFrom)
	}
}

func writeTombstone(w *kv, t store.Tombstone) {
	w.line("ended", t.At.UTC().Format(cliTime))
	w.line("reason", string(t.Reason))
	w.line("ended by", t.Actor)
	if t.Note != "" {
		w.line("note", t.Note)
	}
}

func sessionsTerminate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, configPath := newFlagSet("sessions terminate", stderr)
	userName := fs.String("user", "", "end every live session of this user instead of one SID")
	reason := fs.String("reason", "", "why (required): the ended user sees it at their next request")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var sid string
	switch {
	case len(pos) > 1:
		return usageErr("sessions terminate takes one SID, got %d arguments", len(pos))
	case len(pos) == 1 && *userName != "":
		return usageErr("give either a SID or -user, not both")
	case len(pos) == 1:
		sid = pos[0]
	case *userName == "":
		return usageErr("sessions terminate needs a SID or -user U")
	}
	*reason = strings.TrimSpace(*reason)
	switch n := utf8.RuneCountInString(*reason); {
	case n == 0:
		return usageErr("a reason is required (-reason R): the user sees it when their session ends")
	case n > cliMaxReason:
		return usageErr("the reason is too long: at most %d characters", cliMaxReason)
	}
	if sid != "" && !sessionsvc.ValidSID(sid) {
		return fmt.Errorf("no live session %q: not a session id", sid)
	}

	cs, err := openCLIService(ctx, *configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer cs.close()
	actor := cliActor(getenv)
	if sid != "" {
		if err := cs.svc.Terminate(ctx, sid, actor, *reason); err != nil {
			if errors.Is(err, sessionsvc.ErrNotFound) {
				return fmt.Errorf("no live session %s (unknown or already ended)", sid)
			}
			return cliError(err)
		}
		fmt.Fprintf(stdout, "ended 1 session (%s) as %s\n", sid, actor)
		return nil
	}
	n, err := cs.svc.TerminateUser(ctx, *userName, actor, *reason)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "ended %d %s of user %s as %s\n", n, plural(n, "session", "sessions"), clean(*userName), actor)
	return nil
}

// cliActor names the person at the shell in the audit log: "cli:" and the
// operating system user, so that CLI actions are told apart from the console's.
func cliActor(getenv func(string) string) string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = getenv("USER")
	}
	if name == "" {
		name = "unknown"
	}
	return "cli:" + name
}

// kv prints aligned "key  value" lines.
type kv struct {
	w      io.Writer
	indent string
	tw     *tabwriter.Writer
}

func (k *kv) line(key, value string) {
	if k.tw == nil {
		k.tw = tabwriter.NewWriter(k.w, 0, 0, 2, ' ', 0)
	}
	fmt.Fprintf(k.tw, "%s%s\t%s\n", k.indent, key, clean(value))
}

func (k *kv) flush() {
	if k.tw != nil {
		k.tw.Flush()
	}
}

// clean makes a stored string safe for a terminal and the table: user agents,
// file names and state values are user-controlled, and a control character
// (an escape sequence, a tab, a newline) would rewrite the operator's screen
// or break the columns. Each one is printed as its Go escape.
func clean(s string) string {
	if s == "" {
		return "-"
	}
	if !strings.ContainsFunc(s, needsEscape) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if needsEscape(r) {
			q := fmt.Sprintf("%+q", string(r))
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// until is how long until t, to the second, or "now" once it has passed.
func until(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return "now"
	}
	return d.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// displayValue shows a state value as the console does: a key whose name says
// credential is masked, also inside JSON values at any depth (sessionsvc's
// MaskJSON); values are cut to cliValueLimit characters.
func displayValue(key string, raw json.RawMessage) string {
	if sessionsvc.SecretKey(key) {
		return cliMasked
	}
	s := sessionsvc.MaskJSON(raw)
	if utf8.RuneCountInString(s) > cliValueLimit {
		s = string([]rune(s)[:cliValueLimit]) + "…"
	}
	return s
}

const usersUsage = `usage:
  sessionconsole users disable [-config FILE] USER -reason R
  sessionconsole users enable [-config FILE] USER
`

// usersCmd runs `sessionconsole users disable|enable ...`: the console's
// account actions, audited with actor cli:<os user>.
func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return errors.New("users: missing subcommand (disable or enable)")
	}
	sub, args := args[0], args[1:]
	var err error
	switch sub {
	case "disable", "enable":
		err = usersSetDisabled(ctx, sub == "disable", args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usersUsage)
		return nil
	default:
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("users: unknown subcommand %q", sub)
	}
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, usersUsage)
	}
	return err
}

// usersSetDisabled disables an account (refusing its sign-in on every
// instance and ending its sessions) or enables it again.
func usersSetDisabled(ctx context.Context, disable bool, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "users enable"
	if disable {
		name = "users disable"
	}
	fs, configPath := newFlagSet(name, stderr)
	reason := fs.String("reason", "", "why (required to disable): audited and shown to the ended sessions")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("%s takes one user name, got %d arguments", name, len(pos))
	}
	userName := pos[0]
	*reason = strings.TrimSpace(*reason)
	if disable {
		switch n := utf8.RuneCountInString(*reason); {
		case n == 0:
			return usageErr("a reason is required (-reason R)")
		case n > cliMaxReason:
			return usageErr("the reason is too long: at most %d characters", cliMaxReason)
		}
	} else if *reason != "" {
		return usageErr("users enable takes no -reason")
	}

	cs, err := openCLIService(ctx, *configPath, getenv, stderr)
	if err != nil {
		return err
	}
	defer cs.close()
	actor := cliActor(getenv)
	if !disable {
		if err := cs.svc.EnableUser(ctx, userName, actor); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "enabled user %s as %s\n", clean(userName), actor)
		return nil
	}
	n, err := cs.svc.DisableUser(ctx, userName, actor, *reason)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "disabled user %s and ended %d %s as %s\n", clean(userName), n, plural(n, "session", "sessions"), actor)
	return nil
}
