//! A round-robin TCP proxy in front of several gateway instances, as a load balancer
//! would be: each new connection goes to the next instance; one that refuses the
//! connection (killed, not restarted yet) is passed over for the next.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

pub struct Proxy {
    pub addr: SocketAddr,
    /// Connections handed to each backend, in `backends` order.
    pub handed: Arc<Vec<AtomicU64>>,
}

impl Proxy {
    pub async fn start(backends: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().unwrap();
        let handed: Arc<Vec<AtomicU64>> = Arc::new(backends.iter().map(|_| AtomicU64::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let counts = Arc::clone(&handed);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (backends, next, counts) = (backends.clone(), Arc::clone(&next), Arc::clone(&counts));
                tokio::spawn(async move {
                    for _ in 0..backends.len() {
                        let i = next.fetch_add(1, Ordering::SeqCst) % backends.len();
                        if let Ok(mut server) = TcpStream::connect(backends[i]).await {
                            counts[i].fetch_add(1, Ordering::SeqCst);
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            return;
                        }
                    }
                    // Every instance down: the client sees its connection closed.
                });
            }
        });
        Self { addr, handed }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn handed(&self) -> Vec<u64> {
        self.handed.iter().map(|n| n.load(Ordering::SeqCst)).collect()
    }
}
