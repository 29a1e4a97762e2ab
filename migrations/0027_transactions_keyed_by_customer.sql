-- Transactions are to be keyed by customer as well as id, as a distribution by customer
-- needs (docs/scaling.md, "Past one PostgreSQL"). This index is the key the tables that
-- point at a transaction reference from now on, paired on the customer:
-- `(customer_id, transaction_id) REFERENCES transactions (customer_id, id)`. A later
-- migration makes it the primary key once nothing references `id` alone. The id leads,
-- so the one index also serves every lookup by id.
CREATE UNIQUE INDEX transactions_customer_id_id ON transactions (id, customer_id);
