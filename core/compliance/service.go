package compliance

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
)

// Directory is how this package reads staff users (accounts' tables).
type Directory interface {
	// StaffAccess lists every staff user's access, by email.
	StaffAccess(ctx context.Context, now time.Time) ([]StaffMember, error)
	// StaffRole is the staff role of user id ("" when the user is not
	// staff or does not exist).
	StaffRole(ctx context.Context, id string) (string, error)
	// Owners are the ids of the enabled staff owners.
	Owners(ctx context.Context) ([]string, error)
}

// Notifier sends reminders (the notification center's Send).
type Notifier interface {
	Send(ctx context.Context, tx bun.Tx, ev notify.Event) (*notify.Result, error)
}

// Options tune the service.
type Options struct {
	// UploadLimit bounds one uploaded file, in bytes (default 100 MiB).
	UploadLimit int64
	// ReminderLead is how long before a review or assessment falls due the
	// owners are reminded (default 14 days).
	ReminderLead time.Duration
	// Now is the clock (nil: the wall clock, UTC).
	Now func() time.Time
	// Jobs, when set, registers the daily reminder job.
	Jobs *jobs.Registry
	// Notifier sends reminders (nil: nobody is told).
	Notifier Notifier
}

// DefaultOptions are the defaults of the `compliance` configuration block.
func DefaultOptions() Options {
	return Options{UploadLimit: 100 << 20, ReminderLead: 14 * 24 * time.Hour}
}

// Service is the compliance domain.
type Service struct {
	db    *database.DB
	store *blob.Store
	dir   Directory
	opts  Options
}

// New returns the service over db, keeping files in store.
func New(db *database.DB, store *blob.Store, dir Directory, opts Options) *Service {
	d := DefaultOptions()
	if opts.UploadLimit <= 0 {
		opts.UploadLimit = d.UploadLimit
	}
	if opts.ReminderLead <= 0 {
		opts.ReminderLead = d.ReminderLead
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	s := &Service{db: db, store: store, dir: dir, opts: opts}
	if opts.Jobs != nil {
		registerReminders(opts.Jobs, s)
	}
	return s
}

// UploadLimit is the largest file Upload accepts.
func (s *Service) UploadLimit() int64 { return s.opts.UploadLimit }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Actor is the staff user acting.
type Actor struct {
	UserID string
	// Role is the staff role (support, admin, owner).
	Role string
}

// FileRef names an uploaded file.
type FileRef struct {
	SHA256 string `json:"sha256"`
	// Name is the file's name as shown and exported (no path).
	Name string `json:"name"`
}

const (
	maxTitleLen = 200
	maxTextLen  = 5000
	maxNameLen  = 200
	dateLayout  = "2006-01-02"
)

func checkText(errs *apperr.Fields, field, v string, required bool, max int) string {
	v = strings.TrimSpace(v)
	switch n := utf8.RuneCountInString(v); {
	case n == 0 && required:
		errs.Add(field, "is required")
	case n > max:
		errs.Add(field, "must be at most %d characters", max)
	case max <= maxTitleLen && strings.ContainsFunc(v, unicode.IsControl):
		errs.Add(field, "must not contain control characters")
	}
	return v
}

// checkDate reads a calendar day "YYYY-MM-DD".
func checkDate(errs *apperr.Fields, field, v string, required bool) string {
	if v == "" {
		if required {
			errs.Add(field, "is required (YYYY-MM-DD)")
		}
		return ""
	}
	t, err := time.Parse(dateLayout, v)
	if err != nil || t.Format(dateLayout) != v {
		errs.Add(field, "must be a date as YYYY-MM-DD")
		return ""
	}
	return v
}

// fileName keeps the last element of a name, without path separators or
// control characters, so an export can use it as a path element.
func fileName(n string) string {
	n = strings.TrimSpace(n)
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, n)
	if n == "." || n == ".." {
		n = ""
	}
	return n
}

// resolveFile checks that ref names an uploaded file and returns its size.
func (s *Service) resolveFile(ctx context.Context, errs *apperr.Fields, field string, ref *FileRef) (sha, name string, size int64) {
	if ref == nil {
		return "", "", 0
	}
	name = fileName(ref.Name)
	if name == "" {
		errs.Add(field+".name", "is required (the file's name, without a path)")
	} else if utf8.RuneCountInString(name) > maxNameLen {
		errs.Add(field+".name", "must be at most %d characters", maxNameLen)
	}
	if !blob.ValidHash(ref.SHA256) {
		errs.Add(field+".sha256", "must be the lower-case hex SHA-256 of an uploaded file")
		return "", name, 0
	}
	info, err := s.store.Stat(ctx, ref.SHA256)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			errs.Add(field+".sha256", "no uploaded file has this SHA-256; upload it first")
			return "", name, 0
		}
		errs.Add(field+".sha256", "the file store could not be read; retry")
		return "", name, 0
	}
	return info.SHA256, name, info.Size
}

// Upload stores a file of at most UploadLimit bytes, streaming; want, when
// set, is the SHA-256 the caller claims for it (a mismatch is refused and
// nothing stored). Uploading a file already stored changes nothing.
// Errors: Invalid file_too_large, Unprocessable sha256_mismatch.
func (s *Service) Upload(ctx context.Context, a Actor, r io.Reader, want string) (blob.Info, bool, error) {
	info, created, err := s.store.Put(ctx, r, want, s.opts.UploadLimit)
	if err != nil {
		return blob.Info{}, false, err
	}
	err = audit.Log(ctx, s.db, audit.Event{Action: "compliance.file.upload", TargetType: "compliance_file", TargetID: info.SHA256,
		Changes: map[string]any{"size": info.Size, "created": created}})
	if err != nil {
		return blob.Info{}, false, err
	}
	return info, created, nil
}

// Download streams a file that a compliance record names. Errors:
// NotFound (no record names it, or the store lost it).
func (s *Service) Download(ctx context.Context, sha string) (io.ReadCloser, blob.Info, error) {
	if !blob.ValidHash(sha) {
		return nil, blob.Info{}, apperr.NotFoundf("no such file")
	}
	db := s.db.Conn(ctx)
	n, err := db.NewSelect().TableExpr("(?) AS refs", db.NewRaw(`
		SELECT file_sha256 AS h FROM compliance_policy_versions WHERE file_sha256 = ?0
		UNION ALL SELECT file_sha256 FROM compliance_evidence WHERE file_sha256 = ?0
		UNION ALL SELECT report_sha256 FROM compliance_vendors WHERE report_sha256 = ?0
		UNION ALL SELECT snapshot_sha256 FROM compliance_access_reviews WHERE snapshot_sha256 = ?0`, sha)).Count(ctx)
	if err != nil {
		return nil, blob.Info{}, fmt.Errorf("compliance: looking up file %s: %w", sha, err)
	}
	if n == 0 {
		return nil, blob.Info{}, apperr.NotFoundf("no compliance record names this file")
	}
	rc, info, err := s.store.Open(ctx, sha)
	if err != nil {
		return nil, blob.Info{}, err
	}
	return rc, info, nil
}

func page(q *bun.SelectQuery, after string, limit int) *bun.SelectQuery {
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	return q.Order("id")
}
