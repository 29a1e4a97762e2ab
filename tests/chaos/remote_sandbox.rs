//! A `recarga sandbox` process (the real binary), its simulators reached through its
//! control API: faults in, deliveries and enquiries out.

use crate::faults::Tune;
use crate::gateway::Process;
use recarga::sandbox::control::{Enquired, Tuning};
use recarga::sandbox::history::Seen;
use std::path::PathBuf;
use tokio::process::Child;

pub struct RemoteSandbox {
    _process: Child,
    pub base: String,
    client: reqwest::Client,
}

impl RemoteSandbox {
    /// `recarga sandbox` on `port`, until dropped; its log is `sandbox-1.log`.
    pub async fn start(port: u16, env: Vec<(String, String)>, logs: PathBuf) -> Self {
        let process = Process {
            name: "sandbox".into(),
            args: vec!["sandbox".into()],
            ready_path: "/_sandbox/latcom/seen",
            port_variable: "RECARGA_SANDBOX_LISTEN",
            port,
            env,
            logs,
        };
        Self {
            _process: process.spawn(1).await,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self
            .client
            .get(format!("{}/_sandbox/{path}", self.base))
            .send()
            .await
            .expect("sandbox answers");
        assert_eq!(response.status(), 200, "GET /_sandbox/{path}");
        response.json().await.expect("sandbox's JSON")
    }

    pub async fn seen(&self, upstream: &str) -> Vec<Seen> {
        self.get(&format!("{upstream}/seen")).await
    }

    pub async fn enquired(&self, upstream: &str) -> Vec<Enquired> {
        self.get(&format!("{upstream}/enquiries")).await
    }
}

impl Tune for RemoteSandbox {
    async fn tune(&self, upstream: &str, tuning: &Tuning) {
        let response = self
            .client
            .put(format!("{}/_sandbox/{upstream}", self.base))
            .json(tuning)
            .send()
            .await
            .expect("sandbox answers");
        assert_eq!(response.status(), 204, "tuning {upstream} with {tuning:?}");
    }
}
