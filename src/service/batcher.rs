//! Group concurrent requests into one database round trip and one commit.
//!
//! Each shard runs one batch at a time; whatever queued up while the previous batch ran
//! goes into the next, so an idle shard runs a lone request at once (no added latency)
//! and a busy one amortises its round trip and WAL flush over many. Items with the same
//! key always land in the same shard, so two batches never wait on each other's rows.

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Queued<I, O> = (I, oneshot::Sender<O>);

pub struct Batcher<I, O> {
    shards: Vec<mpsc::Sender<Queued<I, O>>>,
}

/// The batcher's workers have stopped (the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("batch worker stopped")]
pub struct Stopped;

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Start `shards` workers, each handing up to `max_batch` items at a time to `run`,
    /// which must answer one output per item, in order.
    pub fn start<F, Fut>(shards: usize, max_batch: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send,
    {
        let run = Arc::new(run);
        let max_batch = max_batch.max(1);
        let shards = (0..shards.max(1))
            .map(|_| {
                let (tx, mut rx) = mpsc::channel::<Queued<I, O>>(4096);
                let run = Arc::clone(&run);
                tokio::spawn(async move {
                    while let Some(first) = rx.recv().await {
                        let mut batch = vec![first];
                        while batch.len() < max_batch {
                            match rx.try_recv() {
                                Ok(queued) => batch.push(queued),
                                Err(_) => break,
                            }
                        }
                        let (items, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                        for (reply, output) in replies.into_iter().zip(run(items).await) {
                            let _ = reply.send(output);
                        }
                    }
                });
                tx
            })
            .collect();
        Self { shards }
    }

    /// Queue `item` in the shard of `key` and wait for its output.
    pub async fn submit(&self, key: &(impl Hash + ?Sized), item: I) -> Result<O, Stopped> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() % self.shards.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        shard.send((item, reply)).await.map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }
}
