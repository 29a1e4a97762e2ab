//! The ledger's face in Rust: installs `sql/ledger.sql` (every operation that moves a
//! balance is a SQL function there), checks the database against it, and names the
//! enums its functions answer with. The callers live beside their tables
//! (`transactions`, `customers`); none of them writes a balance or an entry itself.

use super::StoreError;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

/// The canonical source of the ledger's functions and types.
pub const LEDGER_SQL: &str = include_str!("../../sql/ledger.sql");

/// Serialises installs (and checks) between instances starting at once: two concurrent
/// CREATE OR REPLACE of one function can fail with "tuple concurrently updated".
const INSTALL_LOCK: i64 = 0x0072_6563_6172_6761; // "recarga" in ASCII

/// The scratch schema a check installs the file into, inside a rolled-back savepoint.
const SCRATCH: &str = "recarga_ledger_canonical";

/// What `recarga_debit` answered for one purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "recarga_debit_outcome", rename_all = "snake_case")]
pub enum DebitOutcome {
    Created,
    /// The reference was used before: the caller reads the original.
    Duplicate,
    /// The transaction id exists and the reference was not used: retry with a fresh id.
    IdTaken,
    Insufficient,
    Inactive,
    DailyLimit,
}

/// What a credit or an adjustment (`recarga_post`) answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "recarga_posting_outcome", rename_all = "snake_case")]
pub enum PostingOutcome {
    Posted,
    CustomerNotFound,
    InvalidAmount,
    NoteRequired,
    BelowZero,
}

/// What a settlement (failure or REVIEW) answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "recarga_settlement", rename_all = "snake_case")]
pub enum Settlement {
    Settled,
    NotFound,
    /// Not in a state this settlement applies to (already final, or not in REVIEW).
    WrongStatus,
    NoteRequired,
}

/// What the upstream confirmed for a transaction in REVIEW.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "recarga_review_verdict", rename_all = "snake_case")]
pub enum ReviewVerdict {
    Success,
    Failed,
}

impl ReviewVerdict {
    /// The verdict as ops write it (`success` or `failed`), wherever they settle.
    pub fn parse(outcome: &str) -> Option<Self> {
        match outcome {
            "success" => Some(Self::Success),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Install the canonical file (after the migrations), then refuse to go on if the
/// database still differs from it: a type the file changed, or a function it no longer
/// defines, needs a forward migration first (see the file's header).
pub async fn install(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    sqlx::raw_sql(LEDGER_SQL).execute(&mut *tx).await?;
    let drift = drift_in(&mut tx).await?;
    if !drift.is_empty() {
        return Err(StoreError::LedgerDrift(drift));
    }
    tx.commit().await?;
    Ok(())
}

/// How the installed ledger differs from `sql/ledger.sql`, one line per difference;
/// empty when they agree. Writes nothing.
pub async fn drift(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let drift = drift_in(&mut tx).await?;
    tx.rollback().await?;
    Ok(drift)
}

async fn lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INSTALL_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// Install the file into a scratch schema, inside a savepoint that is rolled back, and
/// compare each function and type it creates with the installed one of the same name.
/// The installed side is every `recarga_*` function or type, plus any function whose
/// body touches a balance, an entry or a daily limit, so that nothing balance-moving
/// outside the file goes unnoticed.
async fn drift_in(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    use sqlx::Connection;
    let mut scratch = conn.begin().await?;
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA {SCRATCH}; SET LOCAL search_path = {SCRATCH}, public"
    ))
    .execute(&mut *scratch)
    .await?;
    sqlx::raw_sql(LEDGER_SQL).execute(&mut *scratch).await?;
    let canonical = definitions(&mut scratch, SCRATCH, "true").await?;
    // Under `public` alone, installed definitions name their types unqualified, as the
    // scratch ones do under the search path above.
    sqlx::raw_sql("SET LOCAL search_path = public")
        .execute(&mut *scratch)
        .await?;
    let installed = definitions(
        &mut scratch,
        "public",
        r"name LIKE 'recarga\_%' OR body ~ '(balance_usd|ledger_entries|daily_usage)'",
    )
    .await?;
    scratch.rollback().await?;

    let mut drift = Vec::new();
    for (name, definition) in &canonical {
        match installed.get(name) {
            None => drift.push(format!("{name} is in sql/ledger.sql but not installed")),
            Some(d) if d != definition => drift.push(format!(
                "{name} differs: installed {d:?}, sql/ledger.sql {definition:?}"
            )),
            Some(_) => {}
        }
    }
    for name in installed.keys().filter(|n| !canonical.contains_key(*n)) {
        drift.push(format!("{name} is installed but not in sql/ledger.sql"));
    }
    Ok(drift)
}

/// Functions and types of `schema` (those matching `filter`, over `name` and `body`)
/// by signature, each with its full definition minus the schema's name.
async fn definitions(
    conn: &mut PgConnection,
    schema: &str,
    filter: &str,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT signature, definition FROM (
             SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
                    replace(pg_get_functiondef(p.oid), 'FUNCTION ' || quote_ident($1) || '.', 'FUNCTION ') AS definition,
                    p.proname::text AS name, p.prosrc AS body
             FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
             UNION ALL
             SELECT 'type ' || t.typname,
                    CASE t.typtype
                        WHEN 'e' THEN 'ENUM (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                                   FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
                        ELSE '(' || (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod),
                                                       ', ' ORDER BY a.attnum)
                                     FROM pg_attribute a
                                     WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || ')'
                    END,
                    t.typname::text, ''
             FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
             WHERE t.typnamespace = $1::regnamespace AND (t.typtype = 'e' OR c.relkind = 'c')
         ) d WHERE {filter}"
    ))
    .bind(schema)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Balance before and after a purchase's debit, read back from its entries.
pub async fn debit_balances(pool: &PgPool, transaction_id: &str) -> Result<Option<(Decimal, Decimal)>, sqlx::Error> {
    let row: Option<(Decimal, Decimal)> = sqlx::query_as(
        "SELECT min(balance_after_usd) - sum(amount_usd), min(balance_after_usd)
         FROM ledger_entries WHERE transaction_id = $1 AND amount_usd < 0 HAVING count(*) > 0",
    )
    .bind(transaction_id)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}
