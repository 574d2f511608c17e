package app

import (
	"context"
	"time"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/jobs"
)

func blobOptions(cfg *config.Config) blob.Options {
	bc := cfg.Blob
	return blob.Options{Backend: bc.Backend, Dir: bc.Dir, Endpoint: bc.Endpoint, Region: bc.Region, Bucket: bc.Bucket,
		PathStyle: bc.PathStyle, Prefix: bc.Prefix}
}

func complianceOptions(cfg *config.Config) compliance.Options {
	return compliance.Options{UploadLimit: cfg.Compliance.UploadLimit, ReminderLead: cfg.Compliance.ReminderLead}
}

// buildCompliance opens the blob store and builds the SOC 2 evidence
// domain; its daily reminder job goes to reg and its reminders to the
// notification center. Staff users are read through accounts.
func (a *App) buildCompliance(ctx context.Context, reg *jobs.Registry, now func() time.Time) error {
	store, err := blob.Open(ctx, blobOptions(a.Config))
	if err != nil {
		return err
	}
	a.Blobs = store
	a.closers = append(a.closers, func(context.Context) error { return store.Close() })
	opts := complianceOptions(a.Config)
	opts.Now, opts.Jobs, opts.Notifier = now, reg, a.Notify
	a.Compliance = compliance.New(a.DB, store, compliance.StaffDirectory(a.Accounts), opts)
	return nil
}
