//! What a simulator remembers of the requests it was sent: the latest ones only, so that a
//! sandbox left running for weeks holds a bounded amount of memory.

use hashlink::LruCache;
use std::hash::Hash;

/// Top-ups a simulator remembers, each in a record of a couple of hundred bytes (some
/// 50 MB in all). The oldest are forgotten first, and a status lookup for a forgotten one
/// answers as for an id never seen. At the benchmark's 3,000 top-ups/s that is over a
/// minute of history, more than the resolver's 30 s before it asks; in an integrator's
/// sandbox, weeks.
pub const REMEMBERED: usize = 250_000;

/// A request a simulator remembers, as an audit of its deliveries sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seen {
    /// Our reference, as the request carried it.
    pub reference: String,
    /// How many requests arrived under it (a second one is refused or answered as the first).
    pub arrivals: u64,
    /// Delivered by now (settled as delivered, for a pending one).
    pub delivered: bool,
}

/// An empty history that keeps the latest [`REMEMBERED`] entries. Read it with `peek` and
/// `peek_mut`, which leave the order alone, so that the oldest entry is the first forgotten.
pub fn history<K: Hash + Eq, V>() -> LruCache<K, V> {
    LruCache::new(REMEMBERED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_entries_and_forgets_the_oldest_first() {
        let mut h = history::<u64, u64>();
        for n in 0..REMEMBERED as u64 {
            h.insert(n, n);
        }
        // Reading the oldest entry does not save it.
        assert_eq!(h.peek(&0), Some(&0));
        *h.peek_mut(&1).expect("remembered") += 1;
        h.insert(REMEMBERED as u64, 0);
        h.insert(REMEMBERED as u64 + 1, 0);
        assert_eq!(h.len(), REMEMBERED);
        assert!(h.peek(&0).is_none() && h.peek(&1).is_none());
        assert_eq!(h.peek(&2), Some(&2));
        assert_eq!(h.peek(&(REMEMBERED as u64 + 1)), Some(&0));
    }
}
