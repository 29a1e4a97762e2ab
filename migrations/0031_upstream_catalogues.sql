-- Upstream product listings shared by every instance (issue 24). Smartcall's
-- /smartload/networks was fetched by each instance into its own memory, so instances
-- listed different products for up to catalog_sync_interval_secs after a change, and N
-- instances made N fetches. Now one instance at a time fetches (the lease below), when
-- the stored listing is older than the interval, and every instance re-reads it when
-- its revision moves.
CREATE TABLE upstream_catalogues (
    upstream     TEXT PRIMARY KEY,
    -- Bumped by every listing stored (not by a 304): what instances compare to re-read.
    revision     BIGINT NOT NULL DEFAULT 0,
    -- The upstream's answer as it came (its own format, e.g. {"networks": [...]}), so a
    -- release that maps it differently applies to it at once; NULL before the first.
    listing      JSONB,
    -- The listing's ETag, sent as If-None-Match by the next fetch.
    etag         TEXT,
    -- When the upstream last gave or confirmed (304) the listing.
    fetched_at   TIMESTAMPTZ,
    -- An instance is fetching (lease, lapses by itself if that instance dies).
    fetch_until  TIMESTAMPTZ
);
