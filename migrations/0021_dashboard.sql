-- The /dashboard (issue #20): ops users, server-side sessions, the indexes its pages
-- read through, and the ops user recorded with credits and REVIEW settlements.

-- People who run the gateway from /dashboard, created with `recarga ops-user create`.
-- Only an argon2 hash (PHC string) of the password is kept.
CREATE TABLE ops_users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    disabled_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX ops_users_email ON ops_users (lower(email));

-- A logged-in browser. The cookie carries a random id; only its SHA-256 is stored, so
-- a read of this table cannot be replayed as a cookie. Revoked at logout; the row
-- stays until it expires.
CREATE TABLE dashboard_sessions (
    id_hash     BYTEA PRIMARY KEY,
    user_kind   TEXT NOT NULL CHECK (user_kind IN ('reseller', 'ops')),
    -- A customer id for a reseller, an ops_users id for ops.
    subject     TEXT NOT NULL,
    -- Sent back in every form and compared in constant time on every POST.
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- The REVIEW queue, oldest first, a page at a time.
CREATE INDEX transactions_review ON transactions (created_at, id) WHERE status = 'REVIEW';
-- The history's filters, each a keyset range of one reseller's rows (the Relier search
-- shares them). Measured on 1,000,000 rows (docs/decisions.md): a phone filter was a
-- 150 ms sequential scan; a rare status, a walk over every row of the reseller.
CREATE INDEX transactions_customer_phone ON transactions (customer_id, phone, created_at, id);
-- The final statuses other than SUCCESS, by reseller and time. SUCCESS is served by the
-- next index, and the open ones (PENDING, PROCESSING, REVIEW) by the open-row indexes, as
-- the search adds `processed_at IS NULL` for them. Open statuses stay out of this one: a
-- statement that looks rows up by id and `status = 'PROCESSING'` (the settlement batch)
-- must never be planned through it.
CREATE INDEX transactions_customer_status ON transactions (customer_id, status, created_at, id)
    WHERE status IN ('FAILED', 'REVERSED');
-- Delivered top-ups by reseller and time, covering what the daily volume chart sums, so
-- the chart reads the index alone.
CREATE INDEX transactions_customer_delivered ON transactions (customer_id, created_at, id)
    INCLUDE (amount_local, currency, charged_usd) WHERE status = 'SUCCESS';
-- How many UTC days there are, so the chart's GROUP BY is planned as a small hash
-- aggregate instead of a sort of every row.
CREATE STATISTICS transactions_created_day ON ((created_at AT TIME ZONE 'UTC')::date) FROM transactions;
-- The audit log, per reseller and newest first (the whole log pages on its primary key).
CREATE INDEX audit_notes_customer ON audit_notes (customer_id, id);

-- Credits and REVIEW settlements now take who did them (sql/ledger.sql recreates them
-- with a trailing p_actor); the old signatures go, or the ledger check would find them.
DROP FUNCTION IF EXISTS recarga_credit(TEXT, NUMERIC, TEXT);
DROP FUNCTION IF EXISTS recarga_post(TEXT, TEXT, NUMERIC, TEXT);
DROP FUNCTION IF EXISTS recarga_settle_review(TEXT, recarga_review_verdict, TEXT);
