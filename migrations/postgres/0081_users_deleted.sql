-- Identity: deleted users. Deleting a user (DELETE /api/v1/admin/users/{id})
-- anonymizes the row instead of removing it: audit events, invoices and
-- approvals keep pointing at it. A deleted user is disabled, has no
-- address, password, second factor, staff role or membership, and can never
-- be enabled again.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
