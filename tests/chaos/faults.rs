//! The simulators' faults, changed every few hundred milliseconds while the load runs:
//! timeouts (answers held past the gateway's timeout), 5xx before and after processing,
//! garbled answers, slowness; resets come from the flaky links. Pending answers come from
//! the purchases' own numbers and amounts (see `load`).

use rand::Rng;
use recarga::sandbox::{datamart, latcom, smartcall};
use std::time::Duration;

/// Held longer than the gateway's upstream timeout (see `chaos.rs`).
const HANG: Duration = Duration::from_secs(3);

pub struct Simulators {
    pub latcom: latcom::SimState,
    pub smartcall: smartcall::SimState,
    pub datamart: datamart::SimState,
}

impl Simulators {
    /// One turn of the wheel: each simulator gets a fault (none three times in four) and a latency.
    pub fn shuffle(&self, rng: &mut impl Rng) {
        let roll = rng.gen_range(0..16);
        self.latcom.set_fault(match roll {
            0 => latcom::Fault::HangAfterProcessing(HANG),
            1 => latcom::Fault::ServerErrorAfterProcessing,
            2 => latcom::Fault::ServerErrorBeforeProcessing,
            3 => latcom::Fault::GarbledAfterProcessing,
            _ => latcom::Fault::None,
        });
        let roll = rng.gen_range(0..20);
        self.smartcall.set_fault(match roll {
            0 => smartcall::Fault::HangAfterProcessing(HANG),
            1 => smartcall::Fault::ServerErrorAfterProcessing,
            2 => smartcall::Fault::ServerErrorBeforeProcessing,
            3 => smartcall::Fault::UnavailableBeforeProcessing,
            4 => smartcall::Fault::GarbledAfterProcessing,
            _ => smartcall::Fault::None,
        });
        let roll = rng.gen_range(0..12);
        self.datamart.set_fault(match roll {
            0 => datamart::Fault::HangAfterProcessing(HANG),
            1 => datamart::Fault::ServerErrorBeforeProcessing,
            2 => datamart::Fault::GarbledAfterProcessing,
            _ => datamart::Fault::None,
        });
        let slow = |rng: &mut dyn rand::RngCore| Duration::from_millis(rng.gen_range(0..300));
        self.latcom.set_latency(slow(rng));
        self.smartcall.set_latency(slow(rng));
        self.datamart.set_latency(slow(rng));
    }

    /// Faults off, for the settling window.
    pub fn calm(&self) {
        self.latcom.set_fault(latcom::Fault::None);
        self.smartcall.set_fault(smartcall::Fault::None);
        self.datamart.set_fault(datamart::Fault::None);
        self.latcom.set_latency(Duration::ZERO);
        self.smartcall.set_latency(Duration::ZERO);
        self.datamart.set_latency(Duration::ZERO);
    }
}
