-- Distributing recarga's schema with Citus, by customer (docs/scaling.md, "Past one
-- PostgreSQL"). Run on the coordinator after the migrations, with the extension created:
--   CREATE EXTENSION citus;  \i sql/citus.sql
--
-- Every table is named here exactly once, and tests/citus.rs checks the schema against
-- Citus's rules for it: a distributed table's distribution column is NOT NULL and in
-- every primary key and unique index; a foreign key between distributed tables pairs
-- their distribution columns; distributed tables reference only reference tables, and
-- reference tables reference no distributed one. Where the citus extension is
-- installed, the test also runs this file.
--
-- Every money operation touches one customer's rows, so with every customer-keyed table
-- co-located with `customers`, each runs on one shard.

-- The customer and everything that grows with its traffic: co-located on the customer id.
SELECT create_distributed_table('customers', 'id');
SELECT create_distributed_table('transactions', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('ledger_entries', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('attempts', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('daily_usage', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('purchase_callbacks', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('audit_notes', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('token_families', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('refresh_tokens', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('invoices', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('invoice_totals', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('invoice_lines', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('webhook_endpoints', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('events', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('deliveries', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('notification_api_keys', 'account_id', colocate_with => 'customers');
SELECT create_distributed_table('notification_messages', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('notification_dedup', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('daily_volume', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('daily_latency', 'customer_id', colocate_with => 'customers');

-- Small tables read with every request or by ops, copied to every node.
SELECT create_reference_table('fx_rates');
SELECT create_reference_table('event_kinds');
SELECT create_reference_table('ops_users');
SELECT create_reference_table('ops_tokens');
SELECT create_reference_table('ops_reconcile_keys');
SELECT create_reference_table('dashboard_sessions');
SELECT create_reference_table('upstream_sessions');
SELECT create_reference_table('upstream_catalogues');
SELECT create_reference_table('notification_instances');
-- The business days the dashboard's rollup holds (one row a day).
SELECT create_reference_table('volume_days');

-- Kept on the coordinator: written by every request (a reference table would write to
-- every node) and unlogged.
SELECT citus_add_local_table_to_metadata('rate_limit_cells');
