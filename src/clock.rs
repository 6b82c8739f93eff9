//! Time, injectable so that tests move through expiry without sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

pub trait Clock: Send + Sync + 'static {
    /// The wall clock: what STS expirations are compared with.
    fn now(&self) -> SystemTime;
    /// The monotonic clock: what waits and backoffs are measured on (a wall-clock step neither
    /// stretches nor skips them).
    fn instant(&self) -> Instant;
}

/// Wall-clock time; STS expirations are wall-clock instants.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to; `advance` moves both clocks, `step_wall` the wall clock
/// alone (a clock step, or a host suspend seen from a clock that stood still).
#[derive(Debug)]
pub struct ManualClock(Mutex<(SystemTime, Instant)>);

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        ManualClock(Mutex::new((start, Instant::now())))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        t.0 += by;
        t.1 += by;
    }

    pub fn step_wall(&self, by: Duration) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).0 += by;
    }

    pub fn step_wall_back(&self, by: Duration) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).0 -= by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    fn instant(&self) -> Instant {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}
