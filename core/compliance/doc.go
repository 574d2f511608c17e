// Package compliance keeps the evidence a hosting company shows its SOC 2
// auditor: security policies and their approved document versions,
// compliance evidence per control and period (incidents and disaster
// recovery tests are evidence records of their own types), vendor
// assessments with the vendor's SOC 2 report, and access reviews (a
// generated snapshot of every staff user's access, signed off by a staff
// owner). It owns the compliance_* tables; no other package reads them.
// docs/compliance.md is the operator's guide.
//
// # Files
//
// Every document is a file in the blob store (core/blob), named by its
// SHA-256 and never overwritten: a file is uploaded first (Upload), then
// a record names it by hash. A record therefore pins the exact bytes an
// auditor will see.
//
// # Who may act
//
// The HTTP route table decides (support staff read; admins change; staff
// owners approve policy versions and sign off access reviews); this
// package records who did what in the audit log, in the transaction of
// each change.
//
// # The auditor's export
//
// Export writes a zip, streaming (archive/zip straight to the writer, each
// file copied from the store and hashed as it goes, so memory stays
// bounded whatever the size), with every policy version in force, every
// evidence record and file, every vendor report and every access review
// of a period, and a manifest.json listing each file's path, SHA-256 and
// size with the audit chain's head at export time (the export's own audit
// event). Verify checks such a zip against its manifest: every file
// present and unchanged, nothing extra.
//
// # Reminders
//
// A daily job tells the staff owners, through the notification center,
// of policies whose review and vendors whose assessment fall due within
// Options.ReminderLead: once per record and due date (the notification's
// key), however often the job runs.
package compliance
