//! A bare axum hello-world: the machine's HTTP ceiling for the benchmark suite
//! (`bench/run`). Same runtime and framework as the gateway, no database, no middleware.

use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "recarga-hello", about = "Bare axum hello-world (benchmark ceiling)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    listen: String,
}

async fn hello() -> Json<Value> {
    Json(json!({"success": true, "message": "hello, world"}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = Router::new().route("/", get(hello)).route("/health", get(hello));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    eprintln!("recarga-hello listening on {}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
