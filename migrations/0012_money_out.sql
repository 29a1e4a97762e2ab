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
