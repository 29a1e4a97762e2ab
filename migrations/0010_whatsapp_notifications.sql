-- WhatsApp billing notifications (seed 002): API keys with permissions, Evolution
-- instances per account, the message log that is also the send queue, and the
-- de-duplication of (invoice, message type) within a window. Accounts are resellers.

ALTER TABLE customers ADD COLUMN whatsapp_contact TEXT
    CHECK (whatsapp_contact ~ '^[1-9][0-9]{7,14}$');

CREATE TABLE notification_api_keys (
    id          UUID PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES customers(id),
    name        TEXT NOT NULL,
    -- SHA-256 of a random 256-bit key; the key is shown once and never stored.
    key_hash    BYTEA NOT NULL UNIQUE,
    permissions TEXT[] NOT NULL CHECK (permissions <@ ARRAY['send_message', 'receive_message']),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX notification_api_keys_account ON notification_api_keys (account_id);

-- An Evolution API instance (one WhatsApp number). `account_id` NULL: recarga's own,
-- used for the notices sent to resellers and reachable through no API key.
CREATE TABLE notification_instances (
    id                 UUID PRIMARY KEY,
    account_id         TEXT REFERENCES customers(id),
    name               TEXT NOT NULL,
    evolution_instance TEXT NOT NULL,
    -- Evolution's last reported state (open, connecting, close), or 'unknown'.
    connection_state   TEXT NOT NULL DEFAULT 'unknown',
    state_checked_at   TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX notification_instances_account ON notification_instances (account_id);

-- The message log; queued rows are the send queue (claimed with a lease by moving
-- next_attempt_at forward, so a crashed sender's claim runs out and is taken again).
CREATE TABLE notification_messages (
    id                  UUID PRIMARY KEY,
    instance_id         UUID NOT NULL REFERENCES notification_instances(id),
    direction           TEXT NOT NULL DEFAULT 'outgoing' CHECK (direction IN ('outgoing', 'incoming')),
    phone_number        TEXT NOT NULL,
    customer_name       TEXT NOT NULL,
    message_type        TEXT NOT NULL,
    invoice_id          TEXT NOT NULL,
    -- As the billing system sent it, every digit kept (a notice, not money we move).
    amount              NUMERIC NOT NULL,
    currency            TEXT NOT NULL,
    due_date            DATE,
    body                TEXT NOT NULL,
    -- The reseller a notice of recarga's own went to.
    reseller_id         TEXT REFERENCES customers(id),
    status              TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error          TEXT,
    evolution_message_id TEXT,
    request_id          TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at             TIMESTAMPTZ,
    delivered_at        TIMESTAMPTZ,
    failed_at           TIMESTAMPTZ
);
CREATE INDEX notification_messages_instance ON notification_messages (instance_id, created_at DESC);
CREATE INDEX notification_messages_queue ON notification_messages (next_attempt_at) WHERE status = 'queued';

-- The latest message per (instance, invoice, type): a second request within the window
-- is answered with it instead of sending again.
CREATE TABLE notification_dedup (
    instance_id  UUID NOT NULL REFERENCES notification_instances(id),
    invoice_id   TEXT NOT NULL,
    message_type TEXT NOT NULL,
    message_id   UUID NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, invoice_id, message_type)
);

-- At most one instance of recarga's own.
CREATE UNIQUE INDEX notification_instances_own ON notification_instances ((account_id IS NULL)) WHERE account_id IS NULL;
