//! An injected clock: lockouts, sessions, TOTP and due dates read time through this, so
//! tests move time forward instead of sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. For tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        if let Ok(mut now) = self.now.lock() {
            *now = to;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        match self.now.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// A time as the school reads it: East Africa Time (UTC+3, no daylight saving), which every
/// school Kilele serves keeps. Stored times stay UTC; this is for people.
pub fn school_time(at: DateTime<Utc>) -> String {
    let eat = chrono::FixedOffset::east_opt(3 * 3600).map(|tz| at.with_timezone(&tz));
    match eat {
        Some(local) => local.format("%Y-%m-%d %H:%M EAT").to_string(),
        None => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The school's calendar date at `at` (East Africa Time): what "today" means for due dates,
/// fines and the day's collections.
pub fn school_date(at: DateTime<Utc>) -> chrono::NaiveDate {
    (at + chrono::Duration::hours(3)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_time_is_east_africa_time() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T22:01:30Z").unwrap().with_timezone(&Utc);
        assert_eq!(school_time(at), "2026-03-03 01:01 EAT");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(31));
        assert_eq!(clock.now(), start + Duration::minutes(31));
    }
}
