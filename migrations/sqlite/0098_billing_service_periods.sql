-- The paid period of a service moves from the service record to billing's
-- service_terms (see 0097), with the flag that it is to be cancelled when
-- the period ends, and in_term: a copy of whether the service is active or
-- suspended (a term that runs: it renews, or ends when the flag says so),
-- kept by billing in the transaction of each status change. The renewal and
-- dunning scans then read billing's own table alone.

ALTER TABLE service_terms ADD COLUMN period_start TIMESTAMP;
ALTER TABLE service_terms ADD COLUMN period_end TIMESTAMP;
ALTER TABLE service_terms ADD COLUMN anchor_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE service_terms ADD COLUMN cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE service_terms ADD COLUMN in_term BOOLEAN NOT NULL DEFAULT 0;

UPDATE service_terms SET period_start = s.period_start, period_end = s.period_end, anchor_day = s.anchor_day,
    cancel_at_period_end = s.cancel_at_period_end, in_term = s.status IN ('active', 'suspended')
FROM services AS s WHERE s.id = service_terms.service_id;

-- Due renewals and ends of term, by date.
CREATE INDEX service_terms_renewal_idx ON service_terms (period_end) WHERE in_term;

DROP INDEX services_renewal_idx;
ALTER TABLE services DROP COLUMN period_start;
ALTER TABLE services DROP COLUMN period_end;
ALTER TABLE services DROP COLUMN anchor_day;
ALTER TABLE services DROP COLUMN cancel_at_period_end;
