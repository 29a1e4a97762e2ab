//! Ledger entries: append-only, one per balance change, same transaction as the change.

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};

pub async fn append(
    conn: &mut PgConnection,
    customer_id: &str,
    transaction_id: Option<&str>,
    kind: &str,
    amount_usd: Decimal,
    balance_after_usd: Decimal,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ledger_entries (customer_id, transaction_id, kind, amount_usd, balance_after_usd, note)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(customer_id)
    .bind(transaction_id)
    .bind(kind)
    .bind(amount_usd)
    .bind(balance_after_usd)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
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

/// One customer's ledger check: (balance, sum of entries).
pub async fn balance_and_sum(pool: &PgPool, customer_id: &str) -> Result<(Decimal, Decimal), sqlx::Error> {
    sqlx::query_as(
        "SELECT c.balance_usd, COALESCE((SELECT sum(amount_usd) FROM ledger_entries e WHERE e.customer_id = c.id), 0)
         FROM customers c WHERE c.id = $1",
    )
    .bind(customer_id)
    .fetch_one(pool)
    .await
}
