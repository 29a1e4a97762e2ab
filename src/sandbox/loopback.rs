//! Serving a simulator: on an ephemeral loopback port, in the background.

use std::net::SocketAddr;

/// Serve `app` on 127.0.0.1 at a free port until the runtime stops; its address.
pub async fn serve(app: axum::Router, name: &'static str) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "{name} simulator stopped");
        }
    });
    Ok(addr)
}
