//! The chaos suite's verdict, checked after the settling window against the database and
//! what each simulator says it delivered:
//! - every delivery names an attempt of ours, whose transaction is SUCCESS, and no
//!   transaction was delivered twice (under two references, by two upstreams);
//! - every SUCCESS was delivered;
//! - no client reference made two transactions;
//! - each balance equals the credits minus the successful charges (minus what REVIEW
//!   holds), to the cent, and the sum of its ledger entries;
//! - nothing is PENDING or PROCESSING; REVIEW is counted with its reasons;
//! - daily usage equals the transactions it counts.

use crate::common::assert_ledger_invariants;
use recarga::sandbox::history::Seen;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};

/// What the simulators remember, by upstream id as the attempts name it.
pub type Deliveries = Vec<(&'static str, Vec<Seen>)>;

#[derive(Debug, Default)]
pub struct Verdict {
    pub by_status: BTreeMap<String, i64>,
    /// "upstream: reason" → how many.
    pub review_reasons: BTreeMap<String, i64>,
    /// The commonest reasons of FAILED, most frequent first.
    pub failure_reasons: Vec<(String, i64)>,
    /// Per upstream: deliveries, and references that arrived more than once.
    pub delivered: BTreeMap<&'static str, (usize, usize)>,
    pub balances: Vec<(String, Decimal)>,
    /// Delivered by the upstream, but in REVIEW: its verdict never reached us (enquiries
    /// failed, the webhook was lost) within the test's short REVIEW window. The charge is
    /// held, not refunded; ops settle it as delivered.
    pub delivered_in_review: Vec<String>,
}

/// Check every invariant (panicking with the evidence) and return the figures.
pub async fn check(pool: &PgPool, deliveries: &Deliveries, credited: &HashMap<String, Decimal>) -> Verdict {
    let mut verdict = Verdict::default();
    let statuses: Vec<(String, i64)> = sqlx::query_as("SELECT status, count(*) FROM transactions GROUP BY status")
        .fetch_all(pool)
        .await
        .unwrap();
    verdict.by_status = statuses.into_iter().collect();
    let open: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, status, failure_reason FROM transactions WHERE status IN ('PENDING', 'PROCESSING') ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(open.is_empty(), "not final after the settling window: {open:?}");
    // By the upstream of the last attempt (the one that could not say what became of
    // it), and the reason without the URL asked.
    let reasons: Vec<(Option<String>, Option<String>, i64)> = sqlx::query_as(
        "SELECT a.upstream, regexp_replace(t.failure_reason, ' \\(http[^)]*\\)', ''), count(*) FROM transactions t
         LEFT JOIN LATERAL (SELECT upstream FROM attempts WHERE transaction_id = t.id
                            ORDER BY attempt_no DESC LIMIT 1) a ON true
         WHERE t.status = 'REVIEW' GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    verdict.review_reasons = reasons
        .into_iter()
        .map(|(upstream, reason, n)| {
            let upstream = upstream.unwrap_or_else(|| "no attempt".into());
            (
                format!(
                    "{upstream}: {}",
                    reason.unwrap_or_else(|| "(no reason recorded)".into())
                ),
                n,
            )
        })
        .collect();

    verdict.failure_reasons = sqlx::query_as(
        "SELECT COALESCE(failure_reason, '(none)'), count(*) FROM transactions WHERE status = 'FAILED'
         GROUP BY 1 ORDER BY 2 DESC LIMIT 8",
    )
    .fetch_all(pool)
    .await
    .unwrap();

    check_deliveries(pool, deliveries, &mut verdict).await;

    let twice: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT customer_id, reference, count(*) FROM transactions WHERE reference IS NOT NULL
         GROUP BY customer_id, reference HAVING count(*) > 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        twice.is_empty(),
        "client references with several transactions: {twice:?}"
    );

    let balances: Vec<(String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT c.id, c.balance_usd, COALESCE(sum(t.charged_usd) FILTER (WHERE t.status IN ('SUCCESS', 'REVIEW')), 0)
         FROM customers c LEFT JOIN transactions t ON t.customer_id = c.id GROUP BY c.id, c.balance_usd ORDER BY c.id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (customer, balance, charged) in balances {
        let credits = credited[&customer];
        assert_eq!(
            balance,
            credits - charged,
            "{customer}: balance is not credits {credits} minus successful (and held) charges {charged}"
        );
        verdict.balances.push((customer, balance));
    }
    assert_ledger_invariants(pool).await;
    verdict
}

async fn check_deliveries(pool: &PgPool, deliveries: &Deliveries, verdict: &mut Verdict) {
    let attempts: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT a.upstream, a.upstream_reference, a.transaction_id, t.status
         FROM attempts a JOIN transactions t ON t.id = a.transaction_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let attempts: HashMap<(String, String), (String, String)> = attempts
        .into_iter()
        .map(|(upstream, reference, txn, status)| ((upstream, reference), (txn, status)))
        .collect();
    // Transaction → the (upstream, reference) that delivered it.
    let mut delivered: HashMap<String, (&str, &str)> = HashMap::new();
    for (upstream, seen) in deliveries {
        let mut count = (0, 0);
        for s in seen {
            if s.arrivals > 1 {
                count.1 += 1;
            }
            if !s.delivered {
                continue;
            }
            count.0 += 1;
            let Some((txn, status)) = attempts.get(&(upstream.to_string(), s.reference.clone())) else {
                panic!("{upstream} delivered {}, which no attempt of ours names", s.reference);
            };
            match status.as_str() {
                "SUCCESS" => {}
                "REVIEW" => verdict.delivered_in_review.push(txn.clone()),
                other => panic!("{upstream} delivered {} but {txn} is {other}", s.reference),
            }
            if let Some(earlier) = delivered.insert(txn.clone(), (upstream, &s.reference)) {
                panic!("{txn} delivered twice: {earlier:?} and ({upstream}, {})", s.reference);
            }
        }
        verdict.delivered.insert(upstream, count);
    }
    let successes: Vec<String> = sqlx::query_scalar("SELECT id FROM transactions WHERE status = 'SUCCESS'")
        .fetch_all(pool)
        .await
        .unwrap();
    let undelivered: Vec<&String> = successes.iter().filter(|id| !delivered.contains_key(*id)).collect();
    assert!(undelivered.is_empty(), "SUCCESS without a delivery: {undelivered:?}");
}
