//! The simulators' faults, changed every few hundred milliseconds while the load runs:
//! timeouts (answers held past the gateway's timeout), 5xx before and after processing,
//! garbled answers, slowness; resets come from the flaky links. Pending answers come from
//! the purchases' own numbers and amounts (see `load`). The same turns reach simulators
//! in this process and those of a `recarga sandbox` process (through its control API).

use crate::setup::HANG_MS;
use rand::Rng;
use recarga::sandbox::control::{FaultSpec, Tuning};
use recarga::sandbox::standalone::Sandbox;

/// The simulators the chaos tunes, by the name the control API knows them by.
pub const UPSTREAMS: [&str; 3] = ["latcom", "smartcall", "datamart"];

/// Where the faults go: simulators in this process, or a sandbox process's.
pub trait Tune {
    async fn tune(&self, upstream: &str, tuning: &Tuning);
}

impl Tune for Sandbox {
    async fn tune(&self, upstream: &str, tuning: &Tuning) {
        Sandbox::tune(self, upstream, tuning).expect("a fault the simulator has");
    }
}

/// One turn of the wheel, per simulator in [`UPSTREAMS`] order: a fault (none three
/// times in four) and a latency.
pub fn turn(rng: &mut impl Rng) -> [Tuning; 3] {
    let hang = FaultSpec::HangAfterProcessing { ms: HANG_MS };
    let latcom = match rng.gen_range(0..16) {
        0 => hang,
        1 => FaultSpec::ServerErrorAfterProcessing,
        2 => FaultSpec::ServerErrorBeforeProcessing,
        3 => FaultSpec::GarbledAfterProcessing,
        _ => FaultSpec::None,
    };
    let smartcall = match rng.gen_range(0..20) {
        0 => hang,
        1 => FaultSpec::ServerErrorAfterProcessing,
        2 => FaultSpec::ServerErrorBeforeProcessing,
        3 => FaultSpec::UnavailableBeforeProcessing,
        4 => FaultSpec::GarbledAfterProcessing,
        _ => FaultSpec::None,
    };
    let datamart = match rng.gen_range(0..12) {
        0 => hang,
        1 => FaultSpec::ServerErrorBeforeProcessing,
        2 => FaultSpec::GarbledAfterProcessing,
        _ => FaultSpec::None,
    };
    [latcom, smartcall, datamart].map(|fault| Tuning {
        fault: Some(fault),
        latency_ms: Some(rng.gen_range(0..300)),
        ..Tuning::default()
    })
}

/// Faults off, for the settling window.
pub fn calm() -> [Tuning; 3] {
    std::array::from_fn(|_| Tuning {
        fault: Some(FaultSpec::None),
        latency_ms: Some(0),
        ..Tuning::default()
    })
}

pub async fn apply(simulators: &impl Tune, tunings: &[Tuning; 3]) {
    for (upstream, tuning) in UPSTREAMS.iter().zip(tunings) {
        simulators.tune(upstream, tuning).await;
    }
}

/// Turn the wheel every 400 ms until `done`, then calm the simulators; how many turns.
pub async fn shuffle_until(simulators: &impl Tune, done: &std::sync::atomic::AtomicBool) -> u64 {
    let mut turns = 0u64;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let tunings = turn(&mut rand::thread_rng());
        apply(simulators, &tunings).await;
        turns += 1;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    apply(simulators, &calm()).await;
    turns
}
