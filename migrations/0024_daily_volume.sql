-- The per-day rollup behind /dashboard's volume chart, success rates and latency
-- percentiles (issue #20; docs/decisions.md, "The /dashboard"). Rolled up by a job for
-- each closed business day (recarga_volume_roll_up in sql/ledger.sql), kept exact by the
-- ledger functions that change a transaction's status afterwards; pages count the days
-- not rolled up yet (today) live. Nothing here is written by the purchase's hot path.

-- The business days whose rows are in daily_volume and daily_latency, for every reseller.
CREATE TABLE volume_days (
    business_day  DATE PRIMARY KEY,
    rolled_up_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Transactions per (reseller, business day, currency, status): how many, their face
-- value and what they charged (refunded ones included: FAILED and REVERSED rows say so).
CREATE TABLE daily_volume (
    customer_id   TEXT NOT NULL REFERENCES customers(id),
    business_day  DATE NOT NULL REFERENCES volume_days(business_day),
    currency      TEXT NOT NULL,
    status        TEXT NOT NULL,
    count         BIGINT NOT NULL CHECK (count > 0),
    amount_local  NUMERIC(18, 2) NOT NULL,
    charged_usd   NUMERIC(18, 2) NOT NULL,
    PRIMARY KEY (customer_id, business_day, currency, status)
);
-- Ops' view of every reseller: a range of days.
CREATE INDEX daily_volume_day ON daily_volume (business_day);

-- Delivered top-ups per (reseller, business day) and upstream response time bucket
-- (`le_ms`: the bucket's upper bound, recarga_latency_le_ms), for the percentiles.
CREATE TABLE daily_latency (
    customer_id   TEXT NOT NULL REFERENCES customers(id),
    business_day  DATE NOT NULL REFERENCES volume_days(business_day),
    le_ms         BIGINT NOT NULL,
    count         BIGINT NOT NULL CHECK (count > 0),
    PRIMARY KEY (customer_id, business_day, le_ms)
);
CREATE INDEX daily_latency_day ON daily_latency (business_day);
