package fakepterodactyl

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

// backup is a server backup and when it finishes.
type backup struct {
	pt.Backup
	doneAt time.Time
}

// settleBackups completes the backups whose duration has passed:
// successful, with a checksum and a size.
func (f *Fake) settleBackups(s *serverState) {
	for _, b := range s.backups {
		if b.CompletedAt == nil && !f.now().Before(b.doneAt) {
			sum := sha1.Sum([]byte(b.UUID))
			checksum := "sha1:" + hex.EncodeToString(sum[:])
			done := b.doneAt.UTC().Format("2006-01-02T15:04:05-07:00")
			b.CompletedAt, b.IsSuccessful, b.Checksum, b.Bytes = &done, true, &checksum, 64<<20
		}
	}
}

// backupLimit is the server's feature_limits.backups (null counts as 0).
func backupLimit(s *serverState) int64 {
	if s.FeatureLimits.Backups == nil {
		return 0
	}
	return *s.FeatureLimits.Backups
}

// counted is how many backups count against the limit, as the panel's
// getNonFailedBackups counts them: running ones and successful ones.
func counted(s *serverState) int {
	n := 0
	for _, b := range s.backups {
		if b.Counts() {
			n++
		}
	}
	return n
}

// listBackups is BackupController::index: per_page defaults to 20 and is
// capped at 50; meta also carries backup_count (the non-failed backups).
func (f *Fake) listBackups(w http.ResponseWriter, r *http.Request, s *serverState) {
	if f.stateConflict(w, s) {
		return
	}
	f.settleBackups(s)
	items := make([]pt.Backup, 0, len(s.backups))
	for _, b := range s.backups {
		items = append(items, b.Backup)
	}
	page := paginate(r, "backup", items, 20, 50)
	writeJSON(w, http.StatusOK, map[string]any{"object": page.Object, "data": page.Data,
		"meta": map[string]any{"pagination": page.Meta.Pagination, "backup_count": counted(s)}})
}

// createBackup is BackupController::store through InitiateBackupService:
// refused with TooManyBackupsException (400) when the server has no backup
// limit or has reached it; otherwise the backup starts and the answer (200)
// shows it running.
func (f *Fake) createBackup(w http.ResponseWriter, r *http.Request, s *serverState) {
	var req struct {
		Name     *string `json:"name"`
		Ignored  *string `json:"ignored"`
		IsLocked *bool   `json:"is_locked"`
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	if req.Name != nil && len(*req.Name) > 191 {
		writeValidation(w, []fieldError{{"name", "max", "The name may not be greater than 191 characters."}})
		return
	}
	if f.stateConflict(w, s) {
		return
	}
	f.settleBackups(s)
	if limit := backupLimit(s); limit == 0 || int64(counted(s)) >= limit {
		writeError(w, http.StatusBadRequest, "TooManyBackupsException",
			fmt.Sprintf("Cannot create a new backup, this server has reached its limit of %d backups.", limit))
		return
	}
	b := &backup{doneAt: f.now().Add(f.backupDuration)}
	b.UUID, b.CreatedAt, b.IgnoredFiles = newUUID(), f.stamp(), []string{}
	b.Name = "Backup at " + f.now().UTC().Format("2006-01-02 15:04:05")
	if req.Name != nil && strings.TrimSpace(*req.Name) != "" {
		b.Name = *req.Name
	}
	if req.Ignored != nil {
		for l := range strings.SplitSeq(*req.Ignored, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				b.IgnoredFiles = append(b.IgnoredFiles, l)
			}
		}
	}
	b.IsLocked = req.IsLocked != nil && *req.IsLocked
	s.backups = append(s.backups, b)
	// The creation answer always shows the backup running.
	writeJSON(w, http.StatusOK, item("backup", b.Backup))
}

func (f *Fake) backupByUUID(s *serverState, id string) *backup {
	for _, b := range s.backups {
		if b.UUID == id {
			return b
		}
	}
	return nil
}

func (f *Fake) getBackup(w http.ResponseWriter, r *http.Request, s *serverState) {
	if f.stateConflict(w, s) {
		return
	}
	f.settleBackups(s)
	b := f.backupByUUID(s, r.PathValue("backup"))
	if b == nil {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, item("backup", b.Backup))
}

// deleteBackup is DeleteBackupService: a locked backup that completed
// successfully is refused (BackupLockedException, 400).
func (f *Fake) deleteBackup(w http.ResponseWriter, r *http.Request, s *serverState) {
	if f.stateConflict(w, s) {
		return
	}
	f.settleBackups(s)
	b := f.backupByUUID(s, r.PathValue("backup"))
	if b == nil {
		writeNotFound(w)
		return
	}
	if b.IsLocked && b.IsSuccessful && b.CompletedAt != nil {
		writeError(w, http.StatusBadRequest, "BackupLockedException", "Cannot delete a backup that is marked as locked.")
		return
	}
	s.backups = slices.DeleteFunc(s.backups, func(x *backup) bool { return x == b })
	writeJSON(w, http.StatusNoContent, nil)
}

// Backups returns a server's backups as the Client API shows them, oldest
// first.
func (f *Fake) Backups(serverID int64) []pt.Backup {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.serverByID(serverID)
	if s == nil {
		return nil
	}
	f.settleBackups(s)
	out := make([]pt.Backup, 0, len(s.backups))
	for _, b := range s.backups {
		out = append(out, b.Backup)
	}
	return out
}
