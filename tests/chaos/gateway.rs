//! The real `recarga serve` binary, SIGKILLed and started again on the same port (so
//! clients and DataMart's webhooks keep one address), its output in a log file per run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Gateway {
    child: Child,
    port: u16,
    env: Vec<(String, String)>,
    logs: PathBuf,
    pub runs: u32,
}

impl Gateway {
    /// Start the gateway with `env` on top of the suite's settings; its logs go to
    /// `logs/gateway-<run>.log`.
    pub async fn start(port: u16, env: Vec<(String, String)>, logs: PathBuf) -> Self {
        let child = spawn(port, &env, &logs, 1).await;
        Self {
            child,
            port,
            env,
            logs,
            runs: 1,
        }
    }

    /// kill -9, then a fresh process on the same port.
    pub async fn kill_and_restart(&mut self) {
        self.child.kill().await.expect("SIGKILL the gateway");
        self.runs += 1;
        self.child = spawn(self.port, &self.env, &self.logs, self.runs).await;
    }
}

async fn spawn(port: u16, env: &[(String, String)], logs: &std::path::Path, run: u32) -> Child {
    let log = std::fs::File::create(logs.join(format!("gateway-{run}.log"))).expect("gateway log file");
    let child = Command::new(env!("CARGO_BIN_EXE_recarga"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RECARGA_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("recarga binary starts");
    let health = format!("http://127.0.0.1:{port}/health");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(&health).send().await {
            if r.status() == 200 {
                return child;
            }
        }
        assert!(
            Instant::now() < deadline,
            "gateway run {run} did not come up (see {})",
            logs.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
