-- Rate limits and login throttles shared by every instance (issue 24): one cell per key
-- holding its GCRA "theoretical arrival time". UNLOGGED: no WAL on the hot path, and a
-- crash that empties the table only forgives recent requests, which is harmless.
CREATE UNLOGGED TABLE rate_limit_cells (
    key  TEXT PRIMARY KEY,
    tat  TIMESTAMPTZ NOT NULL
);
