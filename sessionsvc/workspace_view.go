package sessionsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Workspace sections, in page order: ui_state.expanded_sections holds the
// open ones and ui_state.current_page the last one the analyst worked in.
var WorkspaceSections = []string{"datasets", "analysis", "history", "preferences"}

// DefaultExpanded are the sections open while ui_state names none.
var DefaultExpanded = []string{"datasets", "analysis"}

// ResultColumns are the columns of the comments table an analyst may show
// (preferences.default_columns).
var ResultColumns = []string{"comment", "sentiment", "themes", "rating", "city", "date"}

// PageSizes are the page sizes an analyst may choose (preferences.page_size).
var PageSizes = []int{10, 25, 50, 100}

// WorkspacePrefs are the workspace's preferences.
type WorkspacePrefs struct {
	Locale         string   `json:"locale"`
	Theme          string   `json:"theme"`
	PageSize       int      `json:"page_size"`
	DefaultColumns []string `json:"default_columns"`
}

// WorkspaceView is everything the workspace page shows, read in one pass
// over the session's state.
type WorkspaceView struct {
	Datasets       []Dataset
	CurrentDataset string
	Run            *AnalysisRun     // the latest run, nil before the first
	Progress       int              // percent, while Run is active
	Results        *analysis.Result // summary of the last finished run, nil before
	History        []AnalysisRun    // newest first
	Prefs          WorkspacePrefs
	Expanded       []string // open sections
	CurrentPage    string   // last section worked in
	StateVersion   int64
}

// Workspace reads the signed-in session's workspace.
func (s *Service) Workspace(ctx context.Context) (WorkspaceView, error) {
	cur, ok := s.Current(ctx)
	if !ok {
		return WorkspaceView{}, ErrNoSession
	}
	st, err := s.State(ctx, cur.SID)
	if err != nil {
		return WorkspaceView{}, err
	}
	var v WorkspaceView
	v.StateVersion = st.Version
	ud, ad, ui, pr := st.Categories[store.CatUserData].Values, st.Categories[store.CatAnalysisData].Values,
		st.Categories[store.CatUIState].Values, st.Categories[store.CatPreferences].Values
	decodeLenient(ud["uploaded_files"], &v.Datasets)
	decodeLenient(ad["current_dataset"], &v.CurrentDataset)
	var hist []AnalysisRun
	decodeLenient(ud["analysis_history"], &hist)
	for i := len(hist) - 1; i >= 0; i-- {
		v.History = append(v.History, hist[i])
	}
	var res analysis.Result
	if b := ad["results"]; len(b) > 0 && string(b) != "null" && json.Unmarshal(b, &res) == nil {
		v.Results = &res
	}
	decodeLenient(ui["expanded_sections"], &v.Expanded)
	decodeLenient(ui["current_page"], &v.CurrentPage)
	v.Prefs = WorkspacePrefs{PageSize: 25, DefaultColumns: []string{"comment", "sentiment", "themes", "rating", "city"}}
	decodeLenient(pr["locale"], &v.Prefs.Locale)
	decodeLenient(pr["theme"], &v.Prefs.Theme)
	decodeLenient(pr["page_size"], &v.Prefs.PageSize)
	decodeLenient(pr["default_columns"], &v.Prefs.DefaultColumns)
	if !slices.Contains(PageSizes, v.Prefs.PageSize) {
		v.Prefs.PageSize = 25
	}
	var last AnalysisRun
	decodeLenient(ad["current_analysis"], &last)
	run, progress, ok, err := s.runProgress(ctx, cur, last)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return WorkspaceView{}, err
	}
	if ok {
		v.Run, v.Progress = &run, progress
	}
	return v, nil
}

// ErrBadPreference is a preference value the workspace does not offer.
var ErrBadPreference = errors.New("sessionsvc: invalid preference")

// SetWorkspacePrefs saves the page size and the comment table's columns
// (preferences, carried to the user's next sessions).
func (s *Service) SetWorkspacePrefs(ctx context.Context, pageSize int, columns []string) error {
	cur, ok := s.Current(ctx)
	if !ok {
		return ErrNoSession
	}
	if !slices.Contains(PageSizes, pageSize) {
		return fmt.Errorf("%w: page size %d", ErrBadPreference, pageSize)
	}
	cols := make([]string, 0, len(columns))
	for _, c := range ResultColumns { // in display order, each once
		if slices.Contains(columns, c) {
			cols = append(cols, c)
		}
	}
	if len(cols) != len(columns) || len(cols) == 0 {
		return fmt.Errorf("%w: columns %q", ErrBadPreference, columns)
	}
	_, err := s.UpdateState(ctx, cur.SID, store.CatPreferences, -1,
		map[string]any{"page_size": pageSize, "default_columns": cols}, nil)
	return err
}

// SetWorkspaceUI records which sections are open and which one the analyst
// works in (ui_state), so that a reload, another tab, a recovered session
// shows the workspace as they left it.
func (s *Service) SetWorkspaceUI(ctx context.Context, expanded []string, current string) error {
	cur, ok := s.Current(ctx)
	if !ok {
		return ErrNoSession
	}
	open := make([]string, 0, len(expanded))
	for _, sec := range WorkspaceSections {
		if slices.Contains(expanded, sec) {
			open = append(open, sec)
		}
	}
	set := map[string]any{"expanded_sections": open}
	if slices.Contains(WorkspaceSections, current) {
		set["current_page"] = current
	}
	_, err := s.UpdateState(ctx, cur.SID, store.CatUIState, -1, set, nil)
	return err
}

// ToggleWorkspaceSection opens or closes one section, keeping the others as
// they are (two tabs toggling different sections both land).
func (s *Service) ToggleWorkspaceSection(ctx context.Context, section string, open bool) error {
	cur, ok := s.Current(ctx)
	if !ok {
		return ErrNoSession
	}
	if !slices.Contains(WorkspaceSections, section) {
		return fmt.Errorf("%w: section %q", ErrBadPreference, section)
	}
	return s.modifyState(ctx, cur.SID, store.CatUIState, func(v map[string]json.RawMessage) (map[string]any, error) {
		var list []string
		decodeLenient(v["expanded_sections"], &list)
		if len(list) == 0 {
			list = slices.Clone(DefaultExpanded)
		}
		list = slices.DeleteFunc(list, func(x string) bool { return x == section || !slices.Contains(WorkspaceSections, x) })
		if open {
			list = append(list, section)
		}
		out := make([]string, 0, len(list))
		for _, sec := range WorkspaceSections {
			if slices.Contains(list, sec) {
				out = append(out, sec)
			}
		}
		set := map[string]any{"expanded_sections": out}
		if open {
			set["current_page"] = section
		}
		return set, nil
	})
}
