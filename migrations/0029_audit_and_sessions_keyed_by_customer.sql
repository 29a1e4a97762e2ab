-- Audit notes, the reseller reconcile key and distributor sessions keyed by customer, as
-- a distribution by customer needs (docs/scaling.md, "Past one PostgreSQL"): each
-- distributed table's keys and foreign keys carry customer_id.

-- Audit notes -------------------------------------------------------------------------

-- A note that names a transaction belongs to the transaction's reseller.
UPDATE audit_notes n SET customer_id = t.customer_id
FROM transactions t
WHERE n.customer_id IS NULL AND t.id = n.transaction_id;

-- Every writer names the reseller (credits, adjustments, REVIEW settlements, reversals),
-- and always has: a note without one was written by hand, and the migration stops on it
-- rather than guess whose it is or drop it from the log.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_notes WHERE customer_id IS NULL) THEN
        RAISE EXCEPTION 'audit_notes: % notes name no reseller; set their customer_id, then start again',
            (SELECT count(*) FROM audit_notes WHERE customer_id IS NULL);
    END IF;
END $$;

ALTER TABLE audit_notes ALTER COLUMN customer_id SET NOT NULL;
ALTER TABLE audit_notes DROP CONSTRAINT audit_notes_transaction_id_fkey;
ALTER TABLE audit_notes ADD CONSTRAINT audit_notes_transaction_fkey
    FOREIGN KEY (customer_id, transaction_id) REFERENCES transactions (customer_id, id);
-- The key becomes what audit_notes_customer (migration 0021) was: a reseller's log,
-- newest first. The whole log walks the plain index on id.
ALTER TABLE audit_notes DROP CONSTRAINT audit_notes_pkey;
ALTER TABLE audit_notes ADD PRIMARY KEY (customer_id, id);
DROP INDEX audit_notes_customer;
CREATE INDEX audit_notes_id ON audit_notes (id);

-- The reseller reconcile key ------------------------------------------------------------

-- The export is opened by the key alone, so its hash still finds the reseller, through a
-- plain index (under Citus, on every shard). A unique index would have to include the
-- customer id, the primary key, and would then prove nothing: the key is SHA-256 of 256
-- random bits, unique across resellers in practice, no longer by the database.
DROP INDEX customers_reconcile_key;
CREATE INDEX customers_reconcile_key ON customers (reconcile_key_hash);

-- Distributor sessions ------------------------------------------------------------------

ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_family_id_fkey;
ALTER TABLE token_families DROP CONSTRAINT token_families_pkey;
ALTER TABLE token_families ADD PRIMARY KEY (customer_id, id);
-- Its prefix now.
DROP INDEX token_families_customer;

-- A refresh token is presented alone, so its hash finds it through a plain index (under
-- Citus, on every shard); unique per customer, across customers in practice (SHA-256 of
-- 256 random bits), as the reconcile key.
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_pkey;
ALTER TABLE refresh_tokens ADD PRIMARY KEY (customer_id, token_hash);
CREATE INDEX refresh_tokens_token_hash ON refresh_tokens (token_hash);
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_family_fkey
    FOREIGN KEY (customer_id, family_id) REFERENCES token_families (customer_id, id);
DROP INDEX refresh_tokens_family;
CREATE INDEX refresh_tokens_family ON refresh_tokens (customer_id, family_id);
