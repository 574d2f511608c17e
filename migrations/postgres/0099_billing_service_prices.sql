-- The cycle, currency and price a service renews at move from the service
-- record to billing's service_terms (see 0097 and 0098): the last of
-- billing's columns on the record, which keeps what the service is (its
-- plan, status, options and backend state).

ALTER TABLE service_terms ADD COLUMN cycle text CHECK (cycle IN ('monthly', 'quarterly', 'annual', 'biennial'));
ALTER TABLE service_terms ADD COLUMN currency text;
-- One cycle's price, locked when ordered or changed.
ALTER TABLE service_terms ADD COLUMN price bigint CHECK (price >= 0);

UPDATE service_terms SET cycle = s.cycle, currency = s.currency, price = s.price
FROM services AS s WHERE s.id = service_terms.service_id;

ALTER TABLE service_terms ALTER COLUMN cycle SET NOT NULL;
ALTER TABLE service_terms ALTER COLUMN currency SET NOT NULL;
ALTER TABLE service_terms ALTER COLUMN price SET NOT NULL;

ALTER TABLE services DROP COLUMN cycle;
ALTER TABLE services DROP COLUMN currency;
ALTER TABLE services DROP COLUMN price;
