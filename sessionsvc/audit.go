package sessionsvc

import (
	"context"
	"log/slog"
	"time"

	"github.com/ppfiber/sessionconsole/sessionsvc/store"
)

func (s *Service) auditRetention() time.Duration {
	return time.Duration(s.cfg.Analytics.AuditRetentionDays) * 24 * time.Hour
}

// requestIP is the client IP of the request ctx belongs to, for the audit log.
func requestIP(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.ip
	}
	return ""
}

// audited runs an admin action between its audit records: the intent is
// written first (an action whose record cannot be written does not run), the
// outcome after.
func (s *Service) audited(ctx context.Context, actor, action, target, reason string, fn func() (int, error)) error {
	id, err := s.st.AppendAudit(ctx, store.AuditEntry{At: s.now(), Actor: actor, ActorIP: requestIP(ctx),
		Action: action, Target: target, Reason: reason, Result: "pending"}, s.auditRetention())
	if err != nil {
		return s.unavailable("audit", err)
	}
	n, err := fn()
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
	}
	if cerr := s.st.CompleteAudit(context.WithoutCancel(ctx), id, result, n, s.now()); cerr != nil {
		s.log.ErrorContext(ctx, "audit: record outcome", slog.String("id", id), slog.String("action", action), slog.String("error", cerr.Error()))
	}
	return err
}

// auditEvent records something that happened (a sign-in, a failed one, a
// security event) as one complete entry. Failing to record it is logged: the
// event itself has already happened.
func (s *Service) auditEvent(ctx context.Context, actor, action, target, reason, result string) {
	now := s.now()
	_, err := s.st.AppendAudit(ctx, store.AuditEntry{At: now, Actor: actor, ActorIP: requestIP(ctx), Action: action,
		Target: target, Reason: reason, Result: result, CompletedAt: now}, s.auditRetention())
	if err != nil {
		s.log.WarnContext(ctx, "audit: record event", slog.String("action", action), slog.String("error", err.Error()))
	}
}

// AuditLog returns a page of the audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	p, err := s.st.QueryAudit(ctx, q)
	if err != nil {
		return store.AuditPage{}, s.unavailable("audit log", err)
	}
	return p, nil
}
