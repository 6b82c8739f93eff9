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

/// A wall-clock time as UTC, ISO 8601 to the second (`2026-12-05T13:40:02Z`), for messages and
/// the audit line.
pub fn utc_text(t: SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_is_iso_8601() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_796_478_002);
        assert_eq!(utc_text(t), "2026-12-05T13:40:02Z");
        assert_eq!(utc_text(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = std::time::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_text(leap), "2000-02-29T00:00:00Z");
        // the audit line's expiration (metrics.rs) is this text too
        let t = |s| std::time::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(utc_text(t(1_796_483_199)), "2026-12-05T15:06:39Z");
        assert_eq!(utc_text(t(4_107_542_399)), "2100-02-28T23:59:59Z");
    }
}
