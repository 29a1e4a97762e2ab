-- The purchase's own tables keyed by customer, as a distribution by customer needs
-- (docs/scaling.md, "Past one PostgreSQL", checked by tests/citus.rs). Every unique key
-- gains the customer as its last column: the columns the code looks rows up by still
-- lead, so each index serves the same lookups as before and none is added.

-- Attempts carry their purchase's customer, and point at it paired on the customer.
ALTER TABLE attempts ADD COLUMN customer_id TEXT;
UPDATE attempts a SET customer_id = t.customer_id FROM transactions t WHERE t.id = a.transaction_id;
ALTER TABLE attempts ALTER COLUMN customer_id SET NOT NULL,
    DROP CONSTRAINT attempts_transaction_id_fkey,
    ADD CONSTRAINT attempts_transaction_fkey FOREIGN KEY (customer_id, transaction_id)
        REFERENCES transactions (customer_id, id),
    DROP CONSTRAINT attempts_pkey,
    ADD CONSTRAINT attempts_pkey PRIMARY KEY (id, customer_id),
    DROP CONSTRAINT attempts_transaction_id_attempt_no_key,
    ADD CONSTRAINT attempts_transaction_attempt_no UNIQUE (transaction_id, attempt_no, customer_id),
    -- The upstream reference is derived from the transaction id, so it stays unique
    -- across customers by construction; the database now proves it per customer.
    DROP CONSTRAINT attempts_upstream_upstream_reference_key,
    ADD CONSTRAINT attempts_upstream_reference UNIQUE (upstream, upstream_reference, customer_id);

-- The ledger: entries are read per customer (its statement) and per transaction; none
-- is looked up by its id alone, so the per-customer index becomes the key.
ALTER TABLE ledger_entries
    DROP CONSTRAINT ledger_entries_transaction_id_fkey,
    ADD CONSTRAINT ledger_entries_transaction_fkey FOREIGN KEY (customer_id, transaction_id)
        REFERENCES transactions (customer_id, id),
    DROP CONSTRAINT ledger_entries_pkey,
    ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY (customer_id, id);
DROP INDEX ledger_entries_customer;

-- A purchase's callback URL is committed before its debit, so it names the customer the
-- debit will, and (as before) references no transaction that may never be created.
ALTER TABLE purchase_callbacks ADD COLUMN customer_id TEXT;
UPDATE purchase_callbacks c SET customer_id = t.customer_id FROM transactions t WHERE t.id = c.transaction_id;
-- A callback without a transaction belongs to a debit that was refused or never
-- committed (migrations run while no instance of the previous version debits), so it
-- can never be used.
DELETE FROM purchase_callbacks WHERE customer_id IS NULL;
ALTER TABLE purchase_callbacks ALTER COLUMN customer_id SET NOT NULL,
    DROP CONSTRAINT purchase_callbacks_pkey,
    ADD CONSTRAINT purchase_callbacks_pkey PRIMARY KEY (transaction_id, customer_id),
    ADD CONSTRAINT purchase_callbacks_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);

-- Created by the first migration for a job queue that was never used (the queue is the
-- PENDING transactions, migration 0006).
DROP TABLE jobs;

-- A settlement looks for the purchase's callback by its key, customer included.
CREATE OR REPLACE FUNCTION events_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_kind TEXT;
BEGIN
    SELECT k.kind INTO v_kind FROM event_kinds k WHERE k.status = NEW.status;
    IF v_kind IS NOT NULL AND (
        EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.customer_id = NEW.customer_id)
        OR EXISTS (SELECT 1 FROM purchase_callbacks c
                   WHERE c.transaction_id = NEW.id AND c.customer_id = NEW.customer_id)) THEN
        INSERT INTO events (customer_id, kind, transaction_id) VALUES (NEW.customer_id, v_kind, NEW.id);
    END IF;
    RETURN NULL;
END $$;
