package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// backup calls Backup the way the scheduler's backup task does: the run's
// key and a name made of the type and due time.
func (b *testBundle) backup(t *testing.T, svc *pb.ServiceRef, key, due string) (*pb.BackupInfo, error) {
	t.Helper()
	r, err := b.p.Backup(t.Context(), &pb.BackupRequest{Service: svc, IdempotencyKey: key, Name: "ezscale-backup-" + due})
	return r.GetBackup(), err
}

func (b *testBundle) deleteBackup(t *testing.T, svc *pb.ServiceRef, key, id string) error {
	t.Helper()
	params, err := structpb.NewStruct(map[string]any{"backup_id": id})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.p.InvokeAction(t.Context(), &pb.InvokeActionRequest{Service: svc, IdempotencyKey: key, ActionId: actionDeleteBackup, Params: params})
	return err
}

// TestBackups: the scheduler's backup task takes a backup through the
// Client API; a repeat with the run's key, or with the run's name after a
// restart, takes no second one; the plan's limit (2) is a clear Conflict
// once full; deleting a backup (idempotently) makes room again.
func TestBackups(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	svc := b.create(t, "svc-1")
	posts := func() int { return b.fake.Calls("POST /api/client/servers/{server}/backups") }

	first, err := b.backup(t, svc, "run-1", "20260101T0300Z")
	if err != nil {
		t.Fatal(err)
	}
	if first.GetId() == "" || first.GetName() != "ezscale-backup-20260101T0300Z" || first.GetType() != "backup" || first.GetStatus() != "pending" {
		t.Errorf("first backup %v", first)
	}
	again, err := b.backup(t, svc, "run-1", "20260101T0300Z")
	if err != nil || again.GetId() != first.GetId() {
		t.Errorf("same key: %v, %v", again, err)
	}
	// A new key with the same run name (the plugin restarted, or its
	// answer was lost) finds the backup instead of taking another.
	r, err := b.restarted(t).Backup(t.Context(), &pb.BackupRequest{Service: svc, IdempotencyKey: "run-1-retried", Name: "ezscale-backup-20260101T0300Z"})
	if byName := r.GetBackup(); err != nil || byName.GetId() != first.GetId() {
		t.Errorf("same name after a restart: %v, %v", r, err)
	}
	if n := posts(); n != 1 {
		t.Errorf("%d backups started, want 1", n)
	}

	second, err := b.backup(t, svc, "run-2", "20260102T0300Z")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.backup(t, svc, "run-3", "20260103T0300Z")
	if !sdk.IsKind(err, sdk.Conflict) || !strings.Contains(err.Error(), "the most its plan allows (2)") {
		t.Fatalf("a third backup with a limit of 2: %v, want a Conflict naming the limit", err)
	}
	if n := posts(); n != 2 {
		t.Errorf("%d backups started, want 2 (a full limit is refused before asking the panel)", n)
	}

	list, err := b.p.ListBackups(t.Context(), &pb.ListBackupsRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ ID, Status string }
	var got []row
	for _, bk := range list.GetBackups() {
		got = append(got, row{bk.GetId(), bk.GetStatus()})
	}
	if diff := cmp.Diff([]row{{first.GetId(), "completed"}, {second.GetId(), "completed"}}, got); diff != "" {
		t.Errorf("backups (-want +got):\n%s", diff)
	}

	if err := b.deleteBackup(t, svc, "del-1", first.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := b.deleteBackup(t, svc, "del-2", first.GetId()); err != nil {
		t.Errorf("deleting a deleted backup: %v", err)
	}
	if _, err := b.backup(t, svc, "run-3", "20260103T0300Z"); err != nil {
		t.Errorf("a backup after deleting one: %v", err)
	}
	if n := len(b.fake.Backups(mustID(t, svc.ExternalId))); n != 2 {
		t.Errorf("%d backups at the panel, want 2", n)
	}
}

// TestBackupsDisabled: a plan that allows no backups answers a clear
// Conflict without asking the panel.
func TestBackupsDisabled(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	r, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: func() *pb.ServiceRef {
		s := service("svc-1")
		delete(s.PlanOptions, "backups")
		return s
	}(), IdempotencyKey: "c"})
	if err != nil {
		t.Fatal(err)
	}
	svc := &pb.ServiceRef{ServiceId: "svc-1", ExternalId: r.GetStatus().GetExternalId()}
	_, err = b.backup(t, svc, "run-1", "20260101T0300Z")
	if !sdk.IsKind(err, sdk.Conflict) || !strings.Contains(err.Error(), "backups are disabled") {
		t.Errorf("Backup with a limit of 0: %v", err)
	}
	if n := b.fake.Calls("POST /api/client/servers/{server}/backups"); n != 0 {
		t.Errorf("%d backups started", n)
	}
}
