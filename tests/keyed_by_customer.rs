//! The migrations that key tables by customer (docs/scaling.md, "Past one PostgreSQL")
//! run on a database that already has rows: the schema as a deployment had it before
//! the migration, some rows, then every migration.

mod common;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, Migrator};
use sqlx::PgPool;
use std::path::Path;

/// The migrations before `0`: the schema of a deployment not upgraded yet.
#[derive(Debug)]
struct Before(i64);

impl MigrationSource<'static> for Before {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            let all = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
                .resolve()
                .await?;
            Ok(all.into_iter().filter(|m| m.version < self.0).collect())
        })
    }
}

/// Two resellers, A and B (reconcile key hashes 0x0a and 0x0b), as every version has them.
const RESELLERS: &str = "INSERT INTO customers (id, name, api_key_hash, secret_key_hash, reconcile_key_hash)
    VALUES ('A', 'a', '\\x01', '\\x01', '\\x0a'), ('B', 'b', '\\x02', '\\x02', '\\x0b')";

/// A database migrated up to (not including) `version`, holding `RESELLERS` and `seed`.
async fn database_before(version: i64, seed: &str) -> PgPool {
    let url = common::unmigrated_database_url();
    recarga::store::ensure_database(&url).await.unwrap();
    let pool = recarga::store::connect(&url, 2, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    Migrator::new(Before(version)).await.unwrap().run(&pool).await.unwrap();
    sqlx::raw_sql(RESELLERS).execute(&pool).await.unwrap();
    sqlx::raw_sql(seed).execute(&pool).await.unwrap();
    pool
}

#[tokio::test]
async fn migration_0028_keys_issued_invoices_events_and_deliveries_by_customer() {
    let pool = database_before(
        28,
        "INSERT INTO transactions (id, customer_id, channel, mode, product_id, phone, amount_local, currency,
             exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, processed_at)
             SELECT c || n, c, 'api', 'sync', 'p', '5512345678', 100, 'MXN', 20, 5, 0, 5, '2025-10-02', 'SUCCESS',
                    '2025-10-02'
             FROM unnest(ARRAY['A', 'B']) c, generate_series(1, 2) n;
         INSERT INTO invoices (number, customer_id, period_start, period_end, transactions, cost_usd,
             commission_usd, total_usd)
             SELECT 'INV-202510-' || c, c, '2025-10-01', '2025-10-31', 2, 10, 0, 10 FROM unnest(ARRAY['A', 'B']) c;
         INSERT INTO invoice_lines (invoice_number, transaction_id, product_id, phone, amount_local, currency,
             exchange_rate, cost_usd, commission_usd, charged_usd, settled_at)
             SELECT 'INV-202510-' || customer_id, id, product_id, phone, amount_local, currency, exchange_rate,
                    cost_usd, commission_usd, charged_usd, processed_at
             FROM transactions;
         INSERT INTO invoice_totals (invoice_number, currency, transactions, amount_local, cost_usd,
             commission_usd, total_usd, average_rate)
             SELECT invoice_number, currency, count(*), sum(amount_local), sum(cost_usd), sum(commission_usd),
                    sum(charged_usd), 20
             FROM invoice_lines GROUP BY 1, 2;
         INSERT INTO events (customer_id, kind, transaction_id)
             SELECT customer_id, 'transaction.succeeded', id FROM transactions;
         INSERT INTO events (customer_id, kind) VALUES ('A', 'balance.low');
         INSERT INTO deliveries (event_id, customer_id, target, url)
             SELECT id, customer_id, 'webhook', 'http://127.0.0.1:9/' FROM events;",
    )
    .await;
    recarga::store::migrate(&pool).await.unwrap();

    // Every issued total and line names its invoice's reseller, and is still read by it.
    let keyed: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT i.customer_id,
                (SELECT count(*) FROM invoice_lines l WHERE l.customer_id = i.customer_id AND l.invoice_number = i.number),
                (SELECT count(*) FROM invoice_totals t WHERE t.customer_id = i.customer_id AND t.invoice_number = i.number)
         FROM invoices i ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(keyed, [("A".into(), 2, 1), ("B".into(), 2, 1)]);
    let a = recarga::store::invoices::lines(&pool, "A", "INV-202510-A")
        .await
        .unwrap();
    assert_eq!(
        a.iter().map(|l| l.transaction_id.as_str()).collect::<Vec<_>>(),
        ["A1", "A2"]
    );
    // Each reseller's deliveries, with the event each is about (paired on the customer).
    let deliveries = recarga::store::webhooks::deliveries_for(&pool, "A", None, 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["balance.low", "transaction.succeeded", "transaction.succeeded"]);
}

/// Rows of two resellers written before migration 0032 keep their data and gain
/// their customer; a purchase callback whose debit never committed (it names no
/// transaction) is the one row dropped.
#[tokio::test]
async fn migration_0032_keys_attempts_ledger_entries_and_callbacks_by_customer() {
    let pool = database_before(
        32,
        "INSERT INTO transactions (id, customer_id, channel, mode, product_id, phone, amount_local, currency,
             exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, upstream)
         VALUES ('T1', 'A', 'relier', 'sync', 'P', '525512345678', 100, 'MXN', 17, 5.88, 0, 5.88, '2026-11-30', 'SUCCESS', 'latcom'),
                ('T2', 'B', 'relier', 'sync', 'P', '27821234567', 50, 'ZAR', 18, 2.78, 0.05, 2.83, '2026-11-30', 'PROCESSING', 'smartcall');
         INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
         VALUES ('A', NULL, 'credit', 95.88, 95.88), ('A', 'T1', 'purchase', -5.88, 90),
                ('B', 'T2', 'purchase', -2.78, 45.05), ('B', 'T2', 'commission', -0.05, 45);
         INSERT INTO attempts (transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status)
         VALUES ('T1', 1, 'latcom', 'T1-1', 'P', 100, 'SUCCESS'), ('T2', 1, 'smartcall', 'T2-1', 'P', 50, 'SENT');
         INSERT INTO purchase_callbacks (transaction_id, url)
         VALUES ('T2', 'https://beto.example/cb'), ('NEVER-DEBITED', 'https://ana.example/cb');",
    )
    .await;

    recarga::store::migrate(&pool).await.unwrap();

    let attempts: Vec<(String, String, String)> =
        sqlx::query_as("SELECT transaction_id, customer_id, status FROM attempts ORDER BY transaction_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        attempts,
        [("T1", "A", "SUCCESS"), ("T2", "B", "SENT")].map(|(t, c, s)| (t.into(), c.into(), s.into()))
    );
    let callbacks: Vec<(String, String)> = sqlx::query_as("SELECT transaction_id, customer_id FROM purchase_callbacks")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(callbacks, [("T2".to_string(), "B".to_string())]);
    let ledger: Vec<(String, Option<String>, rust_decimal::Decimal)> =
        sqlx::query_as("SELECT customer_id, transaction_id, amount_usd FROM ledger_entries ORDER BY customer_id, id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ledger.len(), 4);
    assert_eq!(
        ledger.iter().map(|l| l.2).sum::<rust_decimal::Decimal>(),
        rust_decimal::Decimal::new(8717, 2)
    );
    // The keys now pair the customer: an attempt naming another reseller's purchase is refused.
    let crossed = sqlx::query(
        "INSERT INTO attempts (customer_id, transaction_id, attempt_no, upstream, upstream_reference,
             upstream_product, amount_sent, status)
         VALUES ('A', 'T2', 2, 'smartcall', 'T2-2', 'P', 50, 'SENT')",
    )
    .execute(&pool)
    .await;
    assert!(
        matches!(&crossed, Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503")),
        "{crossed:?}"
    );
}

/// Before migration 0029: a note of A's, a REVIEW settlement note naming only its
/// transaction (B's), and a distributor session of A's. Each ends up keyed by its
/// reseller, and a refresh token is still found by its hash alone.
#[tokio::test]
async fn migration_0029_keys_audit_notes_and_distributor_sessions_by_customer() {
    let pool = database_before(
        29,
        "INSERT INTO transactions (id, customer_id, channel, mode, product_id, phone, amount_local, currency,
             exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status)
             VALUES ('B1', 'B', 'api', 'sync', 'p', '5512345678', 100, 'MXN', 20, 5, 0, 5, '2025-10-02', 'SUCCESS');
         INSERT INTO audit_notes (customer_id, transaction_id, action, note)
             VALUES ('A', NULL, 'credit', '10 USD'), (NULL, 'B1', 'review_settled', 'delivered');
         INSERT INTO token_families (id, customer_id) VALUES ('00000000-0000-0000-0000-0000000000a1', 'A');
         INSERT INTO refresh_tokens (token_hash, family_id, customer_id, expires_at)
             VALUES ('\\xaa', '00000000-0000-0000-0000-0000000000a1', 'A', now() + interval '1 day');",
    )
    .await;
    recarga::store::migrate(&pool).await.unwrap();

    let notes: Vec<(String, String)> = sqlx::query_as("SELECT customer_id, action FROM audit_notes ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        notes,
        [("A".into(), "credit".into()), ("B".into(), "review_settled".into())]
    );
    let found: Option<String> = sqlx::query_scalar("SELECT customer_id FROM refresh_tokens WHERE token_hash = '\\xaa'")
        .fetch_optional(&pool)
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("A"));
    let reseller: Option<String> = recarga::store::reconcile::customer_by_key_hash(&pool, b"\x0b")
        .await
        .unwrap();
    assert_eq!(reseller.as_deref(), Some("B"));
}

/// A note that names no reseller and no transaction was written by hand (no writer makes
/// one): migration 0029 stops on it, saying what to do, rather than guess or drop it.
#[tokio::test]
async fn migration_0029_stops_on_an_audit_note_that_names_no_reseller() {
    let pool = database_before(
        29,
        "INSERT INTO audit_notes (customer_id, transaction_id, action, note) VALUES (NULL, NULL, 'memo', 'by hand');",
    )
    .await;
    // As `recarga serve` prints it at start-up: the error and its causes.
    let refused = format!(
        "{:#}",
        anyhow::Error::from(recarga::store::migrate(&pool).await.unwrap_err())
    );
    assert!(refused.contains("1 notes name no reseller"), "{refused}");
}

/// Before migration 0030: a billing system's message through A's own instance (no
/// reseller named), and recarga's notice to B through recarga's instance, each with its
/// de-duplication row. Each message and row ends up keyed by its customer.
#[tokio::test]
async fn migration_0030_keys_notification_messages_and_dedup_by_customer() {
    let pool = database_before(
        30,
        "INSERT INTO notification_instances (id, account_id, name, evolution_instance)
             VALUES ('00000000-0000-0000-0000-00000000000a', 'A', 'billing', 'a-billing'),
                    ('00000000-0000-0000-0000-00000000000f', NULL, 'recarga', 'recarga');
         INSERT INTO notification_messages (id, instance_id, phone_number, customer_name, message_type, invoice_id,
             amount, currency, body, reseller_id, status)
             VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a', '5215512345678',
                     'Cliente', 'payment_reminder', 'INV-1', 10, 'MXN', 'hola', NULL, 'sent'),
                    ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-00000000000f', '27821234567',
                     'b', 'low_balance', 'LOW-BALANCE-2025-10-02', 3, 'USD', 'low', 'B', 'queued');
         INSERT INTO notification_dedup (instance_id, invoice_id, message_type, message_id)
             SELECT instance_id, invoice_id, message_type, id FROM notification_messages;",
    )
    .await;
    recarga::store::migrate(&pool).await.unwrap();

    let messages: Vec<(String, String)> =
        sqlx::query_as("SELECT customer_id, invoice_id FROM notification_messages ORDER BY customer_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        messages,
        [
            ("A".into(), "INV-1".into()),
            ("B".into(), "LOW-BALANCE-2025-10-02".into())
        ]
    );
    let dedup: Vec<(String, String)> =
        sqlx::query_as("SELECT customer_id, invoice_id FROM notification_dedup ORDER BY customer_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(dedup, messages);
}
