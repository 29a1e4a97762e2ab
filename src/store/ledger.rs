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
