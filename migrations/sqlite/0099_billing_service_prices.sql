-- The cycle, currency and price a service renews at move from the service
-- record to billing's service_terms (see 0097 and 0098): the last of
-- billing's columns on the record, which keeps what the service is (its
-- plan, status, options and backend state).
--
-- SQLite adds a NOT NULL column only with a default, so service_terms is
-- rebuilt with the new columns (nothing references it); the columns leave
-- services by ALTER TABLE (no index or foreign key uses them).

CREATE TABLE service_terms_new (
    service_id         TEXT PRIMARY KEY REFERENCES services (id),
    cycle              TEXT NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'annual', 'biennial')),
    currency           TEXT NOT NULL,
    -- One cycle's price, locked when ordered or changed.
    price              INTEGER NOT NULL CHECK (price >= 0),
    coupon_id          TEXT REFERENCES coupons (id),
    -- Cycles the coupon still discounts; NULL = every cycle.
    coupon_cycles_left INTEGER,
    -- A change scheduled for the end of the term (downgrade, cycle change).
    pending_plan_id    TEXT REFERENCES plans (id),
    pending_cycle      TEXT CHECK (pending_cycle IN ('monthly', 'quarterly', 'annual', 'biennial')),
    pending_price      INTEGER CHECK (pending_price >= 0),
    period_start       TIMESTAMP,
    period_end         TIMESTAMP,
    anchor_day         INTEGER NOT NULL DEFAULT 0,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0,
    in_term            BOOLEAN NOT NULL DEFAULT 0
);
INSERT INTO service_terms_new (service_id, cycle, currency, price, coupon_id, coupon_cycles_left, pending_plan_id,
    pending_cycle, pending_price, period_start, period_end, anchor_day, cancel_at_period_end, in_term)
SELECT st.service_id, s.cycle, s.currency, s.price, st.coupon_id, st.coupon_cycles_left, st.pending_plan_id,
    st.pending_cycle, st.pending_price, st.period_start, st.period_end, st.anchor_day, st.cancel_at_period_end, st.in_term
FROM service_terms AS st JOIN services AS s ON s.id = st.service_id;
DROP TABLE service_terms;
ALTER TABLE service_terms_new RENAME TO service_terms;
CREATE INDEX service_terms_pending_plan_idx ON service_terms (pending_plan_id) WHERE pending_plan_id IS NOT NULL;
CREATE INDEX service_terms_renewal_idx ON service_terms (period_end) WHERE in_term;

ALTER TABLE services DROP COLUMN cycle;
ALTER TABLE services DROP COLUMN currency;
ALTER TABLE services DROP COLUMN price;
