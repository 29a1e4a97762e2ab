//! A private PostgreSQL cluster for the chaos suite, in a temporary directory on a free
//! port, so that restarting it disturbs no other test binary. Run as the `postgres` OS
//! user when the suite runs as root (PostgreSQL refuses to run as root).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tokio::process::Command;

pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

/// The newest installed server's programs (`/usr/lib/postgresql/<version>/bin`).
fn server_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server programs under /usr/lib/postgresql")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an installed PostgreSQL with pg_ctl").1
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

impl PrivatePostgres {
    /// initdb a fresh cluster and start it on a free loopback port.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("recarga-chaos-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        if running_as_root() {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir)).await;
        }
        let cluster = Self {
            dir,
            bin: server_bin(),
            port: crate::setup::free_port(),
        };
        run(cluster
            .program("initdb")
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(cluster.data()))
        .await;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            cluster.port,
            cluster.dir.display()
        );
        run(cluster.pg_ctl().args(["-o", &options, "start"])).await;
        cluster
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Where the suite keeps its logs (the gateways' too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stop the server as a crash would (no shutdown checkpoint) and start it again:
    /// every connection is cut, and what was committed must survive.
    pub async fn restart(&self) {
        run(self.pg_ctl().args(["-m", "immediate", "restart"])).await;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// pg_ctl on this cluster, waiting for each action to finish. The server's output
    /// goes to the log file: a server holding pg_ctl's own stdout would keep it open.
    fn pg_ctl(&self) -> Command {
        let mut command = self.program("pg_ctl");
        command
            .arg("-w")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("postgres.log"));
        command
    }

    fn program(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let stop = self.pg_ctl().as_std_mut().args(["-m", "immediate", "stop"]).output();
        // The logs (the server's and the gateways') stay for a failed run, or when asked.
        let keep = std::thread::panicking() || std::env::var_os("CHAOS_KEEP_LOGS").is_some();
        if keep {
            eprintln!("chaos logs kept in {}", self.dir.display());
        } else if stop.is_ok() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn run(command: &mut Command) {
    let out = command.output().await.expect("program runs");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
