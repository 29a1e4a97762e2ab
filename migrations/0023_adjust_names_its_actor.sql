-- Adjustments now take who made them (sql/ledger.sql recreates recarga_adjust with a
-- trailing p_actor, as migration 0021 did for credits); the old signature goes, or the
-- ledger check would find it.
DROP FUNCTION IF EXISTS recarga_adjust(TEXT, NUMERIC, TEXT);
