-- EXPLAIN ANALYZE of the statements behind the volume chart, rates and latency
-- percentiles (store::volume, the rollup of migration 0024) for reseller BIG of
-- seed_1m.sql and for every reseller, over 7, 30 and 90 business days. First roll up
-- the closed days as the job does (or let `recarga serve` do it), in the business time zone:
--   psql -d <db> -c "SELECT recarga_volume_roll_up(d::date, (d::date::timestamp AT TIME ZONE 'America/Mexico_City') - interval '1 hour',
--                    (d::date::timestamp AT TIME ZONE 'America/Mexico_City') + interval '25 hours')
--                    FROM generate_series(current_date - 91, current_date - 1, interval '1 day') d"
--   psql -d <db> -v days=30 -f bench/dashboard/rollup.sql
\pset pager off
-- As store::volume runs them: without JIT (compiling the plan costs more than running it).
SET jit = off;
\set days_cte 'WITH days AS (SELECT d::date AS day, (d::date::timestamp AT TIME ZONE ''America/Mexico_City'') - interval ''1 hour'' AS from_at, (d::date::timestamp AT TIME ZONE ''America/Mexico_City'') + interval ''25 hours'' AS to_at FROM generate_series(current_date - (:days - 1), current_date, interval ''1 day'') d), rolled AS (SELECT day FROM days WHERE EXISTS (SELECT 1 FROM volume_days v WHERE v.business_day = days.day))'
\echo '== volume by day, BIG,' :days 'days'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) :days_cte
SELECT business_day AS day, currency, status, sum(count)::bigint AS count, sum(amount_local) AS amount_local, sum(charged_usd) AS charged_usd FROM (
  SELECT r.* FROM daily_volume r WHERE r.business_day IN (SELECT day FROM rolled) AND r.customer_id = 'BIG'
  UNION ALL SELECT c.id, d.day, l.* FROM days d CROSS JOIN customers c CROSS JOIN LATERAL recarga_day_volume(c.id, d.day, d.from_at, d.to_at) l
  WHERE d.day NOT IN (SELECT day FROM rolled) AND c.id = 'BIG') x GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
\echo '== latency buckets, BIG,' :days 'days'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) :days_cte
SELECT le_ms, sum(count)::bigint AS count FROM (
  SELECT r.* FROM daily_latency r WHERE r.business_day IN (SELECT day FROM rolled) AND r.customer_id = 'BIG'
  UNION ALL SELECT c.id, d.day, l.* FROM days d CROSS JOIN customers c CROSS JOIN LATERAL recarga_day_latency(c.id, d.day, d.from_at, d.to_at) l
  WHERE d.day NOT IN (SELECT day FROM rolled) AND c.id = 'BIG') x GROUP BY 1 ORDER BY 1;
\echo '== volume by day, every reseller,' :days 'days'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) :days_cte
SELECT business_day AS day, currency, status, sum(count)::bigint AS count, sum(amount_local) AS amount_local, sum(charged_usd) AS charged_usd FROM (
  SELECT r.* FROM daily_volume r WHERE r.business_day IN (SELECT day FROM rolled)
  UNION ALL SELECT c.id, d.day, l.* FROM days d CROSS JOIN customers c CROSS JOIN LATERAL recarga_day_volume(c.id, d.day, d.from_at, d.to_at) l
  WHERE d.day NOT IN (SELECT day FROM rolled)) x GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
\echo '== latency buckets, every reseller,' :days 'days'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) :days_cte
SELECT le_ms, sum(count)::bigint AS count FROM (
  SELECT r.* FROM daily_latency r WHERE r.business_day IN (SELECT day FROM rolled)
  UNION ALL SELECT c.id, d.day, l.* FROM days d CROSS JOIN customers c CROSS JOIN LATERAL recarga_day_latency(c.id, d.day, d.from_at, d.to_at) l
  WHERE d.day NOT IN (SELECT day FROM rolled)) x GROUP BY 1 ORDER BY 1;
\echo '== recent attempts (ops overview)'
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) SELECT upstream, status, count(*) AS count
  FROM (SELECT upstream, status, created_at FROM attempts ORDER BY id DESC LIMIT 20000) a
  WHERE created_at >= now() - interval '15 minutes' GROUP BY 1, 2 ORDER BY 1, 2;
