//! A small closed-loop load generator for the benchmark suite (`bench/run`).
//!
//! N clients, each a loop of sequential requests on its own keep-alive connection
//! (hyper's HTTP/1 client, reconnecting after an error), run one scenario against a base
//! URL. The client is lean on purpose: it shares the machine with what it measures. Requests that complete inside the measurement window
//! (after `--warmup`, for `--duration` seconds) are counted; at the end of the window any
//! request still in flight is abandoned. Prints one JSON line:
//! `{scenario, requests, ok, errors, throughput_rps, p50_ms, p90_ms, p99_ms, max_ms, status_counts, …}`.
//!
//! `ok` is HTTP 200 only; every other status (a 202 from a synchronous top-up included)
//! and every transport error is an error, broken down in `status_counts`. Latency
//! percentiles are exact (all samples are kept and sorted) and cover every counted
//! response, errors included. `throughput_rps` is ok responses per second.

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::time::Instant as TokioInstant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// POST /api/enviadespensa/topup (synchronous purchase).
    Topup,
    /// POST /api/enviadespensa/topup-async (queued purchase).
    TopupAsync,
    /// GET /api/balance.
    Balance,
    /// Plain GET of --url (the hello-world ceiling).
    Get,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Topup => "topup",
            Scenario::TopupAsync => "topup-async",
            Scenario::Balance => "balance",
            Scenario::Get => "get",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "recarga-loadgen",
    about = "Closed-loop HTTP load generator for recarga benchmarks"
)]
struct Args {
    /// What to send.
    #[arg(value_enum)]
    scenario: Scenario,
    /// Base URL of the gateway (for `get`, the full URL to fetch).
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measurement window, seconds.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Seconds of load before the window opens (not counted).
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Stop after this many counted requests (0: no limit).
    #[arg(long, default_value_t = 0)]
    max_requests: u64,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// JSON array of {"customer_id", "api_key"}; client i uses entry i % len.
    /// Required for every scenario but `get`.
    #[arg(long)]
    customers: Option<PathBuf>,
    /// Top-up amount (MXN).
    #[arg(long, default_value_t = 10)]
    amount: u32,
    /// Prefix of the unique references (default: a per-run value from the clock).
    #[arg(long)]
    run_id: Option<String>,
    /// Phones are 5510000000 + (offset + request number) mod 90,000,000: one per request.
    #[arg(long, default_value_t = 0)]
    phone_offset: u64,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Deserialize, Clone)]
struct Customer {
    customer_id: String,
    api_key: String,
}

/// What one client saw inside the window.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<String, u64>,
    ok: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().context("starting the tokio runtime")?;
    let line = rt.block_on(run(args))?;
    println!("{line}");
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    if args.duration <= 0.0 || args.warmup < 0.0 || args.timeout <= 0.0 {
        bail!("--duration and --timeout must be positive and --warmup not negative");
    }
    let customers: Vec<Customer> = match &args.customers {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => Vec::new(),
    };
    if args.scenario != Scenario::Get && customers.is_empty() {
        bail!(
            "--customers FILE (a non-empty JSON array) is required for {}",
            args.scenario.name()
        );
    }
    let url = match args.scenario {
        Scenario::Get => args.url.clone(),
        Scenario::Topup => format!("{}/api/enviadespensa/topup", args.url.trim_end_matches('/')),
        Scenario::TopupAsync => format!("{}/api/enviadespensa/topup-async", args.url.trim_end_matches('/')),
        Scenario::Balance => format!("{}/api/balance", args.url.trim_end_matches('/')),
    };
    let run_id = args.run_id.clone().unwrap_or_else(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("B{nanos:x}")
    });

    let uri: Uri = url.parse().with_context(|| format!("parsing the URL {url}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("only plain http:// URLs on loopback are supported: {url}");
    }
    let target = Target {
        authority: uri.authority().context("the URL has no host")?.to_string(),
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
    };
    let timeout = Duration::from_secs_f64(args.timeout);

    let start = TokioInstant::now();
    let window_start = start + Duration::from_secs_f64(args.warmup);
    let window_end = window_start + Duration::from_secs_f64(args.duration);
    let counter = Arc::new(AtomicU64::new(0));
    let counted = Arc::new(AtomicU64::new(0));
    let customers = Arc::new(customers);
    let target = Arc::new(target);
    let run_id = Arc::new(run_id);

    let mut handles = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let (customers, target, run_id) = (customers.clone(), target.clone(), run_id.clone());
        let (counter, counted) = (counter.clone(), counted.clone());
        let (scenario, amount, phone_offset, max_requests) =
            (args.scenario, args.amount, args.phone_offset, args.max_requests);
        handles.push(tokio::spawn(async move {
            let customer = customers.get(i % customers.len().max(1)).cloned();
            let mut tally = Tally::default();
            let mut connection: Option<SendRequest<Full<Bytes>>> = None;
            // Two timers per client, reset rather than made anew for every request.
            let window_closed = tokio::time::sleep_until(window_end);
            let timed_out = tokio::time::sleep(timeout);
            tokio::pin!(window_closed, timed_out);
            loop {
                if TokioInstant::now() >= window_end
                    || (max_requests > 0 && counted.load(Ordering::Relaxed) >= max_requests)
                {
                    break;
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let request = build(scenario, &target, customer.as_ref(), &run_id, n, amount, phone_offset);
                let sent = Instant::now();
                timed_out.as_mut().reset(TokioInstant::now() + timeout);
                let outcome = tokio::select! {
                    r = send(&mut connection, &target.authority, request) => r,
                    _ = timed_out.as_mut() => Err("timeout"),
                    _ = window_closed.as_mut() => break,
                };
                if outcome.is_err() {
                    connection = None; // whatever state it was left in, start afresh
                }
                let done = TokioInstant::now();
                if done < window_start {
                    continue;
                }
                if max_requests > 0 && counted.fetch_add(1, Ordering::Relaxed) >= max_requests {
                    break;
                }
                tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                let key = match outcome {
                    Ok(200) => {
                        tally.ok += 1;
                        "200".to_string()
                    }
                    Ok(status) => status.to_string(),
                    Err(kind) => format!("error:{kind}"),
                };
                *tally.statuses.entry(key).or_default() += 1;
            }
            tally
        }));
    }

    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut ok = 0;
    for h in handles {
        let t = h.await.context("a client task panicked")?;
        latencies.extend(t.latencies_us);
        ok += t.ok;
        for (k, v) in t.statuses {
            *statuses.entry(k).or_default() += v;
        }
    }
    // The window, or less if --max-requests ended the run early.
    let elapsed = (TokioInstant::now().min(window_end) - window_start)
        .as_secs_f64()
        .max(1e-9);
    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    let ms = |us: u64| (us as f64 / 10.0).round() / 100.0;
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        // Nearest-rank percentile.
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        ms(latencies[rank.clamp(1, latencies.len()) - 1])
    };
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    Ok(json!({
        "scenario": args.scenario.name(),
        "requests": requests,
        "ok": ok,
        "errors": requests - ok,
        "throughput_rps": round2(ok as f64 / elapsed),
        "requests_rps": round2(requests as f64 / elapsed),
        "p50_ms": pct(50.0),
        "p90_ms": pct(90.0),
        "p99_ms": pct(99.0),
        "max_ms": latencies.last().map(|&us| ms(us)).unwrap_or(0.0),
        "status_counts": statuses,
        "clients": args.clients,
        "customers": customers.len(),
        "duration_s": round2(elapsed),
        "warmup_s": args.warmup,
        "sent": counter.load(Ordering::Relaxed),
    }))
}

/// Where requests go: `host:port`, and the scenario's path.
struct Target {
    authority: String,
    path: String,
}

#[allow(clippy::too_many_arguments)]
fn build(
    scenario: Scenario,
    target: &Target,
    customer: Option<&Customer>,
    run_id: &str,
    n: u64,
    amount: u32,
    phone_offset: u64,
) -> Request<Full<Bytes>> {
    let (method, body) = match scenario {
        Scenario::Get | Scenario::Balance => ("GET", Bytes::new()),
        Scenario::Topup | Scenario::TopupAsync => {
            // 55 + 8 digits, never the simulator's special numbers 5500000000..03, nor a
            // sandbox scenario number (last four digits 77OD: failures, timeouts, …).
            let mut suffix = 10_000_000 + (phone_offset + n) % 90_000_000;
            if (suffix / 100) % 100 == 77 {
                suffix += 100;
            }
            let body = json!({
                "phone": format!("55{suffix:08}"),
                "amount": amount,
                "reference": format!("{run_id}-{n}"),
            });
            ("POST", Bytes::from(body.to_string()))
        }
    };
    let mut request = Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header("host", &target.authority);
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    if let (false, Some(c)) = (scenario == Scenario::Get, customer) {
        request = request
            .header("x-api-key", &c.api_key)
            .header("x-customer-id", &c.customer_id);
    }
    request.body(Full::new(body)).expect("a well-formed request")
}

/// Send on the client's connection (opened first if there is none) and read the body to
/// the end, so the connection can carry the next request. The status code, or a short
/// name for the transport error.
async fn send(
    connection: &mut Option<SendRequest<Full<Bytes>>>,
    authority: &str,
    request: Request<Full<Bytes>>,
) -> Result<u16, &'static str> {
    if connection.as_ref().is_none_or(|c| c.is_closed()) {
        let stream = tokio::net::TcpStream::connect(authority).await.map_err(|_| "connect")?;
        stream.set_nodelay(true).map_err(|_| "connect")?;
        let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| "connect")?;
        tokio::spawn(driver);
        *connection = Some(sender);
    }
    let sender = connection.as_mut().ok_or("connect")?;
    sender.ready().await.map_err(|_| "request")?;
    let response = sender.send_request(request).await.map_err(|_| "request")?;
    let status = response.status().as_u16();
    response.into_body().collect().await.map_err(|_| "body")?;
    Ok(status)
}
