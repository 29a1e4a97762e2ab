-- The ledger's functions now live in one file, sql/ledger.sql, which `store::migrate`
-- installs after the migrations on every start (docs/decisions.md, "Storage"). The
-- debit takes one named composite (recarga_purchase) instead of twenty positional
-- arguments and answers with an enum, so its old signature goes; the file creates the
-- new one. Functions the file keeps with the same signature are simply replaced there.
-- From here on, instances still running the old code fail every debit (writing
-- nothing, the call finds no such function) until they are replaced: upgrade them together.

DROP FUNCTION recarga_debit(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, NUMERIC, TEXT, NUMERIC, NUMERIC,
    NUMERIC, NUMERIC, DATE, NUMERIC, TEXT, TEXT, TEXT, NUMERIC);
