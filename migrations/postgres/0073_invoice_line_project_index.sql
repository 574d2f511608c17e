-- Billing: invoice lines by project, for the invoices list's project_id
-- filter and the per-project billing summary (core/projects reads them
-- through billing).
CREATE INDEX invoice_lines_project_idx ON invoice_lines (project_id, invoice_id) WHERE project_id IS NOT NULL;
