package handlers

import (
	"context"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc"
	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

// Console is what the admin console's pages need from the session service.
type Console interface {
	List(ctx context.Context, q store.Query) (store.Page, error)
	Get(ctx context.Context, sid string) (store.Record, error)
	State(ctx context.Context, sid string) (sessionsvc.State, error)
	Snapshots(ctx context.Context, sid, cat string) ([]sessionsvc.SnapshotInfo, error)
	SessionAnalytics(ctx context.Context, sid string) (sessionsvc.SessionAnalytics, error)
	Archived(ctx context.Context, sid string) (sessionsvc.ArchivedSession, error)
	Terminate(ctx context.Context, sid, actor, note string) error
	SaveRecoveryPoint(ctx context.Context, sid, actor string) (int, error)
	TerminateUser(ctx context.Context, user, actor, note string) (int, error)
	Today(ctx context.Context) (sessionsvc.Aggregate, error)
	Aggregates(ctx context.Context, from, to time.Time) (sessionsvc.Aggregate, error)
	Hourly(ctx context.Context, n int) ([]store.HourStats, error)
	AuditLog(ctx context.Context, q store.AuditQuery) (store.AuditPage, error)
	System(ctx context.Context) (sessionsvc.SystemInfo, error)
	PreviewTermination(ctx context.Context, actor string, sel sessionsvc.Selection) (string, store.Preview, error)
	LoadPreview(ctx context.Context, actor, id string) (store.Preview, error)
	ConfirmTermination(ctx context.Context, actor, id, note string) (int, error)
	Account(ctx context.Context, user string) (sessionsvc.UserAccount, error)
	UserRecoveryPoints(ctx context.Context, user string) ([]store.RecoveryPoint, error)
	ListEnded(ctx context.Context, q store.EndedQuery) (store.EndedPage, error)
	UserCosts(ctx context.Context, user string, days int) ([]sessionsvc.DayCost, error)
	IssueRecoveryLink(ctx context.Context, point store.RecoveryPoint, admin string) (string, time.Time, error)
	DisableUser(ctx context.Context, user, actor, reason string) (int, error)
	EnableUser(ctx context.Context, user, actor string) error
}
