//! What a simulator remembers of the status enquiries it was asked, by reference: how
//! many, and how many began while another about the same reference was still being
//! answered. Several gateway instances share one resolver by claiming what they ask
//! about; two enquiries about one reference at once show that a claim did not hold.
//!
//! An enquiry is answered at once, so two at once would almost never be seen: `hold`
//! (set through the control API) keeps each one open that long before it is answered,
//! which makes an overlap visible whenever two instances ask within that window.

use super::history;
use hashlink::LruCache;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One reference's enquiries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// Enquiries that arrived (authenticated).
    pub enquiries: u64,
    /// Enquiries that began while another about the same reference was open.
    pub overlapping: u64,
    /// Being answered now.
    open: u32,
}

struct Inner {
    by_reference: LruCache<String, Asked>,
    hold: Duration,
}

#[derive(Clone)]
pub struct EnquiryLog {
    inner: Arc<Mutex<Inner>>,
}

impl Default for EnquiryLog {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                by_reference: history::history(),
                hold: Duration::ZERO,
            })),
        }
    }
}

/// An enquiry being answered; dropping it (answered, or the caller hung up) closes it.
pub struct Open {
    log: EnquiryLog,
    reference: String,
}

impl EnquiryLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("enquiry log")
    }

    /// Keep every enquiry open this long before it is answered.
    pub fn set_hold(&self, hold: Duration) {
        self.lock().hold = hold;
    }

    /// Count an enquiry about `reference` and hold it open; answer it while the returned
    /// guard lives.
    pub async fn enter(&self, reference: &str) -> Open {
        let hold = {
            let mut inner = self.lock();
            if inner.by_reference.peek(reference).is_none() {
                inner.by_reference.insert(reference.to_string(), Asked::default());
            }
            let asked = inner.by_reference.peek_mut(reference).expect("just inserted");
            asked.enquiries += 1;
            if asked.open > 0 {
                asked.overlapping += 1;
            }
            asked.open += 1;
            inner.hold
        };
        let open = Open {
            log: self.clone(),
            reference: reference.to_string(),
        };
        tokio::time::sleep(hold).await;
        open
    }

    /// Every reference asked about, with its counts.
    pub fn asked(&self) -> Vec<(String, Asked)> {
        self.lock()
            .by_reference
            .iter()
            .map(|(reference, asked)| (reference.clone(), *asked))
            .collect()
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(asked) = self.log.lock().by_reference.peek_mut(&self.reference) {
            asked.open = asked.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_enquiry_begun_while_another_is_open_is_counted_as_overlapping() {
        let log = EnquiryLog::default();
        let first = log.enter("A").await;
        let second = log.enter("A").await;
        drop((first, second));
        let _third = log.enter("A").await;
        let _other = log.enter("B").await;
        let mut asked = log.asked();
        asked.sort_by(|a, b| a.0.cmp(&b.0));
        let counts: Vec<_> = asked
            .iter()
            .map(|(r, a)| (r.as_str(), a.enquiries, a.overlapping))
            .collect();
        assert_eq!(counts, [("A", 3, 1), ("B", 1, 0)]);
    }
}
