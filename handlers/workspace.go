package handlers

import (
	"context"
	"io"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/analysis"
)

// Workspace is what the analysts' pages need from the session service.
type Workspace interface {
	Workspace(ctx context.Context) (sessionsvc.WorkspaceView, error)
	Upload(ctx context.Context, name string, r io.Reader) (sessionsvc.Dataset, error)
	LoadDemo(ctx context.Context) (sessionsvc.Dataset, error)
	DeleteDataset(ctx context.Context, id string) error
	StartAnalysis(ctx context.Context, datasetID string) (sessionsvc.AnalysisRun, error)
	CurrentAnalysisProgress(ctx context.Context) (sessionsvc.AnalysisRun, int, bool, error)
	AnalysisResult(ctx context.Context, id string) (sessionsvc.AnalysisRun, io.ReadCloser, error)
	AnalysisFull(ctx context.Context, id string) (sessionsvc.AnalysisRun, *analysis.Result, error)
	AnalysisRows(ctx context.Context, id string, page, size int) ([]analysis.Row, int, error)
	SetWorkspacePrefs(ctx context.Context, pageSize int, columns []string) error
	ToggleWorkspaceSection(ctx context.Context, section string, open bool) error
	CheckCSRFToken(ctx context.Context, tok string) bool
}
