-- Distributor API sessions. A login starts a token family; every refresh rotates the
-- refresh token within its family. Presenting a used refresh token again revokes the
-- whole family (someone has a copy), which also invalidates its access tokens.

CREATE TABLE token_families (
    id              UUID PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at      TIMESTAMPTZ,
    revoked_reason  TEXT
);
CREATE INDEX token_families_customer ON token_families (customer_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the opaque 256-bit token; the token itself is never stored.
    token_hash   BYTEA PRIMARY KEY,
    family_id    UUID NOT NULL REFERENCES token_families(id),
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
