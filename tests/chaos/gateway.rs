//! The real `recarga` binary as a process of its own, its output in a log file per run
//! (`<name>-<run>.log`): here `recarga serve`, SIGKILLed and started again on the same
//! port so that clients and DataMart's webhooks keep one address.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Gateway {
    process: Process,
    /// None while killed and not restarted.
    child: Option<Child>,
    pub runs: u32,
}

impl Gateway {
    /// Start the gateway with `env` on top of the suite's settings, named `name` in its logs.
    pub async fn start(name: impl Into<String>, port: u16, env: Vec<(String, String)>, logs: PathBuf) -> Self {
        let process = Process {
            name: name.into(),
            args: vec!["serve".into()],
            ready_path: "/health",
            port_variable: "RECARGA_LISTEN",
            port,
            env,
            logs,
        };
        let child = Some(process.spawn(1).await);
        Self {
            process,
            child,
            runs: 1,
        }
    }

    /// kill -9, then a fresh process on the same port.
    pub async fn kill_and_restart(&mut self) {
        self.kill().await;
        self.restart().await;
    }

    /// kill -9, and nothing else: the port is left dead until [`Self::restart`].
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL the gateway");
        }
    }

    pub async fn restart(&mut self) {
        self.runs += 1;
        self.child = Some(self.process.spawn(self.runs).await);
    }
}

/// How to start one of our processes, and how to know it is ready.
pub struct Process {
    pub name: String,
    pub args: Vec<String>,
    /// Answers 200 once the process serves.
    pub ready_path: &'static str,
    /// The variable its listen address is given in.
    pub port_variable: &'static str,
    pub port: u16,
    pub env: Vec<(String, String)>,
    pub logs: PathBuf,
}

impl Process {
    /// Start run number `run` and wait until it serves.
    pub async fn spawn(&self, run: u32) -> Child {
        let log_path = self.logs.join(format!("{}-{run}.log", self.name));
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_recarga"))
            .args(&self.args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(self.port_variable, format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("recarga binary starts");
        wait_ready(&format!("http://127.0.0.1:{}{}", self.port, self.ready_path), &log_path).await;
        child
    }
}

async fn wait_ready(url: &str, log: &Path) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not come up (see {})",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
