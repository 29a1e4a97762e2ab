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
    /// Start `shards` workers, each handing up to `max_batch` items at a time to `batch`
    /// (with a copy of `context`, e.g. the pool), which answers one output per item, in
    /// order. If the batch fails, nothing of it was committed: `batch` gives the items
    /// back, and each is run alone by `single`, so that whatever failed cannot hold back
    /// the others. `what` names the batches in logs.
    pub fn start<C, B, BF, S, SF, E>(
        context: C,
        shards: usize,
        max_batch: usize,
        what: &'static str,
        batch: B,
        single: S,
    ) -> Self
    where
        C: Clone + Send + Sync + 'static,
        B: Fn(C, Vec<I>) -> BF + Send + Sync + 'static,
        BF: Future<Output = Result<Vec<O>, (Vec<I>, E)>> + Send,
        S: Fn(C, I) -> SF + Send + Sync + 'static,
        SF: Future<Output = O> + Send,
        E: std::fmt::Display + Send,
    {
        let run = Arc::new((context, batch, single));
        let max_batch = max_batch.max(1);
        let shards = (0..shards.max(1))
            .map(|_| {
                let (tx, mut rx) = mpsc::channel::<Queued<I, O>>(4096);
                let run = Arc::clone(&run);
                tokio::spawn(async move {
                    while let Some(first) = rx.recv().await {
                        let mut queued = vec![first];
                        while queued.len() < max_batch {
                            match rx.try_recv() {
                                Ok(more) => queued.push(more),
                                Err(_) => break,
                            }
                        }
                        let (items, replies): (Vec<_>, Vec<_>) = queued.into_iter().unzip();
                        let (context, batch, single) = &*run;
                        let outputs = match batch(context.clone(), items).await {
                            Ok(outputs) => outputs,
                            Err((items, e)) => {
                                tracing::warn!(error = %e, size = items.len(), "{what} batch failed; retrying one by one");
                                let mut outputs = Vec::with_capacity(items.len());
                                for item in items {
                                    outputs.push(single(context.clone(), item).await);
                                }
                                outputs
                            }
                        };
                        for (reply, output) in replies.into_iter().zip(outputs) {
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
