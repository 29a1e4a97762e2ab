//! A TCP proxy between the gateway and PostgreSQL, for faults at the database: `cut`
//! drops every open connection and refuses new ones until `restore`; `set_delay`
//! holds each chunk the gateway sends, so that a statement (a debit's commit, say)
//! takes long enough for a client to hang up in the middle of it; `lose_answers_after`
//! lets a statement reach the server but drops every answer on its connection, so a
//! debit can commit while the gateway never hears so.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    lose_answers_after: Mutex<Option<Vec<u8>>>,
    delay_ms: AtomicU64,
    links: Mutex<Vec<AbortHandle>>,
}

#[derive(Clone)]
pub struct DbProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl DbProxy {
    /// Listen on a loopback port, forwarding to the server of `database_url`.
    pub async fn start(database_url: &str) -> Self {
        let url = url::Url::parse(database_url).expect("database URL");
        let upstream = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            shared: Arc::default(),
        };
        let shared = Arc::clone(&proxy.shared);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if shared.cut.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let link = tokio::spawn(forward(client, server, Arc::clone(&shared)));
                shared.links.lock().unwrap().push(link.abort_handle());
            }
        });
        proxy
    }

    /// `database_url` with its host and port pointed at this proxy.
    pub fn url(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("database URL");
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for link in self.shared.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// From the next message the gateway sends that contains `marker` (a bound value,
    /// say; a message is read whole, as Postgres messages this small are), that one
    /// connection's answers are dropped: the statement runs, its answer never arrives.
    pub fn lose_answers_after(&self, marker: &str) {
        *self.shared.lose_answers_after.lock().unwrap() = Some(marker.as_bytes().to_vec());
    }

    pub fn set_delay(&self, delay: Duration) {
        self.shared.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

async fn forward(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let losing = AtomicBool::new(false);
    let to_server = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            let delay = shared.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            {
                let mut marker = shared.lose_answers_after.lock().unwrap();
                if marker
                    .as_deref()
                    .is_some_and(|m| buf[..n].windows(m.len()).any(|w| w == m))
                {
                    *marker = None; // one message's connection only
                    losing.store(true, Ordering::SeqCst);
                }
            }
            server_write.write_all(&buf[..n]).await?;
        }
    };
    let to_client = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            if !losing.load(Ordering::SeqCst) {
                client_write.write_all(&buf[..n]).await?;
            }
        }
    };
    let _ = tokio::try_join!(to_server, to_client);
}
