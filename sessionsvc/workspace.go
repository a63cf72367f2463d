package sessionsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/sessionsvc/comments"
	"github.com/ppfiber/sessionconsole/sessionsvc/files"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// The analyst workspace keeps its state in the session's categories:
//
//	user_data.uploaded_files        []Dataset, newest last
//	user_data.analysis_history      []AnalysisRun (finished ones), newest last
//	analysis_data.current_dataset   the id of the dataset the next analysis reads
//	analysis_data.current_analysis  the AnalysisRun started last, whatever its status
//	analysis_data.results           the summary (analysis.Result without rows) of the last finished run
//	analysis_data.processing_status the status of current_analysis
//
// Uploaded files and full results are files in the session's namespace
// (ds-<id>.csv, an-<id>.json); progress while running lives in the registry
// record (SetProcessing), not in versioned state.

// Workspace errors; each is a clear message for the analyst.
var (
	ErrNoFiles       = errors.New("this server keeps no files (storage.files_path is not set)")
	ErrNoDataset     = errors.New("no such dataset in this session")
	ErrAnalysisBusy  = errors.New("an analysis of this session is already queued or running")
	ErrQueueFull     = errors.New("the server is busy with other analyses: try again in a minute")
	ErrNoAnalysis    = errors.New("no such analysis in this session")
	ErrNotFinished   = errors.New("this analysis has no results yet")
	ErrUploadQuota   = errors.New("this session's storage is full: delete a dataset first")
	ErrUploadName    = errors.New("the file needs a name ending in .csv or .txt")
	ErrTooManyFiles  = errors.New("this session has as many datasets as it may keep: delete one first")
	errStateConflict = errors.New("sessionsvc: state kept changing")
)

// maxDatasets bounds a session's datasets; maxHistory the analyses kept in
// user_data.analysis_history (older ones drop off, their result files too).
const (
	maxDatasets = 20
	maxHistory  = 50
)

// Dataset is an uploaded file of comments.
type Dataset struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"` // the original file name: display text only, never a path
	Bytes      int64     `json:"bytes"`
	Comments   int       `json:"comments"`
	Skipped    int       `json:"skipped"` // rows without text
	Encoding   string    `json:"encoding"`
	Separator  string    `json:"separator"`
	Columns    []string  `json:"columns"`
	UploadedAt time.Time `json:"uploaded_at"`
}

func (d Dataset) file() string { return "ds-" + d.ID + ".csv" }

// UploadError is a file refused by the parser: the parser's error (a
// *comments.LineError or one of its sentinel errors) for the analyst, with
// nothing kept.
type UploadError struct{ Err error }

func (e *UploadError) Error() string { return "upload refused: " + e.Err.Error() }
func (e *UploadError) Unwrap() error { return e.Err }

// Upload reads a CSV of comments into the signed-in session's namespace. The
// file is parsed while it streams to disk, so the size limit
// (storage.max_upload_mb) holds while reading and a bad file, or one over the
// limit, leaves nothing behind. It is kept under a generated name; name is
// only shown. It is recorded in user_data.uploaded_files, becomes the current
// dataset and counts as a file_upload event.
func (s *Service) Upload(ctx context.Context, name string, r io.Reader) (Dataset, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return Dataset{}, ErrNoSession
	}
	name = cleanDisplayName(name)
	if name == "" {
		return Dataset{}, ErrUploadName
	}
	datasets, err := s.Datasets(ctx)
	if err != nil {
		return Dataset{}, err
	}
	if len(datasets) >= maxDatasets {
		return Dataset{}, ErrTooManyFiles
	}
	ns, err := s.namespace(cur.SID)
	if err != nil {
		return Dataset{}, err
	}
	defer ns.Close()
	w, err := ns.CreateTemp("upload-*.csv")
	if err != nil {
		return Dataset{}, fmt.Errorf("sessionsvc: upload: %w", err)
	}
	n, info, perr := countComments(teeErrReader{r: r, w: w}, s.cfg.Storage.MaxUploadBytes())
	if perr != nil {
		w.Abort()
		if errors.Is(perr, files.ErrQuota) {
			return Dataset{}, ErrUploadQuota
		}
		var we writeError
		if errors.As(perr, &we) {
			return Dataset{}, fmt.Errorf("sessionsvc: upload: %w", we.err)
		}
		return Dataset{}, &UploadError{Err: perr}
	}
	if err := w.Close(); err != nil {
		if errors.Is(err, files.ErrQuota) {
			return Dataset{}, ErrUploadQuota
		}
		return Dataset{}, fmt.Errorf("sessionsvc: upload: %w", err)
	}
	d := Dataset{
		ID: randomID(9), Name: name, Bytes: w.Size(), Comments: n, Skipped: info.Skipped,
		Encoding: info.Encoding, Separator: string(info.Separator), Columns: info.Columns, UploadedAt: s.now(),
	}
	if err := ns.Rename(w.Name(), d.file()); err != nil {
		ns.Remove(w.Name())
		return Dataset{}, fmt.Errorf("sessionsvc: upload: %w", err)
	}
	if err := s.addDataset(ctx, cur.SID, d); err != nil {
		ns.Remove(d.file())
		return Dataset{}, err
	}
	s.Record(cur.SID, cur.User, store.EventFileUpload, map[string]string{
		"bytes": strconv.FormatInt(d.Bytes, 10), "comments": strconv.Itoa(d.Comments)})
	return d, nil
}

// LoadDemo uploads the synthetic demo data set (about 2,000 comments).
func (s *Service) LoadDemo(ctx context.Context) (Dataset, error) {
	return s.Upload(ctx, "comentarios-demo.csv", bytes.NewReader(analysis.DemoCSV))
}

// writeError marks a failure of the file being written (disk, quota) as
// opposed to the upload's content, which the parser reports.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }

// teeErrReader reads r and writes what it read to w, like io.TeeReader, but
// reports a write failure as writeError so the caller can tell it apart.
type teeErrReader struct {
	r io.Reader
	w io.Writer
}

func (t teeErrReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			if errors.Is(werr, files.ErrQuota) {
				return n, werr
			}
			return n, writeError{werr}
		}
	}
	return n, err
}

// countComments reads a whole upload through the parser, keeping only the
// count: the comments are read again, from the file, when analysed.
func countComments(r io.Reader, limit int64) (int, comments.Info, error) {
	cr, err := comments.NewReader(r, limit)
	if err != nil {
		return 0, comments.Info{}, err
	}
	n := 0
	for {
		_, err := cr.Next()
		if err == io.EOF {
			return n, cr.Info(), nil
		}
		if err != nil {
			return 0, cr.Info(), err
		}
		n++
	}
}

// cleanDisplayName keeps the last element of a client's file name, as valid
// UTF-8 without control characters, at most 200 characters; "" when nothing
// is left. It is display text: the file on disk has a generated name.
func cleanDisplayName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	if name == "." || name == ".." {
		return ""
	}
	return name
}

func (s *Service) namespace(sid string) (*files.Namespace, error) {
	if s.files == nil {
		return nil, ErrNoFiles
	}
	return s.files.Namespace(sid)
}

// Datasets lists the signed-in session's uploads, oldest first.
func (s *Service) Datasets(ctx context.Context) ([]Dataset, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return nil, ErrNoSession
	}
	return s.datasets(ctx, cur.SID)
}

func (s *Service) datasets(ctx context.Context, sid string) ([]Dataset, error) {
	c, err := s.StateCategory(ctx, sid, store.CatUserData)
	if err != nil {
		return nil, err
	}
	var out []Dataset
	decodeLenient(c.Values["uploaded_files"], &out)
	return out, nil
}

// decodeLenient decodes a state value the workspace wrote, leaving v as it
// is when the value is missing or not of the expected shape (a state written
// by hand through the API): the workspace shows what it can.
func decodeLenient(b json.RawMessage, v any) {
	if len(b) > 0 {
		json.Unmarshal(b, v)
	}
}

// addDataset appends d to user_data.uploaded_files and makes it the current
// dataset.
func (s *Service) addDataset(ctx context.Context, sid string, d Dataset) error {
	err := s.modifyState(ctx, sid, store.CatUserData, func(v map[string]json.RawMessage) (map[string]any, error) {
		var list []Dataset
		decodeLenient(v["uploaded_files"], &list)
		return map[string]any{"uploaded_files": append(list, d)}, nil
	})
	if err != nil {
		return err
	}
	_, err = s.SetStateValue(ctx, sid, store.CatAnalysisData, "current_dataset", d.ID)
	return err
}

// DeleteDataset removes one of the signed-in session's datasets and its file.
// Analyses of it keep their results.
func (s *Service) DeleteDataset(ctx context.Context, id string) error {
	cur, ok := s.Current(ctx)
	if !ok {
		return ErrNoSession
	}
	var gone *Dataset
	err := s.modifyState(ctx, cur.SID, store.CatUserData, func(v map[string]json.RawMessage) (map[string]any, error) {
		var list []Dataset
		decodeLenient(v["uploaded_files"], &list)
		keep := list[:0:0]
		gone = nil
		for _, d := range list {
			if d.ID == id {
				d := d
				gone = &d
				continue
			}
			keep = append(keep, d)
		}
		if gone == nil {
			return nil, ErrNoDataset
		}
		return map[string]any{"uploaded_files": keep}, nil
	})
	if err != nil {
		return err
	}
	if ns, err := s.namespace(cur.SID); err == nil {
		ns.Remove(gone.file())
		ns.Close()
	}
	var curID string
	decodeLenient(s.stateValue(ctx, cur.SID, store.CatAnalysisData, "current_dataset"), &curID)
	if curID == id {
		if _, err := s.SetStateValue(ctx, cur.SID, store.CatAnalysisData, "current_dataset", nil); err != nil {
			return err
		}
	}
	return nil
}

// modifyState applies fn to a category's current values and writes what it
// returns, at the version read: concurrent writers of the same keys (two
// tabs) retry instead of losing each other's lists.
func (s *Service) modifyState(ctx context.Context, sid, cat string, fn func(map[string]json.RawMessage) (map[string]any, error)) error {
	for range 20 {
		c, err := s.StateCategory(ctx, sid, cat)
		if err != nil {
			return err
		}
		set, err := fn(c.Values)
		if err != nil {
			return err
		}
		_, err = s.UpdateState(ctx, sid, cat, c.Version, set, nil)
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		return err
	}
	return errStateConflict
}

// stateValue is the value of key in a category, nil when unset or unreadable.
func (s *Service) stateValue(ctx context.Context, sid, cat, key string) json.RawMessage {
	v, _, err := s.StateValue(ctx, sid, cat, key)
	if err != nil {
		return nil
	}
	return v
}

// validRunID reports whether id could be one StartAnalysis made
// (randomID(9)), before it names a file.
func validRunID(id string) bool {
	return len(id) == 12 && path.Base(id) == id && strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}
