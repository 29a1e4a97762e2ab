-- Adjustments now take who made them (sql/ledger.sql recreates recarga_adjust with a
-- trailing p_actor, as migration 0021 did for credits); the old signature goes, or the
-- ledger check would find it.
DROP FUNCTION IF EXISTS recarga_adjust(TEXT, NUMERIC, TEXT);

-- Who posted a credit or an adjustment (an ops user, an ops token, or "cli"), on the
-- entry itself as well as in the audit log. Purchases and their refunds leave it NULL:
-- the reseller's own request, or a settlement whose audit note names its actor.
ALTER TABLE ledger_entries ADD COLUMN actor TEXT;
