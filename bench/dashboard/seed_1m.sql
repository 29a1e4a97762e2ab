-- 1,000,000 transactions for /dashboard's query plans (docs/decisions.md, "The /dashboard"):
-- three resellers (BIG 70 %, MID 25 %, SMALL 5 %) over 81 days, 1,000 in REVIEW with an
-- attempt each, 100,000 audit notes. On a migrated database with customers BIG, MID and
-- SMALL (recarga customer create). Business days are cut in America/Mexico_City, as the
-- gateway's default business_timezone cuts them.
--   psql -d <db> -f bench/dashboard/seed_1m.sql; psql -d <db> -f bench/dashboard/explain.sql
INSERT INTO transactions (id, customer_id, reference, channel, mode, product_id, phone, operator, amount_local, currency,
    exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, upstream, response_time_ms, created_at, updated_at, processed_at)
SELECT 'T' || lpad(i::text, 8, '0'),
       CASE WHEN i % 20 < 14 THEN 'BIG' WHEN i % 20 < 19 THEN 'MID' ELSE 'SMALL' END,
       'REF-' || i, 'relier', 'sync', 'MOVISTAR_TAE',
       '55' || lpad(((i::bigint * 7919) % 100000000)::text, 8, '0'), NULL,
       50, 'MXN', 17.0068, 2.94, 0, 2.94,
       ((now() - ((i::bigint * 7) % 7776000) * interval '1 second') AT TIME ZONE 'America/Mexico_City')::date,
       CASE WHEN i % 1000 = 7 THEN 'REVIEW' WHEN i % 100 < 6 THEN 'FAILED' ELSE 'SUCCESS' END,
       'latcom',
       CASE WHEN i % 1000 = 7 THEN NULL ELSE 100 + (i::bigint * 37) % 2900 END,
       now() - ((i::bigint * 7) % 7776000) * interval '1 second' - (i % 997) * interval '1 millisecond',
       now(),
       CASE WHEN i % 1000 = 7 THEN NULL ELSE now() END
FROM generate_series(1, 1000000) AS i;
INSERT INTO attempts (customer_id, transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status, message, created_at)
SELECT customer_id, id, 1, 'latcom', id, 'TFE_MXN_20_TO_2000', 43.10, 'UNKNOWN', 'timeout', created_at FROM transactions WHERE status = 'REVIEW';
INSERT INTO audit_notes (customer_id, action, note, actor, created_at)
SELECT CASE WHEN i % 3 = 0 THEN 'BIG' WHEN i % 3 = 1 THEN 'MID' ELSE 'SMALL' END, 'credit', i || ' USD: wire', 'bench@ops.example',
       now() - i * interval '1 minute'
FROM generate_series(1, 100000) AS i;
ANALYZE;
SELECT customer_id, status, count(*) FROM transactions GROUP BY 1, 2 ORDER BY 1, 2;
