-- The transactions' primary key becomes (id, customer_id): the index of migration 0027,
-- which every table pointing at a transaction now references paired on the customer
-- (migrations 0028, 0029 and 0032). The id leads, so lookups by id use it as they used
-- the old key. A transaction id stays unique across customers by construction (instance
-- tag and sequence); the database now proves it per customer.
ALTER TABLE transactions
    DROP CONSTRAINT transactions_pkey,
    ADD CONSTRAINT transactions_pkey PRIMARY KEY USING INDEX transactions_customer_id_id;
