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
    // Every table is keyed by customer (migrations 0027-0033): a new table or key that
    // breaks a rule fails here.
    let found = violations(&plan(&ddl), &schema(&pool, "public").await);
    assert_eq!(found, Vec::<String>::new(), "Citus would refuse these");

    if citus_installed(&pool).await {
        sqlx::query("CREATE EXTENSION citus").execute(&pool).await.unwrap();
        let ran = sqlx::raw_sql(&ddl).execute(&pool).await;
        assert!(ran.is_ok(), "Citus refuses what the paper check accepts: {ran:?}");
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
