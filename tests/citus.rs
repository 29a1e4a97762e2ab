//! The plan past one PostgreSQL (`sql/citus.sql`, docs/scaling.md) checked against the
//! live schema, on paper, by Citus's rules for distributed tables: Citus is not
//! installable on every machine, so its rules are read from `pg_catalog`; where the
//! extension is installed, the file is also run.

mod common;

use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

/// What `sql/citus.sql` makes of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Distributed on this column, co-located with `customers`.
    Distributed(String),
    Reference,
    /// Left on the coordinator.
    Local,
}

/// Every Citus call of the file: table → kind. A distributed table other than
/// `customers` must be co-located with it, or joins and foreign keys between them break.
fn plan(sql: &str) -> BTreeMap<String, Kind> {
    let mut plan = BTreeMap::new();
    for line in sql.lines().filter(|l| l.starts_with("SELECT ")) {
        // The quoted arguments, in order.
        let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
        let kind = if line.contains("create_distributed_table(") {
            let colocated = quoted.get(2).copied() == Some("customers") || quoted[0] == "customers";
            assert!(colocated, "{line}: not co-located with customers");
            Kind::Distributed(quoted[1].to_string())
        } else if line.contains("create_reference_table(") {
            Kind::Reference
        } else if line.contains("citus_add_local_table_to_metadata(") {
            Kind::Local
        } else {
            panic!("sql/citus.sql: unexpected statement {line}");
        };
        let named_before = plan.insert(quoted[0].to_string(), kind);
        assert!(named_before.is_none(), "{} is named twice", quoted[0]);
    }
    plan
}

/// A column: (number, NOT NULL, type).
type Column = (i16, bool, String);
/// A foreign key: (constraint, table, columns, referenced table, referenced columns).
type ForeignKey = (String, String, Vec<i16>, String, Vec<i16>);

struct Schema {
    /// table → column name → column.
    columns: BTreeMap<String, BTreeMap<String, Column>>,
    /// (table, index, key column numbers) of every primary key and unique index.
    unique: Vec<(String, String, Vec<i16>)>,
    foreign: Vec<ForeignKey>,
}

/// The tables of `namespace` (sqlx's own bookkeeping aside), as Citus's rules need them.
async fn schema(pool: &PgPool, namespace: &str) -> Schema {
    let rows: Vec<(String, String, i16, bool, String)> = sqlx::query_as(
        "SELECT c.relname::text, a.attname::text, a.attnum, a.attnotnull, format_type(a.atttypid, a.atttypmod)
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p')
           AND c.relname <> '_sqlx_migrations' AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(namespace)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut columns: BTreeMap<String, BTreeMap<String, Column>> = BTreeMap::new();
    for (table, column, number, not_null, kind) in rows {
        columns
            .entry(table)
            .or_default()
            .insert(column, (number, not_null, kind));
    }
    let unique = sqlx::query_as(
        "SELECT c.relname::text, x.relname::text,
                (string_to_array(i.indkey::text, ' ')::int2[])[1:i.indnkeyatts]
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
         WHERE i.indisunique AND c.relnamespace = $1::regnamespace AND c.relname <> '_sqlx_migrations'
         ORDER BY 2",
    )
    .bind(namespace)
    .fetch_all(pool)
    .await
    .unwrap();
    let foreign = sqlx::query_as(
        "SELECT k.conname::text, s.relname::text, k.conkey, d.relname::text, k.confkey
         FROM pg_constraint k JOIN pg_class s ON s.oid = k.conrelid JOIN pg_class d ON d.oid = k.confrelid
         WHERE k.contype = 'f' AND k.connamespace = $1::regnamespace
         ORDER BY 1",
    )
    .bind(namespace)
    .fetch_all(pool)
    .await
    .unwrap();
    Schema {
        columns,
        unique,
        foreign,
    }
}

/// What Citus would refuse in `plan` for `schema`, one line per problem.
fn violations(plan: &BTreeMap<String, Kind>, schema: &Schema) -> Vec<String> {
    let mut found = BTreeSet::new();
    let tables: BTreeSet<&String> = schema.columns.keys().collect();
    for table in &tables {
        if !plan.contains_key(*table) {
            found.insert(format!("{table}: not named in sql/citus.sql"));
        }
    }
    let customer_key = schema.columns.get("customers").and_then(|c| c.get("id")).map(|c| &c.2);
    // The distribution column of each distributed table, as a column number.
    let mut distribution: BTreeMap<&str, i16> = BTreeMap::new();
    for (table, kind) in plan {
        let Some(columns) = schema.columns.get(table) else {
            found.insert(format!("{table}: named in sql/citus.sql but not in the schema"));
            continue;
        };
        let Kind::Distributed(column) = kind else {
            continue;
        };
        match columns.get(column) {
            None => {
                found.insert(format!("{table}: no column {column}"));
            }
            Some((number, not_null, kind)) => {
                distribution.insert(table, *number);
                if !not_null {
                    found.insert(format!("{table}.{column}: may be NULL"));
                }
                if Some(kind) != customer_key {
                    found.insert(format!("{table}.{column}: type {kind}, not that of customers.id"));
                }
            }
        }
    }
    for (table, index, keys) in &schema.unique {
        if let (Some(number), Some(Kind::Distributed(column))) = (distribution.get(table.as_str()), plan.get(table)) {
            if !keys.contains(number) {
                found.insert(format!("{table}: unique index {index} lacks {column}"));
            }
        }
    }
    let kind_of = |table: &str| plan.get(table).cloned().unwrap_or(Kind::Local);
    for (name, table, keys, referenced, referenced_keys) in &schema.foreign {
        let problem = match (kind_of(table), kind_of(referenced)) {
            (Kind::Distributed(_), Kind::Distributed(_)) => {
                let pairs = distribution
                    .get(table.as_str())
                    .zip(distribution.get(referenced.as_str()))
                    .is_some_and(|(from, to)| keys.iter().zip(referenced_keys).any(|(k, r)| k == from && r == to));
                (!pairs).then_some("does not pair the distribution columns")
            }
            (Kind::Distributed(_) | Kind::Local, Kind::Reference) | (Kind::Reference, Kind::Reference) => None,
            (Kind::Local, Kind::Local) => None,
            (_, Kind::Distributed(_)) => Some("references a distributed table from a table that is not"),
            (Kind::Distributed(_) | Kind::Reference, Kind::Local) => Some("references a coordinator-local table"),
        };
        if let Some(problem) = problem {
            found.insert(format!("{table}: foreign key {name} to {referenced} {problem}"));
        }
    }
    found.into_iter().collect()
}

/// Whether the citus extension can be created here (installed and preloaded).
async fn citus_installed(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'citus')
                AND current_setting('shared_preload_libraries') LIKE '%citus%'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// What still keeps the schema from being distributed as `sql/citus.sql` says (issue
/// 24, docs/scaling.md): these keys and foreign keys need the customer id first. Each
/// line a migration fixes is taken off; a new table or key that breaks a rule fails here.
const STILL_VIOLATING: &[&str] = &[
    // The purchase and its money (the hot path).
    "transactions: unique index transactions_pkey lacks customer_id",
    // Ops and audit.
    "audit_notes.customer_id: may be NULL",
    "audit_notes: foreign key audit_notes_transaction_id_fkey to transactions does not pair the distribution columns",
    "audit_notes: unique index audit_notes_pkey lacks customer_id",
    "customers: unique index customers_reconcile_key lacks id",
    // Distributor sessions.
    "refresh_tokens: foreign key refresh_tokens_family_id_fkey to token_families does not pair the distribution columns",
    "refresh_tokens: unique index refresh_tokens_pkey lacks customer_id",
    "token_families: unique index token_families_pkey lacks customer_id",
];

async fn pool() -> PgPool {
    let url = common::fresh_database_url().await;
    recarga::store::connect(&url, 2, std::time::Duration::from_secs(5))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_schema_keeps_citus_rules_for_the_distribution_plan() {
    let pool = pool().await;
    let ddl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/citus.sql")).unwrap();
    let found = violations(&plan(&ddl), &schema(&pool, "public").await);
    let mut expected: Vec<&str> = STILL_VIOLATING.to_vec();
    expected.sort_unstable();
    assert_eq!(found, expected, "Citus would refuse these");

    if citus_installed(&pool).await {
        sqlx::query("CREATE EXTENSION citus").execute(&pool).await.unwrap();
        let ran = sqlx::raw_sql(&ddl).execute(&pool).await;
        assert_eq!(
            ran.is_ok(),
            found.is_empty(),
            "Citus and the paper check disagree: {ran:?}"
        );
    } else {
        eprintln!("citus is not installed here: sql/citus.sql checked on paper only");
    }
}

/// The checker itself: each rule, broken once in a schema of its own, is reported.
#[tokio::test]
async fn the_citus_check_reports_each_broken_rule() {
    let pool = pool().await;
    sqlx::raw_sql(
        "CREATE SCHEMA probe;
         CREATE TABLE probe.customers (id TEXT PRIMARY KEY);
         CREATE TABLE probe.orders (customer_id TEXT, id BIGINT UNIQUE, PRIMARY KEY (customer_id, id));
         CREATE TABLE probe.lines (customer_id TEXT NOT NULL, order_id BIGINT REFERENCES probe.orders (id));
         CREATE TABLE probe.notes (customer_id TEXT, counter INT);
         CREATE TABLE probe.counts (customer_id INT NOT NULL);
         CREATE TABLE probe.rates (id INT PRIMARY KEY, customer_id TEXT REFERENCES probe.customers);
         CREATE TABLE probe.loose (id INT PRIMARY KEY);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let plan = plan(
        "SELECT create_distributed_table('customers', 'id');
SELECT create_distributed_table('orders', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('lines', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('notes', 'customer_id', colocate_with => 'customers');
SELECT create_distributed_table('counts', 'customer_id', colocate_with => 'customers');
SELECT create_reference_table('rates');
SELECT create_reference_table('gone');",
    );
    assert_eq!(
        violations(&plan, &schema(&pool, "probe").await),
        [
            "counts.customer_id: type integer, not that of customers.id",
            "gone: named in sql/citus.sql but not in the schema",
            "lines: foreign key lines_order_id_fkey to orders does not pair the distribution columns",
            "loose: not named in sql/citus.sql",
            "notes.customer_id: may be NULL",
            "orders: unique index orders_id_key lacks customer_id",
            "rates: foreign key rates_customer_id_fkey to customers references a distributed table from a table that is not",
        ]
    );
}

/// The first migration that keys tables by customer; the ones from here on must keep
/// every row a database already holds, with its customer filled in.
const FIRST_KEYING_MIGRATION: i64 = 27;

/// A database migrated to just before the keying, for rows written the old way.
async fn pool_before_keying() -> PgPool {
    let url = common::unmigrated_database_url();
    recarga::store::ensure_database(&url).await.unwrap();
    let pool = recarga::store::connect(&url, 2, std::time::Duration::from_secs(5)).await.unwrap();

    let dir = std::env::temp_dir().join(format!("recarga-migrations-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let version: i64 = file[..4].parse().unwrap();
        if version < FIRST_KEYING_MIGRATION {
            std::fs::copy(&path, dir.join(&file)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap().run(&pool).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    pool
}

/// Rows of two resellers written before the keying migrations keep their data and gain
/// their customer; a purchase callback whose debit never committed (it names no
/// transaction) is the one row dropped.
#[tokio::test]
async fn keying_by_customer_keeps_the_rows_already_there() {
    let pool = pool_before_keying().await;
    sqlx::raw_sql(
        "INSERT INTO customers (id, name, balance_usd, api_key_hash, secret_key_hash, reconcile_key_hash)
         VALUES ('ANA', 'Ana', 90, 'a1', 'a2', 'a3'), ('BETO', 'Beto', 45, 'b1', 'b2', 'b3');
         INSERT INTO transactions (id, customer_id, channel, mode, product_id, phone, amount_local, currency,
             exchange_rate, cost_usd, commission_usd, charged_usd, business_day, status, upstream)
         VALUES ('T1', 'ANA', 'relier', 'sync', 'P', '525512345678', 100, 'MXN', 17, 5.88, 0, 5.88, '2026-11-30', 'SUCCESS', 'latcom'),
                ('T2', 'BETO', 'relier', 'sync', 'P', '27821234567', 50, 'ZAR', 18, 2.78, 0.05, 2.83, '2026-11-30', 'PROCESSING', 'smartcall');
         INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd)
         VALUES ('ANA', NULL, 'credit', 95.88, 95.88), ('ANA', 'T1', 'purchase', -5.88, 90),
                ('BETO', 'T2', 'purchase', -2.78, 45.05), ('BETO', 'T2', 'commission', -0.05, 45);
         INSERT INTO attempts (transaction_id, attempt_no, upstream, upstream_reference, upstream_product, amount_sent, status)
         VALUES ('T1', 1, 'latcom', 'T1-1', 'P', 100, 'SUCCESS'), ('T2', 1, 'smartcall', 'T2-1', 'P', 50, 'SENT');
         INSERT INTO purchase_callbacks (transaction_id, url)
         VALUES ('T2', 'https://beto.example/cb'), ('NEVER-DEBITED', 'https://ana.example/cb');",
    )
    .execute(&pool)
    .await
    .unwrap();

    recarga::store::migrate(&pool).await.unwrap();

    let attempts: Vec<(String, String, String)> =
        sqlx::query_as("SELECT transaction_id, customer_id, status FROM attempts ORDER BY transaction_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        attempts,
        [("T1", "ANA", "SUCCESS"), ("T2", "BETO", "SENT")].map(|(t, c, s)| (t.into(), c.into(), s.into()))
    );
    let callbacks: Vec<(String, String)> =
        sqlx::query_as("SELECT transaction_id, customer_id FROM purchase_callbacks")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(callbacks, [("T2".to_string(), "BETO".to_string())]);
    let ledger: Vec<(String, Option<String>, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT customer_id, transaction_id, amount_usd FROM ledger_entries ORDER BY customer_id, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(ledger.len(), 4);
    assert_eq!(ledger.iter().map(|l| l.2).sum::<rust_decimal::Decimal>(), rust_decimal::Decimal::new(8717, 2));
    // The keys now pair the customer: an attempt naming another reseller's purchase is refused.
    let crossed = sqlx::query(
        "INSERT INTO attempts (customer_id, transaction_id, attempt_no, upstream, upstream_reference,
             upstream_product, amount_sent, status)
         VALUES ('ANA', 'T2', 2, 'smartcall', 'T2-2', 'P', 50, 'SENT')",
    )
    .execute(&pool)
    .await;
    assert!(
        matches!(&crossed, Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503")),
        "{crossed:?}"
    );
}
