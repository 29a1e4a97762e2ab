-- Transactions are to be keyed by (customer_id, id), as a distribution by customer
-- needs (docs/scaling.md, "Past one PostgreSQL"). This index is the key the tables that
-- point at a transaction reference from now on, paired on the customer; a later
-- migration makes it the primary key once nothing references `id` alone.
CREATE UNIQUE INDEX transactions_customer_id_id ON transactions (customer_id, id);
