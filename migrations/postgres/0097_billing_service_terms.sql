-- Billing's terms of a service move out of the service record into a table
-- of billing's own: the coupon it was ordered with and the cycles it still
-- discounts, and a change scheduled for the end of the term. One row per
-- service, written with it at order. The service record keeps what the
-- service is and what its backend runs; billing alone reads and writes its
-- terms.

CREATE TABLE service_terms (
    service_id         text PRIMARY KEY REFERENCES services (id),
    coupon_id          text REFERENCES coupons (id),
    -- Cycles the coupon still discounts; NULL = every cycle.
    coupon_cycles_left integer,
    -- A change scheduled for the end of the term (downgrade, cycle change).
    pending_plan_id    text REFERENCES plans (id),
    pending_cycle      text CHECK (pending_cycle IN ('monthly', 'quarterly', 'annual', 'biennial')),
    pending_price      bigint CHECK (pending_price >= 0)
);
-- The plan guard asks whether any service is scheduled onto a plan.
CREATE INDEX service_terms_pending_plan_idx ON service_terms (pending_plan_id) WHERE pending_plan_id IS NOT NULL;

INSERT INTO service_terms (service_id, coupon_id, coupon_cycles_left, pending_plan_id, pending_cycle, pending_price)
SELECT id, coupon_id, coupon_cycles_left, pending_plan_id, pending_cycle, pending_price FROM services;

ALTER TABLE services DROP COLUMN coupon_id;
ALTER TABLE services DROP COLUMN coupon_cycles_left;
ALTER TABLE services DROP COLUMN pending_plan_id;
ALTER TABLE services DROP COLUMN pending_cycle;
ALTER TABLE services DROP COLUMN pending_price;
