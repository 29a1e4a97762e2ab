-- The ledger's functions now live in one file, sql/ledger.sql, which `store::migrate`
-- installs after the migrations on every start (docs/decisions.md, "Storage"). The
-- debit takes one named composite (recarga_purchase) instead of twenty positional
-- arguments and answers with an enum, so its old signature goes; the file creates the
-- new one. Functions the file keeps with the same signature are simply replaced there.
-- Between this migration and the file's install (the same `migrate` call) there is no
-- debit function: instances still running the old code refuse purchases, writing nothing.

DROP FUNCTION recarga_debit(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, NUMERIC, TEXT, NUMERIC, NUMERIC,
    NUMERIC, NUMERIC, DATE, NUMERIC, TEXT, TEXT, TEXT, NUMERIC);
