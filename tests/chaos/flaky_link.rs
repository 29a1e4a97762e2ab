//! A TCP link between the gateway and a simulator that drops connections: of every
//! `every` requests one is cut before it reaches the simulator, and one is forwarded and
//! its answer cut (the top-up happened; the gateway never hears of it).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Shared {
    every: AtomicU64,
    chunks: AtomicU64,
    cuts: AtomicU64,
}

#[derive(Clone)]
pub struct FlakyLink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What to do with a chunk the gateway sent.
enum Fate {
    Forward,
    CutBefore,
    CutAnswer,
}

impl FlakyLink {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("link binds");
        let link = Self {
            addr: listener.local_addr().unwrap(),
            shared: Arc::default(),
        };
        let shared = Arc::clone(&link.shared);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if let Ok(server) = TcpStream::connect(upstream).await {
                    tokio::spawn(forward(client, server, Arc::clone(&shared)));
                }
            }
        });
        link
    }

    /// Cut two in every `every` chunks the gateway sends (0: none).
    pub fn set_every(&self, every: u64) {
        self.shared.every.store(every, Ordering::SeqCst);
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Shared {
    fn fate(&self) -> Fate {
        let every = self.every.load(Ordering::SeqCst);
        if every < 2 {
            return Fate::Forward;
        }
        let fate = match self.chunks.fetch_add(1, Ordering::SeqCst) % every {
            0 => Fate::CutBefore,
            1 => Fate::CutAnswer,
            _ => return Fate::Forward,
        };
        self.cuts.fetch_add(1, Ordering::SeqCst);
        fate
    }
}

/// Returning from either direction drops both sockets: the connection is gone.
async fn forward(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let cut_answer = tokio::sync::Notify::new();
    let to_server = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            match shared.fate() {
                Fate::CutBefore => return Err(std::io::ErrorKind::ConnectionReset.into()),
                Fate::CutAnswer => cut_answer.notify_one(),
                Fate::Forward => {}
            }
            server_write.write_all(&buf[..n]).await?;
        }
    };
    let to_client = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cut = std::pin::pin!(cut_answer.notified());
        loop {
            let n = tokio::select! {
                n = server_read.read(&mut buf) => n?,
                () = &mut cut => {
                    // Let the simulator take the request, then lose its answer.
                    let _ = server_read.read(&mut buf).await;
                    return Err(std::io::ErrorKind::ConnectionReset.into());
                }
            };
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            client_write.write_all(&buf[..n]).await?;
        }
    };
    let _ = tokio::try_join!(to_server, to_client);
}
