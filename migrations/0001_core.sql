-- Core ledger schema. Money is NUMERIC (exact); balances never go below zero.

CREATE TABLE customers (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    balance_usd         NUMERIC(18, 2) NOT NULL DEFAULT 0 CHECK (balance_usd >= 0),
    credit_limit_usd    NUMERIC(18, 2) NOT NULL DEFAULT 0,
    commission_rate     NUMERIC(9, 6) NOT NULL DEFAULT 0 CHECK (commission_rate >= 0 AND commission_rate < 1),
    -- NULL means "use the configured default".
    daily_limit_local   NUMERIC(18, 2),
    topup_rate_per_min  INTEGER,
    api_rate_per_15min  INTEGER,
    -- SHA-256 of random 256-bit keys; the keys themselves are shown once and never stored.
    api_key_hash        BYTEA NOT NULL,
    secret_key_hash     BYTEA NOT NULL,
    reconcile_key_hash  BYTEA NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE transactions (
    id                      TEXT PRIMARY KEY,
    customer_id             TEXT NOT NULL REFERENCES customers(id),
    -- Client reference: the idempotency key, one namespace per customer across dialects.
    reference               TEXT,
    channel                 TEXT NOT NULL,
    mode                    TEXT NOT NULL CHECK (mode IN ('sync', 'async')),
    product_id              TEXT NOT NULL,
    phone                   TEXT NOT NULL,
    operator                TEXT,
    amount_local            NUMERIC(18, 2) NOT NULL CHECK (amount_local > 0),
    currency                TEXT NOT NULL,
    exchange_rate           NUMERIC(18, 6) NOT NULL,
    cost_usd                NUMERIC(18, 2) NOT NULL,
    commission_usd          NUMERIC(18, 2) NOT NULL,
    charged_usd             NUMERIC(18, 2) NOT NULL,
    business_day            DATE NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'REVIEW')),
    upstream                TEXT,
    operator_transaction_id TEXT,
    failure_reason          TEXT,
    response_time_ms        BIGINT,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at            TIMESTAMPTZ
);
CREATE UNIQUE INDEX transactions_customer_reference ON transactions (customer_id, reference) WHERE reference IS NOT NULL;
CREATE INDEX transactions_open ON transactions (updated_at) WHERE status IN ('PENDING', 'PROCESSING');

-- Append-only: every balance change is one row here, written in the same database
-- transaction as the balance update, so balance == sum(amount_usd) per customer.
CREATE TABLE ledger_entries (
    id                 BIGSERIAL PRIMARY KEY,
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    transaction_id     TEXT REFERENCES transactions(id),
    kind               TEXT NOT NULL,
    amount_usd         NUMERIC(18, 2) NOT NULL CHECK (amount_usd <> 0),
    balance_after_usd  NUMERIC(18, 2) NOT NULL CHECK (balance_after_usd >= 0),
    note               TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_customer ON ledger_entries (customer_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only';
END $$;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- One row per try at an upstream; the upstream reference is what we send as the
-- client reference, so an enquiry or a re-send always names the same request.
CREATE TABLE attempts (
    id                      BIGSERIAL PRIMARY KEY,
    transaction_id          TEXT NOT NULL REFERENCES transactions(id),
    attempt_no              INTEGER NOT NULL,
    upstream                TEXT NOT NULL,
    upstream_reference      TEXT NOT NULL,
    upstream_product        TEXT NOT NULL,
    amount_sent             NUMERIC(18, 2) NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('SENT', 'SUCCESS', 'FAILED', 'UNKNOWN')),
    upstream_transaction_id TEXT,
    response_code           TEXT,
    message                 TEXT,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at             TIMESTAMPTZ,
    UNIQUE (transaction_id, attempt_no),
    UNIQUE (upstream, upstream_reference)
);

-- Per (customer, phone, currency, business day) usage; enforced with the debit.
CREATE TABLE daily_usage (
    customer_id   TEXT NOT NULL REFERENCES customers(id),
    phone         TEXT NOT NULL,
    currency      TEXT NOT NULL,
    business_day  DATE NOT NULL,
    amount_local  NUMERIC(18, 2) NOT NULL CHECK (amount_local >= 0),
    PRIMARY KEY (customer_id, phone, currency, business_day)
);

-- Durable work queue. A job is claimed by pushing locked_until forward (committed),
-- processed with no transaction open, then deleted; a crashed worker's claim expires.
CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL,
    transaction_id  TEXT REFERENCES transactions(id),
    run_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until    TIMESTAMPTZ,
    tries           INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at);

CREATE TABLE fx_rates (
    id          BIGSERIAL PRIMARY KEY,
    currency    TEXT NOT NULL,
    -- Units of `currency` per 1 USD.
    rate        NUMERIC(18, 6) NOT NULL CHECK (rate > 0),
    source      TEXT NOT NULL,
    as_of       TIMESTAMPTZ NOT NULL,
    fetched_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX fx_rates_latest ON fx_rates (currency, as_of DESC);

-- Ops actions on money outside a purchase (credits, REVIEW settlements).
CREATE TABLE audit_notes (
    id              BIGSERIAL PRIMARY KEY,
    customer_id     TEXT REFERENCES customers(id),
    transaction_id  TEXT REFERENCES transactions(id),
    action          TEXT NOT NULL,
    note            TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
