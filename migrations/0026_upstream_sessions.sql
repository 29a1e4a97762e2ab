-- Upstream login sessions shared by every instance (issue 24). Smartcall counts live
-- tokens per account and its "limit reached" flush ends all of them, so the deployment
-- holds one token, not one per process: an instance logs in only while it holds the
-- login lease on the generation it saw, and publishes the next generation; the others
-- read it. A token refused with generation g makes only the instance that wins the
-- lease on g log in again.
CREATE TABLE upstream_sessions (
    upstream      TEXT PRIMARY KEY,
    -- Bumped by every published login; 0 before the first.
    generation    BIGINT NOT NULL DEFAULT 0,
    -- The bearer token sealed (ChaCha20-Poly1305) with a key derived from the upstream
    -- password: reading this table (a backup, a replica) does not give a usable token.
    sealed_token  BYTEA,
    -- When to log in again; NULL: the expiry is unknown, use it until refused.
    refresh_at    TIMESTAMPTZ,
    -- An instance is logging in (lease, lapses by itself if that instance dies).
    login_until   TIMESTAMPTZ
);
