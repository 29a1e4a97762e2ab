-- Money out (issue 21): what a reseller reads back about its money.
--
-- Search and the reconciliation export walk a reseller's transactions in time order,
-- newest first for search (keyset pagination on (created_at, id)), oldest first for the
-- export; one index serves both directions.
CREATE INDEX transactions_customer_created ON transactions (customer_id, created_at, id);

-- Held funds: the charges of a reseller's purchases that are not final yet (PENDING,
-- PROCESSING, REVIEW: `processed_at` is set by every move to SUCCESS or FAILED and by
-- no other). Only open rows are in it, so a balance read sums a handful of entries.
CREATE INDEX transactions_customer_open ON transactions (customer_id) INCLUDE (charged_usd)
    WHERE processed_at IS NULL;

-- The reconciliation export is authenticated by `x-reconcile-key` alone, so the key's
-- hash is what finds the reseller. SHA-256 of 256 random bits: unique in practice, and
-- enforced so that one key can never name two resellers.
CREATE UNIQUE INDEX customers_reconcile_key ON customers (reconcile_key_hash);

-- Ops reconcile keys see every reseller's rows. Stored as SHA-256 like every key, shown
-- once by `recarga reconcile-key create`; revoked keys stay for the audit trail.
CREATE TABLE ops_reconcile_keys (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);

-- Monthly invoices: issued once per reseller and month (business time zone) by a
-- scheduled job, for the top-ups that became SUCCESS in that month, and never changed
-- after: the header, its per-currency totals and a copy of every line are written in one
-- transaction and protected against UPDATE and DELETE, like the ledger's entries.
-- A number names its reseller and month, so a second issue (another instance, a rerun)
-- finds it taken and writes nothing.
CREATE TABLE invoices (
    number           TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL REFERENCES customers(id),
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    transactions     INTEGER NOT NULL,
    cost_usd         NUMERIC(18, 2) NOT NULL,
    commission_usd   NUMERIC(18, 2) NOT NULL,
    total_usd        NUMERIC(18, 2) NOT NULL,
    issued_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (customer_id, period_start)
);

CREATE TABLE invoice_totals (
    invoice_number   TEXT NOT NULL REFERENCES invoices(number),
    currency         TEXT NOT NULL,
    transactions     INTEGER NOT NULL,
    amount_local     NUMERIC(18, 2) NOT NULL,
    cost_usd         NUMERIC(18, 2) NOT NULL,
    commission_usd   NUMERIC(18, 2) NOT NULL,
    total_usd        NUMERIC(18, 2) NOT NULL,
    -- Local per USD over the month: amount_local / cost_usd, half-up to 6 places.
    average_rate     NUMERIC(18, 6) NOT NULL,
    PRIMARY KEY (invoice_number, currency)
);

CREATE TABLE invoice_lines (
    invoice_number   TEXT NOT NULL REFERENCES invoices(number),
    transaction_id   TEXT NOT NULL REFERENCES transactions(id),
    reference        TEXT,
    product_id       TEXT NOT NULL,
    phone            TEXT NOT NULL,
    amount_local     NUMERIC(18, 2) NOT NULL,
    currency         TEXT NOT NULL,
    exchange_rate    NUMERIC(18, 6) NOT NULL,
    cost_usd         NUMERIC(18, 2) NOT NULL,
    commission_usd   NUMERIC(18, 2) NOT NULL,
    charged_usd      NUMERIC(18, 2) NOT NULL,
    settled_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (invoice_number, transaction_id)
);

CREATE FUNCTION invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an issued invoice cannot change (%)', TG_TABLE_NAME;
END $$;
CREATE TRIGGER invoices_no_change BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_immutable();
CREATE TRIGGER invoice_totals_no_change BEFORE UPDATE OR DELETE ON invoice_totals
    FOR EACH ROW EXECUTE FUNCTION invoices_immutable();
CREATE TRIGGER invoice_lines_no_change BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoices_immutable();
