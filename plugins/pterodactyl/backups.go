package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/internal/errkind"
	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// maxBackupName is the panel's limit on a backup's name.
const maxBackupName = 191

// Backup starts a backup of the server through the Client API, under the
// request's name (the scheduler names each run's backup). Idempotent per key,
// and across restarts by name: a running or successful backup of that name
// is the one this request started. The server's backup limit (plan option
// backups, the panel's feature_limits.backups) is checked first: a server
// whose limit is reached, or is 0, answers Conflict saying so; the panel's
// own refusal (a race) answers the same.
func (p *Plugin) Backup(ctx context.Context, req *pb.BackupRequest) (*pb.BackupResponse, error) {
	return outcomesBackup.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.BackupResponse, error) {
		cl, _, err := p.current()
		if err != nil {
			return nil, err
		}
		s, err := p.read(ctx, cl, req.GetService())
		if err != nil {
			return nil, err
		}
		name := req.GetName()
		if name == "" {
			name = "ezscale-" + req.GetIdempotencyKey()
		}
		if len(name) > maxBackupName {
			name = name[:maxBackupName]
		}
		backups, err := cl.AllBackups(ctx, s.Identifier)
		if err != nil {
			return nil, errkind.FromAPI(err, "listing the server's backups")
		}
		used := 0
		for _, b := range backups {
			if !b.Counts() {
				continue
			}
			if b.Name == name {
				return &pb.BackupResponse{Backup: backupInfo(&b)}, nil
			}
			used++
		}
		if err := backupRoom(s, used); err != nil {
			return nil, err
		}
		b, err := cl.CreateBackup(ctx, s.Identifier, pt.BackupRequest{Name: name})
		if err != nil {
			if e, ok := pt.AsError(err); ok && e.Code == "TooManyBackupsException" {
				return nil, sdk.Errorf(sdk.Conflict, "the panel refused a new backup: %s Delete a backup (action %s) or raise the plan's backups limit",
					e.Message, actionDeleteBackup)
			}
			return nil, errkind.FromAPI(err, "starting a backup")
		}
		return &pb.BackupResponse{Backup: backupInfo(b)}, nil
	})
}

// backupRoom refuses a backup the server's limit has no room for.
func backupRoom(s *pt.Server, used int) error {
	var limit int64
	if s.FeatureLimits.Backups != nil {
		limit = *s.FeatureLimits.Backups
	}
	switch {
	case limit <= 0:
		return sdk.Errorf(sdk.Conflict, "backups are disabled for this server: its plan allows none (plan option backups)")
	case int64(used) >= limit:
		return sdk.Errorf(sdk.Conflict, "the server already has %d backup(s), the most its plan allows (%d); delete one (action %s) before taking another",
			used, limit, actionDeleteBackup)
	}
	return nil
}

// ListBackups lists the server's backups, oldest first, failed ones too.
func (p *Plugin) ListBackups(ctx context.Context, req *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	cl, _, err := p.current()
	if err != nil {
		return nil, err
	}
	s, err := p.read(ctx, cl, req.GetService())
	if err != nil {
		return nil, err
	}
	backups, err := cl.AllBackups(ctx, s.Identifier)
	if err != nil {
		return nil, errkind.FromAPI(err, "listing the server's backups")
	}
	out := &pb.ListBackupsResponse{}
	for _, b := range backups {
		out.Backups = append(out.Backups, backupInfo(&b))
	}
	return out, nil
}

// deleteBackup deletes one backup by uuid; a backup already gone counts as
// deleted, a locked one is a conflict.
func (p *Plugin) deleteBackup(ctx context.Context, cl *pt.Client, svc *pb.ServiceRef, backupID string) (*pb.InvokeActionResponse, error) {
	s, err := p.read(ctx, cl, svc)
	if err != nil {
		return nil, err
	}
	err = cl.DeleteBackup(ctx, s.Identifier, backupID)
	switch {
	case pt.IsNotFound(err):
		return &pb.InvokeActionResponse{Message: "the backup was already deleted", Status: status(s)}, nil
	case err != nil:
		if e, ok := pt.AsError(err); ok && e.Code == "BackupLockedException" {
			return nil, sdk.Errorf(sdk.Conflict, "the backup is locked in the panel: %s", e.Message)
		}
		return nil, errkind.FromAPI(err, "deleting the backup")
	}
	return &pb.InvokeActionResponse{Message: fmt.Sprintf("backup %s deleted", backupID), Status: status(s)}, nil
}

// backupInfo is a panel backup as the core sees it.
func backupInfo(b *pt.Backup) *pb.BackupInfo {
	out := &pb.BackupInfo{Id: b.UUID, Name: b.Name, SizeBytes: b.Bytes, Type: "backup"}
	switch {
	case b.CompletedAt == nil:
		out.Status = "pending"
	case b.IsSuccessful:
		out.Status = "completed"
	default:
		out.Status = "failed"
	}
	if t, err := time.Parse(time.RFC3339, b.CreatedAt); err == nil {
		out.CreatedAt = timestamppb.New(t)
	}
	return out
}
