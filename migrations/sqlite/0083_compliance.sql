-- SOC 2 evidence (core/compliance owns these tables; no other package reads
-- them). Files are in the blob store, named by their SHA-256; a row holds
-- the hash, the name the file was uploaded as and its size. Dates
-- (effective, review, period, assessment) are calendar days as
-- 'YYYY-MM-DD' text, the same on both dialects and ordered as text.

-- A security policy; its documents are versions.
CREATE TABLE compliance_policies (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    -- The staff user who owns the policy (reminded before its review).
    owner_id    TEXT NOT NULL REFERENCES users (id),
    next_review TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX compliance_policies_review_idx ON compliance_policies (next_review);

-- A version of a policy's document; approved by a staff owner.
CREATE TABLE compliance_policy_versions (
    id             TEXT PRIMARY KEY,
    policy_id      TEXT NOT NULL REFERENCES compliance_policies (id),
    version        TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    file_sha256    TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    file_size      BIGINT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    TIMESTAMP NOT NULL,
    approved_by    TEXT,
    approved_at    TIMESTAMP,
    UNIQUE (policy_id, version)
);
CREATE INDEX compliance_policy_versions_effective_idx ON compliance_policy_versions (effective_date);

-- Evidence of a control for a period; incidents and DR tests are evidence
-- records of their own types.
CREATE TABLE compliance_evidence (
    id           TEXT PRIMARY KEY,
    control_id   TEXT NOT NULL,
    type         TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    period_from  TEXT NOT NULL,
    period_to    TEXT NOT NULL,
    file_sha256  TEXT,
    file_name    TEXT NOT NULL DEFAULT '',
    file_size    BIGINT NOT NULL DEFAULT 0,
    collected_by TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    CHECK (period_from <= period_to)
);
CREATE INDEX compliance_evidence_control_idx ON compliance_evidence (control_id, period_from);
CREATE INDEX compliance_evidence_period_idx ON compliance_evidence (period_to, period_from);

-- A vendor's assessment: its risk, its SOC 2 report on file, the next one.
CREATE TABLE compliance_vendors (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,
    risk_level      TEXT NOT NULL,
    notes           TEXT NOT NULL DEFAULT '',
    report_sha256   TEXT,
    report_name     TEXT NOT NULL DEFAULT '',
    report_size     BIGINT NOT NULL DEFAULT 0,
    assessed_at     TEXT NOT NULL DEFAULT '',
    next_assessment TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX compliance_vendors_next_idx ON compliance_vendors (next_assessment);

-- An access review: a snapshot of every staff user (role, last login,
-- two-factor, API tokens), stored as a JSON file in the blob store, and
-- the staff owner who signed it off.
CREATE TABLE compliance_access_reviews (
    id              TEXT PRIMARY KEY,
    snapshot_sha256 TEXT NOT NULL,
    snapshot_size   BIGINT NOT NULL,
    staff_count     INTEGER NOT NULL,
    generated_by    TEXT NOT NULL,
    generated_at    TIMESTAMP NOT NULL,
    signed_off_by   TEXT,
    signed_off_at   TIMESTAMP,
    sign_off_note   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX compliance_access_reviews_generated_idx ON compliance_access_reviews (generated_at);
