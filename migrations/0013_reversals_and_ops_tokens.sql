-- A delivered top-up that the upstream reverses later (days later, at times) becomes
-- REVERSED: refunded through the ledger (recarga_reverse in sql/ledger.sql), final.
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_status_check
    CHECK (status IN ('PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'REVIEW', 'REVERSED'));

-- Who did an ops action (an ops token's name, or "cli"), where it is known.
ALTER TABLE audit_notes ADD COLUMN actor TEXT;

-- Bearer tokens for the admin API (/api/admin/...), created with the CLI and shown
-- once: only their SHA-256 is kept. A revoked token stays, for the audit trail.
CREATE TABLE ops_tokens (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);
