package support

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
)

// WatchKnowledge checks the knowledge folder every Options.KnowledgeInterval
// until ctx ends, swapping in a new index when an article was added,
// edited or removed (Knowledge.Refresh). Every replica runs its own: each
// holds its own index in memory.
func (s *Service) WatchKnowledge(ctx context.Context) {
	t := time.NewTicker(s.opts.KnowledgeInterval)
	defer t.Stop()
	s.knowledge.Watch(ctx, t.C)
}

// KnowledgeStatus describes this replica's knowledge base: its articles,
// when they were indexed and the last check of the folder.
func (s *Service) KnowledgeStatus() KnowledgeStatus { return s.knowledge.Status() }

// ReloadKnowledge re-indexes the knowledge folder now (staff's "reload
// now"), whether or not it looks changed, and audits it
// (support.knowledge.reload, with its outcome). Other replicas see the
// change at their next check. Errors: Unprocessable (reason
// knowledge_off: no folder is configured), Unavailable (reason
// knowledge_unreadable: the folder or every article in it cannot be read;
// the articles indexed before stay in use).
func (s *Service) ReloadKnowledge(ctx context.Context) (KnowledgeStatus, error) {
	if !s.knowledge.Status().Configured {
		return KnowledgeStatus{}, &apperr.Error{Code: apperr.Unprocessable, Reason: "knowledge_off",
			Message: "no knowledge folder is configured (support.knowledge_dir)"}
	}
	// The index is built before, and outside, the audit's transaction.
	reloadErr := s.knowledge.Reload()
	st := s.knowledge.Status()
	ev := audit.Event{Action: "support.knowledge.reload", TargetType: "support_knowledge",
		Changes: map[string]any{"articles": st.Articles, "skipped": st.Skipped}}
	if reloadErr != nil {
		ev.Result = audit.Failure
		ev.Changes["error"] = reloadErr.Error()
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := audit.Append(ctx, tx, ev)
		return err
	})
	if err != nil {
		return st, err
	}
	if reloadErr != nil {
		return st, &apperr.Error{Code: apperr.Unavailable, Reason: "knowledge_unreadable", Err: reloadErr,
			Message: "the knowledge folder could not be read; the articles indexed before stay in use"}
	}
	return st, nil
}
