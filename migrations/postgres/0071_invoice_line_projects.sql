-- Billing: the project an invoice line's service was in when the invoice
-- was written (core/projects' id; NULL: none, or a line of no service).
ALTER TABLE invoice_lines ADD COLUMN project_id text;
