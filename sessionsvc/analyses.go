package sessionsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Analysis statuses, as the workspace and the console's processing column show them.
const (
	StatusQueued      = "queued"
	StatusRunning     = "running"
	StatusDone        = "done"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted" // cut off by a restart or the session's end; can be run again
)

// Why a run failed or was interrupted (AnalysisRun.Reason): stable codes the
// pages put in the reader's words. A failure the analyzer itself reports has
// no code; its Error text is shown as it is.
const (
	ReasonQueueFull         = "queue_full"
	ReasonNoFiles           = "no_files"
	ReasonDatasetDeleted    = "dataset_deleted"
	ReasonDatasetUnreadable = "dataset_unreadable"
	ReasonNotSaved          = "not_saved"
	ReasonStoppedOrEnded    = "stopped_or_ended"
	ReasonSessionEnded      = "session_ended"
	ReasonRestartedOrEnded  = "restarted_or_ended"
	ReasonStoppedBefore     = "stopped_before"
)

// runError is a failure of the run's own making, with its code.
type runError struct {
	reason string
	err    error
}

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// AnalysisRun is one analysis of a dataset: analysis_data.current_analysis
// while it is the latest, an entry of user_data.analysis_history once
// finished. Progress while running is in the registry record.
type AnalysisRun struct {
	ID          string                 `json:"id"`
	Dataset     string                 `json:"dataset"`
	DatasetName string                 `json:"dataset_name"`
	Status      string                 `json:"status"`
	Error       string                 `json:"error,omitempty"`  // why it failed or was interrupted, in English
	Reason      string                 `json:"reason,omitempty"` // the same as a code (Reason...), "" for the analyzer's own errors
	Comments    int                    `json:"comments"`
	Sentiment   *analysis.Distribution `json:"sentiment,omitempty"`
	QueuedAt    time.Time              `json:"queued_at"`
	StartedAt   time.Time              `json:"started_at,omitzero"`
	FinishedAt  time.Time              `json:"finished_at,omitzero"`
	// SID and Instance say which session and app instance run it: a run
	// found "running" in another session (a recovered one) or on this
	// instance without a job (after a restart) was interrupted.
	SID      string `json:"sid"`
	Instance string `json:"instance"`
}

// finalProgress is the percent a finished run shows: 100 when done, else 0.
func finalProgress(status string) int {
	if status == StatusDone {
		return 100
	}
	return 0
}

// Active reports whether the run is queued or running.
func (r AnalysisRun) Active() bool { return r.Status == StatusQueued || r.Status == StatusRunning }

func (r AnalysisRun) resultFile() string { return "an-" + r.ID + ".json" }

// analysisJob is a queued run.
type analysisJob struct {
	run    AnalysisRun
	user   string
	ctx    context.Context
	cancel context.CancelFunc
}

// runner is the bounded worker pool that analyses run on.
type runner struct {
	queue  chan *analysisJob
	ctx    context.Context // cancelled by Close: running jobs stop as interrupted
	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[string]*analysisJob // by sid: one run per session
}

func newRunner(workers, queue int, work func(*analysisJob)) *runner {
	ctx, stop := context.WithCancel(context.Background())
	r := &runner{queue: make(chan *analysisJob, queue), ctx: ctx, stop: stop, active: map[string]*analysisJob{}}
	for range workers {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-r.queue:
					work(j)
					r.mu.Lock()
					delete(r.active, j.run.SID)
					r.mu.Unlock()
					j.cancel()
				}
			}
		}()
	}
	return r
}

// has reports whether this instance runs or queues run id.
func (r *runner) has(sid, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.active[sid]
	return j != nil && j.run.ID == id
}

// close stops the workers: running analyses see their context cancelled and
// record themselves interrupted; queued ones are marked interrupted by mark.
func (r *runner) close(ctx context.Context, mark func(*analysisJob)) {
	r.stop()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	for {
		select {
		case j := <-r.queue:
			mark(j)
		default:
			return
		}
	}
}

// StartAnalysis queues an analysis of one of the signed-in session's datasets
// ("" for the current one) on the worker pool and returns at once: the run
// is queued, then running with a progress in the registry, then done or
// failed in analysis_data. One run per session at a time.
func (s *Service) StartAnalysis(ctx context.Context, datasetID string) (AnalysisRun, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return AnalysisRun{}, ErrNoSession
	}
	datasets, err := s.datasets(ctx, cur.SID)
	if err != nil {
		return AnalysisRun{}, err
	}
	if datasetID == "" {
		decodeLenient(s.stateValue(ctx, cur.SID, store.CatAnalysisData, "current_dataset"), &datasetID)
	}
	var ds *Dataset
	for i := range datasets {
		if datasets[i].ID == datasetID {
			ds = &datasets[i]
		}
	}
	if ds == nil {
		return AnalysisRun{}, ErrNoDataset
	}
	if last, ok, err := s.CurrentAnalysis(ctx); err != nil {
		return AnalysisRun{}, err
	} else if ok && last.Active() {
		return AnalysisRun{}, ErrAnalysisBusy
	}
	run := AnalysisRun{ID: randomID(9), Dataset: ds.ID, DatasetName: ds.Name, Status: StatusQueued,
		Comments: ds.Comments, QueuedAt: s.now(), SID: cur.SID, Instance: s.instance}
	jctx, cancel := context.WithCancel(s.jobs.ctx)
	j := &analysisJob{run: run, user: cur.User, ctx: jctx, cancel: cancel}
	s.jobs.mu.Lock()
	if s.jobs.active[cur.SID] != nil {
		s.jobs.mu.Unlock()
		cancel()
		return AnalysisRun{}, ErrAnalysisBusy
	}
	s.jobs.active[cur.SID] = j
	s.jobs.mu.Unlock()
	forget := func() {
		s.jobs.mu.Lock()
		delete(s.jobs.active, cur.SID)
		s.jobs.mu.Unlock()
		cancel()
	}
	if err := s.saveRun(ctx, run); err != nil {
		forget()
		return AnalysisRun{}, err
	}
	if err := s.SetProcessing(ctx, cur.SID, StatusQueued, 0); err != nil {
		forget()
		return AnalysisRun{}, err
	}
	select {
	case s.jobs.queue <- j:
	default:
		forget()
		run.Status, run.Error, run.Reason, run.FinishedAt = StatusFailed, ErrQueueFull.Error(), ReasonQueueFull, s.now()
		s.finishRun(context.WithoutCancel(ctx), run, cur.User, nil)
		return AnalysisRun{}, ErrQueueFull
	}
	return run, nil
}

// runAnalysis is a worker's whole handling of one job.
func (s *Service) runAnalysis(j *analysisJob) {
	run, ctx := j.run, j.ctx
	// State writes use a context that outlives the job's: an interrupted run
	// still records why.
	wctx := context.WithoutCancel(ctx)
	run.Status, run.StartedAt = StatusRunning, s.now()
	if err := s.saveRun(wctx, run); err != nil {
		s.log.Warn("analysis: session gone before it started", slog.String("sid", run.SID), slog.String("id", run.ID), slog.String("error", err.Error()))
		return
	}
	s.SetProcessing(wctx, run.SID, StatusRunning, 0)

	res, err := s.analyse(ctx, j, &run)
	switch {
	case err == nil:
		run.Status = StatusDone
		run.Comments = res.Comments
		run.Sentiment = &res.Sentiment
	case ctx.Err() != nil:
		run.Status, run.Error, run.Reason = StatusInterrupted, "the server stopped or the session ended while it ran", ReasonStoppedOrEnded
		if errors.Is(err, errSessionEnded) {
			run.Error, run.Reason = "the session ended while it ran", ReasonSessionEnded
		}
	default:
		run.Status, run.Error = StatusFailed, err.Error()
		var re *runError
		if errors.As(err, &re) {
			run.Reason = re.reason
		} else if errors.Is(err, ErrNoFiles) {
			run.Reason = ReasonNoFiles
		}
	}
	run.FinishedAt = s.now()
	s.finishRun(wctx, run, j.user, res)
}

var errSessionEnded = errors.New("the session ended")

// analyse reads the dataset from the session's namespace and runs the
// analyzer with throttled progress updates in the registry; a session that
// ended meanwhile cancels the job.
func (s *Service) analyse(ctx context.Context, j *analysisJob, run *AnalysisRun) (*analysis.Result, error) {
	ns, err := s.namespace(run.SID)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	f, err := ns.Open(Dataset{ID: run.Dataset}.file())
	if errors.Is(err, os.ErrNotExist) {
		return nil, &runError{ReasonDatasetDeleted, errors.New("its dataset was deleted")}
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	in, _, err := comments.Parse(f, s.cfg.Storage.MaxUploadBytes()+1)
	if err != nil {
		return nil, &runError{ReasonDatasetUnreadable, fmt.Errorf("its dataset can no longer be read: %w", err)}
	}
	var (
		last     = -1
		lastAt   time.Time
		ended    error
		progress = func(done, total int) {
			pct := 0
			if total > 0 {
				pct = done * 100 / total
			}
			now := time.Now()
			if pct == last || (pct < 100 && now.Sub(lastAt) < 200*time.Millisecond && pct-last < 10) {
				return
			}
			last, lastAt = pct, now
			if err := s.SetProcessing(context.WithoutCancel(ctx), run.SID, StatusRunning, pct); errors.Is(err, ErrNotFound) {
				ended = errSessionEnded
				j.cancel()
			}
		}
	)
	res, err := s.analyzer.Analyze(ctx, in, progress)
	if ended != nil && err != nil {
		return nil, ended
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// finishRun records a finished run: the full result as a file, the summary,
// status and current run in analysis_data, an entry in analysis_history, the
// registry's processing status, and an analysis_run event with the comment
// count (what the cost estimate counts). A session that ended meanwhile
// keeps none of it: its recovered successor sees the run interrupted.
func (s *Service) finishRun(ctx context.Context, run AnalysisRun, user string, res *analysis.Result) {
	log := s.log.With(slog.String("sid", run.SID), slog.String("analysis", run.ID), slog.String("status", run.Status))
	if res != nil {
		if err := s.writeResult(run, res); err != nil {
			log.Error("analysis: write results", slog.String("error", err.Error()))
			run.Status, run.Error, run.Reason, res = StatusFailed, "its results could not be saved", ReasonNotSaved, nil
		}
	}
	// The history first and the run's status last: whoever sees the status
	// finished sees its history entry too.
	err := s.modifyState(ctx, run.SID, store.CatUserData, func(v map[string]json.RawMessage) (map[string]any, error) {
		var hist []AnalysisRun
		decodeLenient(v["analysis_history"], &hist)
		hist = append(hist, run)
		if len(hist) > maxHistory {
			hist = hist[len(hist)-maxHistory:]
		}
		return map[string]any{"analysis_history": hist}, nil
	})
	if err != nil {
		log.Info("analysis: not recorded", slog.String("error", err.Error()))
		return
	}
	s.SetProcessing(ctx, run.SID, run.Status, finalProgress(run.Status))
	if run.Status == StatusDone {
		s.Record(run.SID, user, store.EventAnalysisRun, map[string]string{"comments": strconv.Itoa(run.Comments), "analysis": run.ID})
	}
	set := map[string]any{"current_analysis": run, "processing_status": run.Status}
	if res != nil {
		set["results"] = res.Summary()
	}
	if _, err := s.UpdateState(ctx, run.SID, store.CatAnalysisData, -1, set, nil); err != nil {
		log.Info("analysis: status not recorded", slog.String("error", err.Error()))
		return
	}
	log.Info("analysis finished", slog.Int("comments", run.Comments))
}

// writeResult stores the full result (rows included) as an-<id>.json,
// complete or not at all.
func (s *Service) writeResult(run AnalysisRun, res *analysis.Result) error {
	ns, err := s.namespace(run.SID)
	if err != nil {
		return err
	}
	defer ns.Close()
	w, err := ns.CreateTemp("result-*.json")
	if err != nil {
		return err
	}
	if err := analysis.WriteJSON(w, res); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return ns.Rename(w.Name(), run.resultFile())
}

// saveRun writes run as analysis_data.current_analysis.
func (s *Service) saveRun(ctx context.Context, run AnalysisRun) error {
	_, err := s.UpdateState(ctx, run.SID, store.CatAnalysisData, -1,
		map[string]any{"current_analysis": run, "processing_status": run.Status}, nil)
	return err
}

// CurrentAnalysis returns the signed-in session's latest run, with its live
// progress (percent) from the registry while it runs. A run left "running"
// by a restart, or copied into a recovered session, is reported (and
// recorded) as interrupted.
func (s *Service) CurrentAnalysis(ctx context.Context) (AnalysisRun, bool, error) {
	run, _, ok, err := s.CurrentAnalysisProgress(ctx)
	return run, ok, err
}

// CurrentAnalysisProgress is CurrentAnalysis with the progress in percent.
func (s *Service) CurrentAnalysisProgress(ctx context.Context) (AnalysisRun, int, bool, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return AnalysisRun{}, 0, false, ErrNoSession
	}
	c, err := s.StateCategory(ctx, cur.SID, store.CatAnalysisData)
	if err != nil {
		return AnalysisRun{}, 0, false, err
	}
	var run AnalysisRun
	decodeLenient(c.Values["current_analysis"], &run)
	return s.runProgress(ctx, cur, run)
}

// runProgress completes a run read from the state: its progress from the
// registry while active, or interrupted when its job is gone.
func (s *Service) runProgress(ctx context.Context, cur Current, run AnalysisRun) (AnalysisRun, int, bool, error) {
	if run.ID == "" {
		return AnalysisRun{}, 0, false, nil
	}
	if !run.Active() {
		return run, finalProgress(run.Status), true, nil
	}
	rec, err := s.Get(ctx, cur.SID)
	if err != nil {
		return AnalysisRun{}, 0, false, err
	}
	lost := run.SID != cur.SID || // copied by a recovery
		(run.Instance == s.instance && !s.jobs.has(cur.SID, run.ID)) || // this instance restarted
		(run.Instance != s.instance && rec.Processing != StatusQueued && rec.Processing != StatusRunning) // the other one did
	if lost {
		return s.markLost(ctx, cur, run)
	}
	return run, rec.Progress, true, nil
}

// errUnchanged ends a modifyState that found nothing to write.
var errUnchanged = errors.New("unchanged")

// markLost records as interrupted a run whose job is gone, unless the run
// moved on meanwhile: the state was read before the job's end was seen, and
// a job that just finished has written its final status since. It returns
// the run as it now is.
func (s *Service) markLost(ctx context.Context, cur Current, run AnalysisRun) (AnalysisRun, int, bool, error) {
	now := run
	err := s.modifyState(ctx, cur.SID, store.CatAnalysisData, func(v map[string]json.RawMessage) (map[string]any, error) {
		decodeLenient(v["current_analysis"], &now)
		if now.ID != run.ID || !now.Active() {
			return nil, errUnchanged
		}
		now.Status, now.Error, now.Reason, now.FinishedAt = StatusInterrupted, "the server restarted or the session ended while it ran", ReasonRestartedOrEnded, s.now()
		now.SID = cur.SID
		return map[string]any{"current_analysis": now, "processing_status": now.Status}, nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return AnalysisRun{}, 0, false, err
	}
	return now, finalProgress(now.Status), true, nil
}

// AnalysisHistory lists the signed-in session's finished runs, newest first.
func (s *Service) AnalysisHistory(ctx context.Context) ([]AnalysisRun, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return nil, ErrNoSession
	}
	var hist []AnalysisRun
	decodeLenient(s.stateValue(ctx, cur.SID, store.CatUserData, "analysis_history"), &hist)
	for i, j := 0, len(hist)-1; i < j; i, j = i+1, j-1 {
		hist[i], hist[j] = hist[j], hist[i]
	}
	return hist, nil
}

// AnalysisResult opens the full result of one of the signed-in session's
// finished runs (the an-<id>.json file): the caller reads and closes it.
func (s *Service) AnalysisResult(ctx context.Context, id string) (AnalysisRun, io.ReadCloser, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return AnalysisRun{}, nil, ErrNoSession
	}
	if !validRunID(id) {
		return AnalysisRun{}, nil, ErrNoAnalysis
	}
	run, found := AnalysisRun{}, false
	if c, _, ok, err := s.CurrentAnalysisProgress(ctx); err != nil {
		return AnalysisRun{}, nil, err
	} else if ok && c.ID == id {
		run, found = c, true
	}
	if !found {
		hist, err := s.AnalysisHistory(ctx)
		if err != nil {
			return AnalysisRun{}, nil, err
		}
		for _, h := range hist {
			if h.ID == id {
				run, found = h, true
				break
			}
		}
	}
	if !found {
		return AnalysisRun{}, nil, ErrNoAnalysis
	}
	if run.Status != StatusDone {
		return run, nil, ErrNotFinished
	}
	ns, err := s.namespace(cur.SID)
	if err != nil {
		return run, nil, err
	}
	f, err := ns.Open(run.resultFile())
	ns.Close()
	if errors.Is(err, os.ErrNotExist) {
		return run, nil, ErrNoAnalysis
	} else if err != nil {
		return run, nil, err
	}
	return run, f, nil
}

// AnalysisFull reads the whole result of one of the signed-in session's
// finished runs, rows included.
func (s *Service) AnalysisFull(ctx context.Context, id string) (AnalysisRun, *analysis.Result, error) {
	run, f, err := s.AnalysisResult(ctx, id)
	if err != nil {
		return run, nil, err
	}
	defer f.Close()
	var res analysis.Result
	if err := json.NewDecoder(f).Decode(&res); err != nil {
		return run, nil, fmt.Errorf("sessionsvc: analysis %s: %w: %v", id, errDamagedResult, err)
	}
	return run, &res, nil
}

var errDamagedResult = errors.New("damaged result file")

// AnalysisRows returns one page (1-based) of a finished run's comments and
// how many there are. A run without results, or whose result file is
// damaged, has none: the page shows no rows rather than an error.
func (s *Service) AnalysisRows(ctx context.Context, id string, page, size int) ([]analysis.Row, int, error) {
	_, res, err := s.AnalysisFull(ctx, id)
	switch {
	case errors.Is(err, ErrNoAnalysis), errors.Is(err, ErrNotFinished), errors.Is(err, errDamagedResult):
		return nil, 0, nil
	case err != nil:
		return nil, 0, err
	}
	from := (max(page, 1) - 1) * size
	if size <= 0 || from >= len(res.Rows) {
		return nil, len(res.Rows), nil
	}
	return res.Rows[from:min(from+size, len(res.Rows))], len(res.Rows), nil
}

// markInterrupted records a queued job that never ran, at shutdown.
func (s *Service) markInterrupted(j *analysisJob) {
	run := j.run
	run.Status, run.Error, run.Reason, run.FinishedAt = StatusInterrupted, "the server stopped before it ran", ReasonStoppedBefore, s.now()
	s.finishRun(context.Background(), run, j.user, nil)
}
