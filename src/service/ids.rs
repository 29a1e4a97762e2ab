//! Transaction ids: "RLR" + epoch milliseconds + a 4-digit instance tag + a 6-digit
//! sequence. The tag is handed out by the database when the process starts (so the
//! instances of one deployment differ), the sequence counts within the process; two
//! ids can only clash if 10,000 instances started since one another are alive, or a
//! million ids were made in one millisecond. A clash is still caught by the primary key
//! and retried with a fresh id (`PurchaseService::submit`).

use crate::domain::clock::Clock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub struct TransactionIds {
    tag: u32,
    sequence: AtomicU32,
    clock: Arc<dyn Clock>,
}

impl TransactionIds {
    /// `tag` is reduced to four digits.
    pub fn new(tag: u64, clock: Arc<dyn Clock>) -> Self {
        Self {
            tag: (tag % 10_000) as u32,
            sequence: AtomicU32::new(0),
            clock,
        }
    }

    pub fn tag(&self) -> u32 {
        self.tag
    }

    pub fn next(&self) -> String {
        let millis = self.clock.now().timestamp_millis();
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) % 1_000_000;
        format!("RLR{millis}{:04}{seq:06}", self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::TransactionIds;
    use crate::domain::clock::SystemClock;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn transaction_ids_made_in_a_burst_are_all_different() {
        let ids = TransactionIds::new(10_042, Arc::new(SystemClock));
        let ids: Vec<String> = (0..200_000).map(|_| ids.next()).collect();
        assert!(
            ids.iter()
                .all(|id| id.starts_with("RLR") && id.len() == 26 && id[16..20] == *"0042"),
            "{}",
            ids[0]
        );
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    }
}
