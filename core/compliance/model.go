package compliance

import (
	"time"

	"github.com/uptrace/bun"
)

// Policy is a security policy; its documents are its versions.
type Policy struct {
	bun.BaseModel `bun:"table:compliance_policies"`

	ID         string    `bun:"id,pk" json:"id"`
	Title      string    `bun:"title" json:"title"`
	OwnerID    string    `bun:"owner_id" json:"owner_id"`
	NextReview string    `bun:"next_review" json:"next_review"`
	CreatedBy  string    `bun:"created_by" json:"created_by"`
	CreatedAt  time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at" json:"updated_at"`

	// Versions, newest effective date first (filled by Policy).
	Versions []PolicyVersion `bun:"-" json:"versions"`
}

// PolicyVersion is one version of a policy's document.
type PolicyVersion struct {
	bun.BaseModel `bun:"table:compliance_policy_versions"`

	ID            string     `bun:"id,pk" json:"id"`
	PolicyID      string     `bun:"policy_id" json:"policy_id"`
	Version       string     `bun:"version" json:"version"`
	EffectiveDate string     `bun:"effective_date" json:"effective_date"`
	FileSHA256    string     `bun:"file_sha256" json:"file_sha256"`
	FileName      string     `bun:"file_name" json:"file_name"`
	FileSize      int64      `bun:"file_size" json:"file_size"`
	UploadedBy    string     `bun:"uploaded_by" json:"uploaded_by"`
	UploadedAt    time.Time  `bun:"uploaded_at" json:"uploaded_at"`
	ApprovedBy    *string    `bun:"approved_by" json:"approved_by"`
	ApprovedAt    *time.Time `bun:"approved_at" json:"approved_at"`
}

// Evidence types. Incidents and DR tests are evidence records too.
const (
	TypeDocument   = "document"
	TypeScreenshot = "screenshot"
	TypeLog        = "log"
	TypeReport     = "report"
	TypeIncident   = "incident"
	TypeDRTest     = "dr_test"
)

// EvidenceTypes lists the evidence types in the order documents list them.
var EvidenceTypes = []string{TypeDocument, TypeScreenshot, TypeLog, TypeReport, TypeIncident, TypeDRTest}

// Evidence is evidence of a control for a period.
type Evidence struct {
	bun.BaseModel `bun:"table:compliance_evidence"`

	ID          string    `bun:"id,pk" json:"id"`
	ControlID   string    `bun:"control_id" json:"control_id"`
	Type        string    `bun:"type" json:"type"`
	Title       string    `bun:"title" json:"title"`
	Description string    `bun:"description" json:"description"`
	PeriodFrom  string    `bun:"period_from" json:"period_from"`
	PeriodTo    string    `bun:"period_to" json:"period_to"`
	FileSHA256  *string   `bun:"file_sha256" json:"file_sha256"`
	FileName    string    `bun:"file_name" json:"file_name"`
	FileSize    int64     `bun:"file_size" json:"file_size"`
	CollectedBy string    `bun:"collected_by" json:"collected_by"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"`
}

// Risk levels of a vendor.
const (
	RiskLow      = "low"
	RiskMedium   = "medium"
	RiskHigh     = "high"
	RiskCritical = "critical"
)

// RiskLevels lists the risk levels, lowest first.
var RiskLevels = []string{RiskLow, RiskMedium, RiskHigh, RiskCritical}

// Vendor is a vendor's assessment.
type Vendor struct {
	bun.BaseModel `bun:"table:compliance_vendors"`

	ID             string    `bun:"id,pk" json:"id"`
	Name           string    `bun:"name" json:"name"`
	NameKey        string    `bun:"name_key" json:"-"`
	RiskLevel      string    `bun:"risk_level" json:"risk_level"`
	Notes          string    `bun:"notes" json:"notes"`
	ReportSHA256   *string   `bun:"report_sha256" json:"report_sha256"`
	ReportName     string    `bun:"report_name" json:"report_name"`
	ReportSize     int64     `bun:"report_size" json:"report_size"`
	AssessedAt     string    `bun:"assessed_at" json:"assessed_at"`
	NextAssessment string    `bun:"next_assessment" json:"next_assessment"`
	CreatedAt      time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time `bun:"updated_at" json:"updated_at"`
}

// AccessReview is a snapshot of every staff user's access and its
// sign-off.
type AccessReview struct {
	bun.BaseModel `bun:"table:compliance_access_reviews"`

	ID             string     `bun:"id,pk" json:"id"`
	SnapshotSHA256 string     `bun:"snapshot_sha256" json:"snapshot_sha256"`
	SnapshotSize   int64      `bun:"snapshot_size" json:"snapshot_size"`
	StaffCount     int        `bun:"staff_count" json:"staff_count"`
	GeneratedBy    string     `bun:"generated_by" json:"generated_by"`
	GeneratedAt    time.Time  `bun:"generated_at" json:"generated_at"`
	SignedOffBy    *string    `bun:"signed_off_by" json:"signed_off_by"`
	SignedOffAt    *time.Time `bun:"signed_off_at" json:"signed_off_at"`
	SignOffNote    string     `bun:"sign_off_note" json:"sign_off_note"`

	// Entries is the snapshot (filled by AccessReview).
	Entries []StaffMember `bun:"-" json:"entries"`
}

// StaffMember is one staff user's access in a review's snapshot.
type StaffMember struct {
	UserID         string     `json:"user_id"`
	Email          string     `json:"email"`
	Role           string     `json:"role"`
	Disabled       bool       `json:"disabled"`
	LastLogin      *time.Time `json:"last_login"`
	TwoFactor      bool       `json:"two_factor"`
	APITokens      int        `json:"api_tokens"`
	TokensLastUsed *time.Time `json:"tokens_last_used"`
}
