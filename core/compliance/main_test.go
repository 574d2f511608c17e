package compliance_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/blob/blobtest"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/testkit"
)

type testBundle struct {
	ctx    context.Context
	db     *database.DB
	clock  *testkit.Clock
	store  *blob.Store
	acc    *accounts.Service
	notify *notify.Service
	c      *compliance.Service
	// owner and admin are staff users.
	owner, admin compliance.Actor
}

// setup builds accounts, the notification center and compliance over db
// with a file store, as app wires them, and two staff users.
func setup(t testing.TB, db *database.DB) *testBundle {
	t.Helper()
	tb := &testBundle{db: db, ctx: audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorStaff, ActorID: "test"})}
	tb.clock = testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	reg := jobs.NewRegistry(time.Hour)
	var err error
	if tb.notify, err = notify.New(db, reg, notify.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.notify.Stop)
	tb.acc = accounts.New(db, tb.notify, ratelimit.New(db), accounts.Options{})
	tb.store = blobtest.Dir(t)
	tb.c = compliance.New(db, tb.store, compliance.StaffDirectory(tb.acc), compliance.Options{Now: tb.clock.Now, Notifier: tb.notify, Jobs: reg})
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	tb.owner = tb.staff(t, "owner@example.test", accounts.StaffOwner)
	tb.admin = tb.staff(t, "admin@example.test", accounts.StaffAdmin)
	return tb
}

func (tb *testBundle) staff(t testing.TB, email, role string) compliance.Actor {
	t.Helper()
	u, err := tb.acc.CreateStaff(tb.ctx, email, "correct horse battery staple 42", role)
	if err != nil {
		t.Fatal(err)
	}
	return compliance.Actor{UserID: u.ID, Role: role}
}

// upload stores body and returns its reference named name.
func (tb *testBundle) upload(t testing.TB, name string, body []byte) *compliance.FileRef {
	t.Helper()
	info, _, err := tb.c.Upload(tb.ctx, tb.admin, bytes.NewReader(body), "")
	if err != nil {
		t.Fatal(err)
	}
	return &compliance.FileRef{SHA256: info.SHA256, Name: name}
}

func (tb *testBundle) policy(t testing.TB, title, effective string) *compliance.Policy {
	t.Helper()
	p, err := tb.c.CreatePolicy(tb.ctx, tb.admin, compliance.PolicyInput{Title: title, OwnerID: tb.owner.UserID, NextReview: "2027-01-01",
		Version: compliance.VersionInput{Version: "1.0", EffectiveDate: effective, File: tb.upload(t, "policy.pdf", []byte(title+" v1.0"))}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fields returns the names of the fields an error names.
func fields(e *apperr.Error) []string {
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Field
	}
	return out
}

// actions returns the audit actions recorded, oldest first, that start
// with prefix.
func (tb *testBundle) actions(t testing.TB, prefix string) []string {
	t.Helper()
	recs, err := audit.List(tb.ctx, tb.db, audit.Filter{Action: prefix, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, recs[i].Action)
	}
	return out
}
