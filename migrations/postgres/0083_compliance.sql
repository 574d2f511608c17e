-- SOC 2 evidence (core/compliance owns these tables; no other package reads
-- them). Files are in the blob store, named by their SHA-256; a row holds
-- the hash, the name the file was uploaded as and its size. Dates
-- (effective, review, period, assessment) are calendar days as
-- 'YYYY-MM-DD' text, the same on both dialects and ordered as text.

-- A security policy; its documents are versions.
CREATE TABLE compliance_policies (
    id          text PRIMARY KEY,
    title       text NOT NULL,
    -- The staff user who owns the policy (reminded before its review).
    owner_id    text NOT NULL REFERENCES users (id),
    next_review text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX compliance_policies_review_idx ON compliance_policies (next_review);

-- A version of a policy's document; approved by a staff owner.
CREATE TABLE compliance_policy_versions (
    id             text PRIMARY KEY,
    policy_id      text NOT NULL REFERENCES compliance_policies (id),
    version        text NOT NULL,
    effective_date text NOT NULL,
    file_sha256    text NOT NULL,
    file_name      text NOT NULL,
    file_size      bigint NOT NULL,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL,
    approved_by    text,
    approved_at    timestamptz,
    UNIQUE (policy_id, version)
);
CREATE INDEX compliance_policy_versions_effective_idx ON compliance_policy_versions (effective_date);

-- Evidence of a control for a period; incidents and DR tests are evidence
-- records of their own types.
CREATE TABLE compliance_evidence (
    id           text PRIMARY KEY,
    control_id   text NOT NULL,
    type         text NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    period_from  text NOT NULL,
    period_to    text NOT NULL,
    file_sha256  text,
    file_name    text NOT NULL DEFAULT '',
    file_size    bigint NOT NULL DEFAULT 0,
    collected_by text NOT NULL,
    created_at   timestamptz NOT NULL,
    CHECK (period_from <= period_to)
);
CREATE INDEX compliance_evidence_control_idx ON compliance_evidence (control_id, period_from);
CREATE INDEX compliance_evidence_period_idx ON compliance_evidence (period_to, period_from);

-- A vendor's assessment: its risk, its SOC 2 report on file, the next one.
CREATE TABLE compliance_vendors (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    name_key        text NOT NULL UNIQUE,
    risk_level      text NOT NULL,
    notes           text NOT NULL DEFAULT '',
    report_sha256   text,
    report_name     text NOT NULL DEFAULT '',
    report_size     bigint NOT NULL DEFAULT 0,
    assessed_at     text NOT NULL DEFAULT '',
    next_assessment text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX compliance_vendors_next_idx ON compliance_vendors (next_assessment);

-- An access review: a snapshot of every staff user (role, last login,
-- two-factor, API tokens), stored as a JSON file in the blob store, and
-- the staff owner who signed it off.
CREATE TABLE compliance_access_reviews (
    id              text PRIMARY KEY,
    snapshot_sha256 text NOT NULL,
    snapshot_size   bigint NOT NULL,
    staff_count     integer NOT NULL,
    generated_by    text NOT NULL,
    generated_at    timestamptz NOT NULL,
    signed_off_by   text,
    signed_off_at   timestamptz,
    sign_off_note   text NOT NULL DEFAULT ''
);
CREATE INDEX compliance_access_reviews_generated_idx ON compliance_access_reviews (generated_at);
