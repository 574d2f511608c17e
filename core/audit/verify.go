package audit

import (
	"context"
	"fmt"

	"github.com/ezscale/platform/core/database"
)

// Report is the outcome of Verify.
type Report struct {
	// Checked is how many events were read.
	Checked int64
	// LastSeq is the highest sequence number seen.
	LastSeq int64
	// OK is true when the chain is intact.
	OK bool
	// BadSeq is the first sequence number that is broken or missing.
	BadSeq int64
	// Problem explains BadSeq.
	Problem string
}

// verifyBatch bounds memory: the log is walked in pages of this size.
const verifyBatch = 2000

// Verify walks the chain in sequence order and reports the first event that
// is missing (a gap), altered (its hash does not match its fields) or out of
// place (its prev_hash is not the previous event's hash), and a head that
// does not point at the last event (truncation at the end).
func Verify(ctx context.Context, db *database.DB) (Report, error) {
	rep := Report{OK: true}
	var prevHash string
	var expect int64 = 1
	for {
		var batch []Record
		if err := db.Read.NewSelect().Model(&batch).Where("seq >= ?", expect).
			Order("seq ASC").Limit(verifyBatch).Scan(ctx); err != nil {
			return rep, fmt.Errorf("audit: verify: reading events: %w", err)
		}
		for i := range batch {
			r := &batch[i]
			rep.Checked++
			switch {
			case r.Seq != expect:
				return rep.fail(expect, fmt.Sprintf("event %d is missing (next present is %d)", expect, r.Seq)), nil
			case r.PrevHash != prevHash:
				return rep.fail(r.Seq, "prev_hash does not match the previous event's hash"), nil
			case r.ComputeHash() != r.Hash:
				return rep.fail(r.Seq, "hash does not match the event's contents (the row was altered)"), nil
			}
			prevHash = r.Hash
			rep.LastSeq = r.Seq
			expect++
		}
		if len(batch) < verifyBatch {
			break
		}
	}
	head := chainHead{}
	if err := db.Read.NewSelect().Model(&head).Where("id = 1").Scan(ctx); err != nil {
		return rep, fmt.Errorf("audit: verify: reading chain head: %w", err)
	}
	if head.Seq != rep.LastSeq {
		return rep.fail(rep.LastSeq+1, fmt.Sprintf("the chain head is at %d but the log ends at %d (events were removed from the end)", head.Seq, rep.LastSeq)), nil
	}
	if head.Hash != prevHash {
		return rep.fail(rep.LastSeq, "the chain head's hash does not match the last event"), nil
	}
	return rep, nil
}

func (r Report) fail(seq int64, problem string) Report {
	r.OK = false
	r.BadSeq = seq
	r.Problem = problem
	return r
}
