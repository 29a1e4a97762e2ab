-- WhatsApp notifications keyed by customer, as a distribution by customer needs
-- (docs/scaling.md, "Past one PostgreSQL"; sql/citus.sql): API keys, messages and their
-- de-duplication are distributed by customer, instances stay a reference table.

-- API keys: unique per account. Authentication has the key and no account, so the hash
-- is found through a plain index (under Citus that lookup runs on every shard); it stays
-- unique in practice, being the SHA-256 of 256 random bits.
ALTER TABLE notification_api_keys
    DROP CONSTRAINT notification_api_keys_pkey,
    ADD PRIMARY KEY (account_id, id),
    DROP CONSTRAINT notification_api_keys_key_hash_key,
    ADD CONSTRAINT notification_api_keys_account_id_key_hash_key UNIQUE (account_id, key_hash);
CREATE INDEX notification_api_keys_key_hash ON notification_api_keys (key_hash);
-- The primary key serves an account's listing now.
DROP INDEX notification_api_keys_account;

-- Every message belongs to one customer: the instance's account for a billing system's
-- message, the reseller notified for a notice of recarga's own (which alone had
-- reseller_id until now). Whether a message is such a notice is its instance's to say.
ALTER TABLE notification_messages RENAME COLUMN reseller_id TO customer_id;
ALTER TABLE notification_messages
    RENAME CONSTRAINT notification_messages_reseller_id_fkey TO notification_messages_customer_id_fkey;
UPDATE notification_messages m SET customer_id = i.account_id
FROM notification_instances i
WHERE m.customer_id IS NULL AND i.id = m.instance_id;
-- Nothing is left NULL: recarga's own instance (no account) only ever sent notices,
-- each stored with its reseller.
ALTER TABLE notification_messages
    ALTER COLUMN customer_id SET NOT NULL,
    DROP CONSTRAINT notification_messages_pkey,
    ADD PRIMARY KEY (customer_id, id);

-- The de-duplication row names its message's customer, so the check and the message it
-- stores are on one shard. Nothing changes for an account's instance (it has one
-- account); through recarga's own instance, two resellers' notices with the same
-- reference (the day's LOW-BALANCE-…) are no longer taken for one another.
ALTER TABLE notification_dedup ADD COLUMN customer_id TEXT;
-- Each row was written in the transaction that stored its message.
UPDATE notification_dedup d SET customer_id = m.customer_id
FROM notification_messages m
WHERE m.id = d.message_id;
ALTER TABLE notification_dedup
    ALTER COLUMN customer_id SET NOT NULL,
    DROP CONSTRAINT notification_dedup_pkey,
    ADD PRIMARY KEY (customer_id, instance_id, invoice_id, message_type);

-- Instances stay a reference table (recarga's own belongs to no customer, and every
-- shard's send queue joins them), and a reference table may not reference the
-- distributed customers: the account is checked when an instance is made
-- (store::notifications::instances::create). Customers are never deleted.
ALTER TABLE notification_instances DROP CONSTRAINT notification_instances_account_id_fkey;
