package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ezscale/platform/core/notify"
)

// streamWriteTimeout bounds one write to a stream: a client that stopped
// reading is dropped instead of holding the handler forever.
const streamWriteTimeout = 30 * time.Second

// stream serves GET /api/v1/me/notifications/stream as Server-Sent
// Events: first the unread count (and, after a reconnect with
// Last-Event-ID, what was missed), then each new notification and unread
// count as they happen, with comment heartbeats. The stream ends after the
// configured maximum; EventSource-style clients reconnect by themselves.
func (m *NotificationsAPI) stream(w http.ResponseWriter, r *http.Request) error {
	userID := PrincipalFrom(r.Context()).UserID
	heartbeat, maxLife := m.Notify.StreamTiming()

	// The request context carries the API's request timeout, which a
	// stream outlives: keep only its cancellation (the client went away).
	reqCtx := r.Context()
	ctx, cancel := context.WithCancel(context.WithoutCancel(reqCtx))
	defer cancel()
	go func() {
		select {
		case <-reqCtx.Done():
			if errors.Is(reqCtx.Err(), context.Canceled) {
				cancel()
			}
		case <-ctx.Done():
		}
	}()

	sub, err := m.Notify.Subscribe(ctx, userID)
	if err != nil {
		return err
	}
	defer sub.Close()
	unread, err := m.Notify.UnreadCount(ctx, userID)
	if err != nil {
		return err
	}
	var missed []notify.Notification
	if last := r.Header.Get("Last-Event-ID"); last != "" && len(last) <= 64 {
		if missed, err = m.Notify.Since(ctx, userID, last, 100); err != nil {
			return err
		}
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // no proxy buffering (nginx)
	w.WriteHeader(http.StatusOK)

	send := func(write func() error) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if err := write(); err != nil {
			return err
		}
		return rc.Flush()
	}
	event := func(id, name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return send(func() error {
			if id != "" {
				if _, err := fmt.Fprintf(w, "id: %s\n", id); err != nil {
					return err
				}
			}
			_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
			return err
		})
	}

	if err := send(func() error { _, err := fmt.Fprint(w, "retry: 3000\n\n"); return err }); err != nil {
		return nil
	}
	for i := range missed {
		if err := event(missed[i].ID, "notification", notificationView(&missed[i])); err != nil {
			return nil
		}
	}
	if err := event("", "unread", unread); err != nil {
		return nil
	}

	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	end := time.NewTimer(maxLife)
	defer end.Stop()
	// Errors past this point are the client's connection: nothing to
	// answer, so the handler just ends.
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			_ = event("", "reconnect", map[string]string{"reason": "stream lifetime reached"})
			return nil
		case <-beat.C:
			if err := send(func() error { _, err := fmt.Fprint(w, ": ping\n\n"); return err }); err != nil {
				return nil
			}
		case ev, ok := <-sub.C:
			if !ok {
				_ = event("", "reconnect", map[string]string{"reason": "server closed the stream"})
				return nil
			}
			var err error
			if ev.Notification != nil {
				err = event(ev.Notification.ID, "notification", notificationView(ev.Notification))
			} else if ev.Unread != nil {
				err = event("", "unread", ev.Unread)
			}
			if err != nil {
				return nil
			}
		}
	}
}
