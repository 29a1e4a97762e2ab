//! The figures a chaos run prints at its end (`cargo test -- --nocapture` shows them).

use crate::invariants::Verdict;
use crate::load::LoadFigures;
use rust_decimal::Decimal;
use std::sync::atomic::{AtomicU64, Ordering};

fn n(c: &AtomicU64) -> u64 {
    c.load(Ordering::SeqCst)
}

pub fn load(figures: &LoadFigures) {
    println!(
        "purchases sent {} (sync {}, async {}, distributor {}); requests {}; retries {}; sent twice {} ({} answered with two transactions); answered without a transaction {}; unanswered {}",
        n(&figures.purchases),
        n(&figures.sync),
        n(&figures.async_),
        n(&figures.distributor),
        n(&figures.requests),
        n(&figures.retries),
        n(&figures.replays),
        n(&figures.replay_mismatches),
        n(&figures.without_transaction),
        n(&figures.unanswered)
    );
}

pub fn verdict(verdict: &Verdict) {
    println!("transactions by status: {:?}", verdict.by_status);
    println!(
        "delivered but in REVIEW (verdict unknown to us within the window; charge held for ops): {:?}",
        verdict.delivered_in_review
    );
    for (reason, n) in &verdict.failure_reasons {
        println!("FAILED {n}: {reason}");
    }
    for (reason, n) in &verdict.review_reasons {
        println!("REVIEW {n}: {reason}");
    }
    for (upstream, (delivered, resent)) in &verdict.delivered {
        println!("{upstream}: {delivered} delivered; {resent} references arrived more than once (refused or answered as the first)");
    }
    let total: Decimal = verdict.balances.iter().map(|(_, b)| *b).sum();
    println!("balances (credits minus charges, to the cent): total {total}");
}
