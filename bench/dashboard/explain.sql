-- EXPLAIN ANALYZE of every statement behind /dashboard's pages, for reseller BIG of seed_1m.sql.
\pset pager off
\set cols 'id, customer_id, reference, channel, mode, product_id, phone, operator, amount_local, currency, exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, upstream, operator_transaction_id, failure_reason, response_time_ms, created_at, updated_at, processed_at'
\echo '== Q1 history, first page'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE customer_id = 'BIG' ORDER BY created_at DESC, id DESC LIMIT 26;
\echo '== Q2 history, deep page (cursor 60 days back)'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE customer_id = 'BIG' AND (created_at, id) < (now() - interval '60 days', 'T99999999') ORDER BY created_at DESC, id DESC LIMIT 26;
\echo '== Q3 phone filter'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE customer_id = 'BIG' AND phone = (SELECT phone FROM transactions WHERE id = 'T00500001') ORDER BY created_at DESC, id DESC LIMIT 26;
\echo '== Q4 reference filter'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE customer_id = 'BIG' AND reference = 'REF-500001' ORDER BY created_at DESC, id DESC LIMIT 26;
\echo '== Q5 status REVIEW filter (rare)'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE customer_id = 'BIG' AND status = 'REVIEW' ORDER BY created_at DESC, id DESC LIMIT 26;
\echo '== Q6 date range (one day, 30 days ago)'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE customer_id = 'BIG' AND created_at >= now() - interval '31 days' AND created_at < now() - interval '30 days' ORDER BY created_at DESC, id DESC LIMIT 26;
\echo '== Q7 by id (reseller)'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE id = 'T00500001' AND customer_id = 'BIG';
-- Q8/Q9 (the volume chart) read the per-day rollup now: bench/dashboard/rollup.sql.
\echo '== Q10 REVIEW queue, all resellers, first page'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE status = 'REVIEW' ORDER BY created_at, id LIMIT 26;
\echo '== Q11 REVIEW queue of one reseller'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT :cols FROM transactions WHERE status = 'REVIEW' AND customer_id = 'BIG' ORDER BY created_at, id LIMIT 26;
\echo '== Q12 evidence of one transaction'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT attempt_no, upstream, upstream_reference, amount_sent, status, upstream_transaction_id, response_code, message, created_at, finished_at FROM attempts WHERE transaction_id = 'T00500007' ORDER BY attempt_no;
\echo '== Q13 audit log, all'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT id, customer_id, transaction_id, action, note, actor, created_at FROM audit_notes WHERE true ORDER BY id DESC LIMIT 26;
\echo '== Q14 audit log of one reseller, deep page'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT id, customer_id, transaction_id, action, note, actor, created_at FROM audit_notes WHERE true AND customer_id = 'MID' AND id < 150000 ORDER BY id DESC LIMIT 26;
\echo '== Q15 balance with held (customer read)'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT balance_usd, (SELECT COALESCE(sum(t.charged_usd), 0) FROM transactions t WHERE t.customer_id = customers.id AND t.processed_at IS NULL) AS held_usd FROM customers WHERE id = 'BIG';
\echo '== Q16 session lookup'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT user_kind, subject, csrf_token FROM dashboard_sessions WHERE id_hash = '\x00'::bytea AND revoked_at IS NULL AND expires_at > now();
